/** A table as the stand-in's OpenMetadata holds it (the fields the catalog-enrich job reads). */
export interface StandInTable {
  description?: string;
  tags?: string[];
  columns?: Array<{ name: string; dataType?: string; description?: string }>;
}

export interface OpenMetadataStandIn {
  url: string;
  /** The bot token the stand-in accepts (`Authorization: Bearer <token>`). */
  token: string;
  /** Tables by fully qualified name (`service.database.schema.table`); tests change them freely. */
  tables: Map<string, StandInTable>;
  /**
   * How the next requests fail, one status per request (e.g. [503, 429]); `down` answers
   * every request with 503 until set back to false.
   */
  failures: number[];
  down: boolean;
  /** Every request: path with query, whether the token matched, and the status answered. */
  requests: Array<{ path: string; authorized: boolean; status: number }>;
  stop(): void;
}

/**
 * A local stand-in for OpenMetadata's REST API over real HTTP, answering as OpenMetadata
 * 1.x does:
 * - GET /api/v1/tables/name/{fqn}?fields=columns,tags: the Table entity (id, name,
 *   fullyQualifiedName, description, columns[] with their descriptions, tags[] as
 *   TagLabels with tagFQN) for a known FQN; 404 `{code, message}` for an unknown one;
 * - 401 `{code, message}` without the bot's bearer token;
 * - 503 while `down`, and the statuses queued in `failures` (429 with Retry-After: 0).
 */
export function startOpenMetadataStandIn({ token = 'om-bot-token' }: { token?: string } = {}): OpenMetadataStandIn {
  const standIn: OpenMetadataStandIn = {
    url: '',
    token,
    tables: new Map(),
    failures: [],
    down: false,
    requests: [],
    stop: () => server.stop(true),
  };
  const tagLabel = (tagFQN: string) => ({ tagFQN, labelType: 'Manual', state: 'Confirmed', source: tagFQN.includes('.') ? 'Classification' : 'Glossary' });

  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      const authorized = req.headers.get('authorization') === `Bearer ${token}`;
      const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        standIn.requests.push({ path: url.pathname + url.search, authorized, status });
        return Response.json(body, { status, headers });
      };
      if (standIn.down) return answer(503, { code: 503, message: 'Service Unavailable' });
      const failure = standIn.failures.shift();
      if (failure !== undefined) return answer(failure, { code: failure, message: 'injected failure' }, failure === 429 ? { 'retry-after': '0' } : {});
      if (!authorized) return answer(401, { code: 401, message: 'Not Authorized! Token not present' });
      const match = /^\/api\/v1\/tables\/name\/([^/]+)$/.exec(url.pathname);
      if (req.method !== 'GET' || !match) return answer(404, { code: 404, message: `no route ${url.pathname}` });
      const fqn = decodeURIComponent(match[1]!);
      const table = standIn.tables.get(fqn);
      if (!table) return answer(404, { code: 404, message: `table instance for ${fqn} not found` });
      const fields = new Set((url.searchParams.get('fields') ?? '').split(',').filter(Boolean));
      const name = fqn.split('.').pop()!;
      const entity: Record<string, unknown> = {
        id: crypto.randomUUID(),
        name,
        fullyQualifiedName: fqn,
        tableType: 'Regular',
        version: 0.1,
        deleted: false,
        ...(table.description !== undefined ? { description: table.description } : {}),
      };
      if (fields.has('columns')) {
        entity.columns = (table.columns ?? []).map((c) => ({
          name: c.name, dataType: c.dataType ?? 'VARCHAR', fullyQualifiedName: `${fqn}.${c.name}`,
          ...(c.description !== undefined ? { description: c.description } : {}), tags: [],
        }));
      }
      if (fields.has('tags')) entity.tags = (table.tags ?? []).map(tagLabel);
      return answer(200, entity);
    },
  });
  standIn.url = `http://127.0.0.1:${server.port}`;
  return standIn;
}
