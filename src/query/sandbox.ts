import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance, JsonDuckDBValueConverter, type DuckDBPreparedStatement, type Json } from '@duckdb/node-api';
import { quoteIdent, quoteLiteral } from '../db/connection.ts';
import { DomainError, TimeoutError } from '../errors.ts';
import { silentLogger, type Logger } from '../log.ts';
import { newId } from '../auth/secrets.ts';
import { prepareReadOnly, SqlError } from './read-only.ts';

/** A table the caller may read: it becomes the view `<dataset>.<name>` over its Parquet file. */
export interface SandboxTable {
  dataset: string;
  name: string;
  path: string;
  /** Content hash: a new file may have new columns, so it needs a fresh sandbox. */
  hash: string;
}

/**
 * Everything one sandbox holds. Two callers with equal specs see exactly the same views,
 * so they may share an instance; any difference gets its own.
 */
export interface SandboxSpec {
  tables: SandboxTable[];
  /**
   * Admin only: secret-free snapshots of the state tables, as views `state.<name>`.
   * (`system` cannot be used: DuckDB's built-in `system` catalog makes `system.x` ambiguous.)
   */
  state?: Array<{ name: string; path: string }>;
}

export interface QueryRequest {
  sql: string;
  /** Rows returned at most; one more is read to tell whether the result was cut. */
  limit: number;
  timeoutMs: number;
}

export interface QueryResult {
  columns: Array<{ name: string; type: string }>;
  rows: Json[][];
  row_count: number;
  truncated: boolean;
  elapsed_ms: number;
}

export interface QueryPoolOptions {
  /** Spill files go to `<dataDir>/tmp/query/<instance>/`. */
  dataDir: string;
  memoryLimit: string;
  threads: number;
  /** Idle instances kept for reuse (each holds its own buffer pool). */
  maxInstances?: number;
  /** An instance unused this long is closed. */
  idleMs?: number;
  logger?: Logger;
}

/** Runs user SQL in locked-down, in-memory DuckDB instances (see createQueryPool). */
export interface QueryPool {
  run(spec: SandboxSpec, request: QueryRequest): Promise<QueryResult>;
  /** Instances currently open (for tests and metrics). */
  readonly size: number;
  close(): void;
}

interface Entry {
  key: string;
  ready: Promise<DuckDBInstance>;
  active: number;
  lastUsed: number;
  spillDir: string;
}

/** The schema of the admin's state views. */
export const STATE_SCHEMA = 'state';

function specKey(spec: SandboxSpec): string {
  const tables = spec.tables.map((t) => `${t.dataset}.${t.name}=${t.path}#${t.hash}`).sort();
  const state = (spec.state ?? []).map((s) => `${s.name}=${s.path}`).sort();
  return JSON.stringify([tables, state]);
}

/**
 * The statements that build one sandbox: schemas and views first, then the lock-down.
 * Views are bound now (DuckDB reads each file's schema), so they are created while files
 * may still be read; afterwards only the listed files stay readable.
 */
