import type { Config } from '../../config.ts';
import type { AuthUser } from '../../context.ts';
import { BadRequestError, NotFoundError, TimeoutError } from '../../errors.ts';
import type { RegisteredTable } from '../../repositories/table-registry.ts';
import { readableTable, type AccessCache, type TableCatalog } from '../../sync/catalog.ts';
import { createBigQueryClient, describeError, type BigQuerySource } from './client.ts';
import { CostGuardError, guardCost } from './index.ts';
import { duckTypeOf, tablePath, type BqField } from './types.ts';

const TIB = 2 ** 40;

/** True when the dataset's tables stay in BigQuery (a `bigquery` source with `mode: remote`). */
export function isRemoteDataset(config: Pick<Config, 'sources'>, dataset: string): boolean {
  const source = config.sources[dataset];
  return source?.type === 'bigquery' && source.mode === 'remote';
}

/** What a remote query needs beyond the query settings: who may read what, and each table's BigQuery name. */
export interface RemoteQueryInputs {
  config: Pick<Config, 'query' | 'sources'>;
  access: AccessCache;
  catalog: TableCatalog;
  registry: { get(id: string): Promise<RegisteredTable | undefined> };
}

/** The same shape as a local query's result, plus what BigQuery scanned. */
export interface RemoteQueryResult {
  columns: Array<{ name: string; type: string }>;
  rowsJson: string;
  row_count: number;
  truncated: boolean;
  elapsed_ms: number;
  bytes_scanned: number;
  estimated_cost_usd: number;
}

/** `sql` with string literals and comments blanked out (same length), so names are found only in code. */
function codeOnly(sql: string): string {
  return sql.replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|--[^\n]*|#[^\n]*|\/\*[\s\S]*?\*\//g, (m) => ' '.repeat(m.length));
}

/** `dataset.table` references to the given datasets, with their positions in the SQL. */
export function findRemoteReferences(sql: string, datasets: Set<string>): Array<{ id: string; start: number; end: number }> {
  const code = codeOnly(sql);
  const out: Array<{ id: string; start: number; end: number }> = [];
  for (const m of code.matchAll(/(?<![\w.`])([A-Za-z_][A-Za-z0-9_]*)\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)(?![\w.`])/g)) {
    const dataset = m[1]!.toLowerCase();
    if (datasets.has(dataset)) out.push({ id: `${dataset}.${m[2]!.toLowerCase()}`, start: m.index!, end: m.index! + m[0].length });
  }
  return out;
}

/** True when the SQL names a table of a remote source, so it is to run in BigQuery. */
export function mentionsRemoteTables(config: Pick<Config, 'sources'>, sql: string): boolean {
  const remote = new Set(Object.keys(config.sources).filter((d) => isRemoteDataset(config, d)));
  return remote.size > 0 && findRemoteReferences(sql, remote).length > 0;
}

/** Microseconds since the epoch (or float seconds) → `2025-01-02 03:04:05.123456`. */
function timestampText(v: string): string {
  const micros = /^-?\d+$/.test(v) ? BigInt(v) : BigInt(Math.round(Number(v) * 1e6));
  const ms = Number(micros / 1000n);
  const frac = String(((micros % 1_000_000n) + 1_000_000n) % 1_000_000n).padStart(6, '0');
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ') + (frac === '000000' ? '' : `.${frac.replace(/0+$/, '')}`);
}

/** A REST cell as a JSON-safe value, as local queries give it (64-bit integers and decimals as strings). */
function jsonValue(v: unknown, field: BqField): unknown {
  if (v === null || v === undefined) return null;
  if (field.mode === 'REPEATED') return (v as Array<{ v: unknown }>).map((item) => jsonValue(item.v, { ...field, mode: 'NULLABLE' }));
  switch (field.type.toUpperCase()) {
    case 'FLOAT':
    case 'FLOAT64': {
      const n = Number(v);
      return Number.isFinite(n) ? n : String(v);
    }
    case 'BOOL':
    case 'BOOLEAN':
      return v === 'true';
    case 'TIMESTAMP':
      return timestampText(String(v));
    case 'DATETIME':
      return String(v).replace('T', ' ');
    case 'RECORD':
    case 'STRUCT': {
      const cells = (v as { f: Array<{ v: unknown }> }).f;
      return Object.fromEntries((field.fields ?? []).map((sub, i) => [sub.name, jsonValue(cells[i]?.v, sub)]));
    }
    default:
      return v;
  }
}

/**
 * Runs a query that names remote tables in BigQuery, for a user: every `dataset.table` it
 * names must be a remote table the user may read (else 404, as for any table they may not
 * see), all of one source; the names become the tables' BigQuery paths. The dry run (the
 * cost guard) must show a single SELECT reading only those tables; then the query runs
 * with `maximumBytesBilled`, `jobTimeoutMs` and the server's row, byte and time limits.
 */
