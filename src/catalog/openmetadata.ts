import type { Config } from '../config.ts';

export type OpenMetadataConfig = NonNullable<Config['catalog']['openmetadata']>;

/** What OpenMetadata says about one table, as the catalog keeps it. */
export interface OpenMetadataTable {
  fqn: string;
  description: string | null;
  tags: string[];
  /** Column name → description (described top-level columns only). */
  columns: Record<string, string>;
}

/** OpenMetadata did not answer usefully (unreachable, refused the token, 5xx after retries). */
export class OpenMetadataError extends Error {
  override name = 'OpenMetadataError';
  constructor(
    message: string,
    /** True when the server as a whole failed (unreachable, 5xx, 401): asking on for other tables is pointless. */
    readonly serverDown: boolean,
  ) {
    super(message);
  }
}

/**
 * The fully qualified name OpenMetadata gives our `dataset.table`: the dataset's mapping
 * (`service.database.schema`, or `database.schema` under the configured `service`) and the
 * table's name. Undefined when the dataset is not mapped.
 */
export function fqnFor(cfg: OpenMetadataConfig, dataset: string, table: string): string | undefined {
  const mapped = cfg.datasets[dataset];
  if (!mapped) return undefined;
  const prefix = mapped.split('.').length === 2 ? (cfg.service ? `${cfg.service}.${mapped}` : undefined) : mapped;
  return prefix ? `${prefix}.${table}` : undefined;
}

interface TagLabel {
  tagFQN?: string;
}
interface TableEntity {
  fullyQualifiedName?: string;
  description?: string | null;
  tags?: TagLabel[];
  columns?: Array<{ name?: string; description?: string | null }>;
}

const RETRIED = (status: number) => status === 429 || (status >= 500 && status !== 501);

/** Waits `ms` (between retries). */
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A client of OpenMetadata's REST API (`GET /api/v1/tables/name/{fqn}?fields=columns,tags`,
 * bearer token). Retries 5xx (not 501), 429 and unreachable with exponential backoff, or
 * the answer's Retry-After.
 */
export function createOpenMetadataClient(cfg: OpenMetadataConfig, { sleep = wait }: { sleep?: (ms: number) => Promise<unknown> } = {}) {
  const base = cfg.url.replace(/\/+$/, '');

  async function request(path: string): Promise<Response> {
    let last = '';
    for (let attempt = 0; ; attempt++) {
      let res: Response | undefined;
      try {
        res = await fetch(`${base}${path}`, {
          headers: { authorization: `Bearer ${cfg.token}`, accept: 'application/json' },
          signal: AbortSignal.timeout(cfg.request_timeout_ms),
        });
      } catch (err) {
        last = `OpenMetadata at ${base} is unreachable: ${err instanceof Error ? err.message : String(err)}`;
      }
      if (res && !RETRIED(res.status)) return res;
      if (res) {
        last = `OpenMetadata answered ${res.status} ${res.statusText}`.trim();
        await res.body?.cancel();
      }
      if (attempt >= cfg.max_retries) throw new OpenMetadataError(`${last} (after ${attempt + 1} attempts)`, true);
      const retryAfter = Number(res?.headers.get('retry-after'));
      await sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, 60) * 1000 : cfg.retry_backoff_ms * 2 ** attempt);
    }
  }

  return {
    /** The table of that FQN, or undefined when OpenMetadata has none. */
    async getTable(fqn: string): Promise<OpenMetadataTable | undefined> {
      const res = await request(`/api/v1/tables/name/${encodeURIComponent(fqn)}?fields=columns,tags`);
      if (res.status === 404) {
        await res.body?.cancel();
        return undefined;
      }
      if (res.status === 401 || res.status === 403) {
        await res.body?.cancel();
        throw new OpenMetadataError(`OpenMetadata refused the token (${res.status}); check catalog.openmetadata.token`, true);
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new OpenMetadataError(`OpenMetadata answered ${res.status} for ${fqn}`, false);
      }
      let body: TableEntity;
      try {
        body = (await res.json()) as TableEntity;
      } catch {
        throw new OpenMetadataError(`OpenMetadata answered ${fqn} with something that is not JSON`, false);
      }
      const columns: Record<string, string> = {};
      for (const c of body.columns ?? []) if (c.name && c.description?.trim()) columns[c.name] = c.description.trim();
      return {
        fqn: body.fullyQualifiedName ?? fqn,
        description: body.description?.trim() || null,
        tags: [...new Set((body.tags ?? []).map((t) => t.tagFQN).filter((t): t is string => Boolean(t)))],
        columns,
      };
    },
  };
}