export function sandboxSetupSql(spec: SandboxSpec, spillDir: string): string[] {
  const sql: string[] = [
    `SET autoinstall_known_extensions = false`,
    `SET autoload_known_extensions = false`,
    `SET allow_community_extensions = false`,
  ];
  const datasets = [...new Set(spec.tables.map((t) => t.dataset))].sort();
  for (const ds of datasets) if (ds !== 'main') sql.push(`CREATE SCHEMA ${quoteIdent(ds)}`);
  const byName = new Map<string, SandboxTable[]>();
  for (const t of spec.tables) {
    sql.push(`CREATE VIEW ${quoteIdent(t.dataset)}.${quoteIdent(t.name)} AS SELECT * FROM read_parquet(${quoteLiteral(t.path)})`);
    byName.set(t.name, [...(byName.get(t.name) ?? []), t]);
  }
  // An unqualified name points to its table only where it is unique among the caller's tables.
  for (const [name, tables] of byName) {
    const t = tables[0]!;
    if (tables.length === 1 && t.dataset !== 'main' && !datasets.includes(name)) {
      sql.push(`CREATE VIEW main.${quoteIdent(name)} AS SELECT * FROM ${quoteIdent(t.dataset)}.${quoteIdent(t.name)}`);
    }
  }
  if (spec.state?.length) {
    // A dataset may itself be called `state`; the state views then move aside.
    const schema = datasets.includes(STATE_SCHEMA) ? `da_${STATE_SCHEMA}` : STATE_SCHEMA;
    sql.push(`CREATE SCHEMA ${quoteIdent(schema)}`);
    for (const s of spec.state) {
      sql.push(`CREATE VIEW ${quoteIdent(schema)}.${quoteIdent(s.name)} AS SELECT * FROM read_parquet(${quoteLiteral(s.path)})`);
    }
  }
  const files = [...spec.tables.map((t) => t.path), ...(spec.state ?? []).map((s) => s.path)];
  sql.push(
    `SET temp_directory = ${quoteLiteral(spillDir)}`,
    `SET allowed_paths = [${files.map(quoteLiteral).join(', ')}]::VARCHAR[]`,
    `SET enable_external_access = false`,
    `SET lock_configuration = true`,
  );
  return sql;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A small pool of in-memory DuckDB instances, one per distinct SandboxSpec. Each instance
 * holds only views of the given tables, reads nothing but their files
 * (`enable_external_access=false` + `allowed_paths`), has its configuration locked, and
 * runs under the memory and thread limits. Each query gets its own connection, is parsed
 * and bound by DuckDB and accepted only when DuckDB classifies it as read-only, is
 * interrupted after `timeoutMs`, and is streamed so that at most `limit + 1` rows are
 * converted.
 *
 * @example
 * const pool = createQueryPool({ dataDir, memoryLimit: '1GB', threads: 2 })
 * await pool.run({ tables }, { sql: 'SELECT count(*) FROM sales.orders', limit: 1000, timeoutMs: 30_000 })
 */
export function createQueryPool(options: QueryPoolOptions): QueryPool {
  const { dataDir, memoryLimit, threads, maxInstances = 4, idleMs = 5 * 60_000, logger = silentLogger } = options;
  const spillRoot = join(dataDir, 'tmp', 'query');
  // Spill files of a previous process are of no use to anyone.
  rmSync(spillRoot, { recursive: true, force: true });
  const entries = new Map<string, Entry>();
  let closed = false;

  async function build(spec: SandboxSpec, spillDir: string): Promise<DuckDBInstance> {
    const instance = await DuckDBInstance.create(':memory:', { threads: String(threads), memory_limit: memoryLimit });
    const conn = await instance.connect();
    try {
      for (const statement of sandboxSetupSql(spec, spillDir)) await conn.run(statement);
    } catch (err) {
      conn.closeSync();
      instance.closeSync();
      throw err;
    }
    conn.closeSync();
    return instance;
  }

  function dispose(entry: Entry) {
    entries.delete(entry.key);
    entry.ready
      .then((instance) => instance.closeSync())
      .catch(() => {})
      .finally(() => rmSync(entry.spillDir, { recursive: true, force: true }));
  }

  function sweep() {
    const now = Date.now();
    const idle = [...entries.values()].filter((e) => e.active === 0).sort((a, b) => a.lastUsed - b.lastUsed);
    let excess = entries.size - maxInstances;
    for (const e of idle) {
      if (excess > 0 || now - e.lastUsed > idleMs) {
        dispose(e);
        excess--;
      }
    }
  }
  const sweeper = setInterval(sweep, Math.min(idleMs, 60_000));
  sweeper.unref?.();

  function acquire(spec: SandboxSpec): Entry {
    const key = specKey(spec);
    let entry = entries.get(key);
    if (!entry) {
      const spillDir = join(spillRoot, newId());
      entry = { key, ready: build(spec, spillDir), active: 0, lastUsed: Date.now(), spillDir };
      entries.set(key, entry);
      const failed = entry;
      entry.ready.catch((err) => {
        logger.error('query sandbox could not be built', { error: messageOf(err) });
        if (entries.get(key) === failed) entries.delete(key);
      });
    }
    entry.active++;
    entry.lastUsed = Date.now();
    return entry;
  }

  function release(entry: Entry) {
    entry.active--;
    entry.lastUsed = Date.now();
    if (closed && entry.active === 0) dispose(entry);
    else if (entries.size > maxInstances) sweep();
  }

  return {
    get size() {
      return entries.size;
    },

    async run(spec, { sql, limit, timeoutMs }) {
      if (closed) throw new Error('query pool is closed');
      const started = performance.now();
      const entry = acquire(spec);
      try {
        const instance = await entry.ready;
        const conn = await instance.connect();
        let timedOut = false;
        const timer = setTimeout(() => {
          timedOut = true;
          conn.interrupt();
        }, timeoutMs);
        let prepared: DuckDBPreparedStatement | undefined;
        try {
          prepared = await prepareReadOnly(conn, sql);
          const result = await prepared.stream();
          const columns = result.columnNames().map((name, i) => ({ name, type: result.columnType(i).toString() }));
          const rows: Json[][] = [];
          let truncated = false;
          while (!truncated) {
            const chunk = await result.fetchChunk();
            if (!chunk || chunk.rowCount === 0) break;
            const room = limit - rows.length;
            if (chunk.rowCount <= room) {
              for (const row of chunk.convertRows(JsonDuckDBValueConverter)) rows.push(row as Json[]);
            } else {
              for (let i = 0; i < room; i++) rows.push(chunk.convertRowValues(i, JsonDuckDBValueConverter) as Json[]);
              truncated = true;
            }
          }
          return { columns, rows, row_count: rows.length, truncated, elapsed_ms: Math.round(performance.now() - started) };
        } catch (err) {
          if (timedOut) throw new TimeoutError(`query exceeded ${timeoutMs} ms and was stopped`);
          if (err instanceof DomainError) throw err;
          throw new SqlError(messageOf(err));
        } finally {
          clearTimeout(timer);
          prepared?.destroySync();
          conn.closeSync();
        }
      } finally {
        release(entry);
      }
    },

    close() {
      closed = true;
      clearInterval(sweeper);
      for (const e of [...entries.values()]) if (e.active === 0) dispose(e);
    },
  };
}