export async function runRemoteQuery(
  inputs: RemoteQueryInputs, user: AuthUser, { sql, limit }: { sql: string; limit: number },
): Promise<RemoteQueryResult> {
  const started = performance.now();
  const { config } = inputs;
  const remote = new Set(Object.keys(config.sources).filter((d) => isRemoteDataset(config, d)));
  const refs = findRemoteReferences(sql, remote);
  const code = codeOnly(sql);
  if (/`/.test(code)) throw new BadRequestError('remote queries name tables as dataset.table, without backticks');
  if (/\b(INFORMATION_SCHEMA|EXTERNAL_QUERY|EXTERNAL_OBJECT_TRANSFORM|VECTOR_SEARCH|ML\s*\.)/i.test(code)) {
    throw new BadRequestError('remote queries may read only remote tables (no INFORMATION_SCHEMA, EXTERNAL_QUERY or ML functions)');
  }
  const datasets = new Set(refs.map((r) => r.id.split('.')[0]!));
  if (datasets.size !== 1) throw new BadRequestError('a remote query may read the remote tables of one BigQuery source only');
  const dataset = [...datasets][0]!;
  const source = config.sources[dataset] as BigQuerySource;
  const paths = new Map<string, string>();
  for (const ref of refs) {
    if (paths.has(ref.id)) continue;
    await readableTable(inputs.access, inputs.catalog, user, ref.id);
    const registered = await inputs.registry.get(ref.id);
    if (!registered) throw new NotFoundError(`table ${ref.id} not found`);
    paths.set(ref.id, tablePath(source.project, source.dataset, registered.source_table));
  }
  let pushed = '';
  let at = 0;
  for (const ref of refs) {
    pushed += sql.slice(at, ref.start) + paths.get(ref.id)!;
    at = ref.end;
  }
  pushed += sql.slice(at);

  const client = createBigQueryClient(source);
  const allowed = new Set([...paths.values()].map((p) => p.slice(1, -1)));
  let dry;
  try {
    dry = await guardCost(client, source, pushed);
  } catch (err) {
    if (err instanceof CostGuardError) throw new BadRequestError(err.message);
    throw new BadRequestError(`BigQuery refused the query: ${describeError(err)}`);
  }
  if (dry.statement_type && dry.statement_type !== 'SELECT') throw new BadRequestError('a remote query must be one SELECT statement');
  const stray = dry.referenced_tables.filter((t) => !allowed.has(t));
  if (stray.length) throw new NotFoundError(`a remote query may read only the remote tables it names as dataset.table`);

  const { timeout_ms, max_result_bytes } = config.query;
  let cancel: (() => Promise<unknown>) | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(async () => {
      // Stop the job in BigQuery too (it would go on scanning), waiting a little for the answer.
      if (cancel) await Promise.race([cancel().catch(() => {}), Bun.sleep(2000)]);
      reject(new TimeoutError(`the query ran longer than ${timeout_ms} ms and was stopped`));
    }, timeout_ms);
  });
  const collect = async () => {
    let fields: BqField[] = dry.fields ?? [];
    const rows: unknown[][] = [];
    let more = false;
    let bytes = 2;
    let jobId: string | null = null;
    for await (const page of client.query(pushed, {
      maxBytes: source.max_bytes_scanned, pageSize: Math.min(limit + 1, source.page_size), jobTimeoutMs: timeout_ms,
      onJob: (c) => (cancel = c),
    })) {
      fields = page.fields.length ? page.fields : fields;
      jobId = page.jobId;
      for (const row of page.rows as Array<{ f: Array<{ v: unknown }> }>) {
        if (rows.length === limit) {
          more = true;
          break;
        }
        const values = fields.map((f, i) => jsonValue(row.f[i]?.v, f));
        // The same byte cap as local results: the rows so far, marked truncated.
        bytes += JSON.stringify(values).length + 1;
        if (bytes > max_result_bytes) {
          more = true;
          break;
        }
        rows.push(values);
      }
      if (more) break;
      if (more || rows.length === limit) {
        more ||= page.totalRows > limit;
        break;
      }
    }
    const stats = jobId ? await client.jobStatistics(jobId).catch(() => null) : null;
    return { fields, rows, more, scanned: stats?.processed || dry.bytes, billed: stats?.billed ?? null };
  };
  let out;
  try {
    out = await Promise.race([collect(), deadline]);
  } catch (err) {
    if (err instanceof TimeoutError) throw err;
    throw new BadRequestError(`BigQuery: ${describeError(err)}`);
  } finally {
    clearTimeout(timer);
  }
  return {
    columns: out.fields.map((f) => ({ name: f.name, type: duckTypeOf(f) })),
    rowsJson: JSON.stringify(out.rows),
    row_count: out.rows.length,
    truncated: out.more,
    elapsed_ms: Math.round(performance.now() - started),
    bytes_scanned: out.scanned,
    estimated_cost_usd: Number((((out.billed ?? out.scanned) / TIB) * source.price_per_tib_usd).toFixed(6)),
  };
}
