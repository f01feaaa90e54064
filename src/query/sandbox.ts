import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance, JsonDuckDBValueConverter, type DuckDBPreparedStatement } from '@duckdb/node-api';
import { quoteIdent, quoteLiteral } from '../db/connection.ts';
import { DomainError } from '../errors.ts';
import { prepareGuarded, SqlError, type ViewSet } from './guard.ts';
import type { ReadableFile } from '../sync/catalog.ts';
import { planViews } from '../sync/view-plan.ts';

/** A table the caller may read: it becomes the view `<dataset>.<name>` over its Parquet file. */
export type SandboxTable = ReadableFile;

/**
 * Everything one sandbox holds. The pool keys sandboxes by user and spec, so a user's
 * sandbox is rebuilt when their views change and is never shared with another user.
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
  /** Bytes of JSON rows returned at most; the result is cut before the row that would pass it. */
  maxBytes: number;
}

/**
 * A result as the worker hands it over: the rows are already JSON text, so the server
 * passes them on without parsing them again.
 */
export interface SandboxResult {
  columns: Array<{ name: string; type: string }>;
  rowsJson: string;
  row_count: number;
  truncated: boolean;
}

/** The schema of the admin's state views. */
export const STATE_SCHEMA = 'state';

/** Equal keys mean equal views: the pool adds the user, so no instance is shared between users. */
export function specKey(spec: SandboxSpec): string {
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
  for (const v of planViews(spec.tables)) {
    sql.push(`CREATE VIEW ${quoteIdent(v.schema)}.${quoteIdent(v.name)} AS SELECT * FROM read_parquet(${quoteLiteral(v.table.path)})`);
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

export interface SandboxesOptions {
  /** Spill files go to `<spillRoot>/<instance>/`. */
  spillRoot: string;
  memoryLimit: string;
  threads: number;
  /** Instances kept open for reuse (each holds its own buffer pool); the least recently used goes first. */
  maxInstances?: number;
}

interface Sandbox {
  instance: DuckDBInstance;
  views: ViewSet;
  spillDir: string;
}

/** Runs user SQL in the sandboxes of one worker process (see createSandboxes). */
export interface Sandboxes {
  run(key: string, spec: SandboxSpec, request: QueryRequest): Promise<SandboxResult>;
  readonly size: number;
  close(): void;
}

async function buildSandbox(spec: SandboxSpec, spillDir: string, memoryLimit: string, threads: number): Promise<Sandbox> {
  const instance = await DuckDBInstance.create(':memory:', { threads: String(threads), memory_limit: memoryLimit });
  const conn = await instance.connect();
  try {
    const setup = sandboxSetupSql(spec, spillDir);
    const lock = setup.findIndex((s) => s.startsWith('SET temp_directory'));
    for (const statement of setup.slice(0, lock)) await conn.run(statement);
    const rows = (await conn.runAndReadAll(`SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal`)).getRows();
    const views = new Set(rows.map(([schema, name]) => `${String(schema).toLowerCase()}.${String(name).toLowerCase()}`));
    for (const statement of setup.slice(lock)) await conn.run(statement);
    return { instance, views, spillDir };
  } catch (err) {
    instance.closeSync();
    throw err;
  } finally {
    conn.closeSync();
  }
}

/**
 * Reads a prepared query's result chunk by chunk into JSON text, stopping at `limit` rows
 * or before the row that would take the text past `maxBytes`: a 600 MB result never
 * exists in this process, only the part that is returned.
 */
async function readCapped(prepared: DuckDBPreparedStatement, { limit, maxBytes }: QueryRequest): Promise<SandboxResult> {
  const result = await prepared.stream();
  const columns = result.columnNames().map((name, i) => ({ name, type: result.columnType(i).toString() }));
  const parts: string[] = [];
  let bytes = 2;
  let truncated = false;
  while (!truncated) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    for (let i = 0; i < chunk.rowCount; i++) {
      if (parts.length === limit) {
        truncated = true;
        break;
      }
      const text = JSON.stringify(chunk.convertRowValues(i, JsonDuckDBValueConverter));
      if (bytes + text.length + 1 > maxBytes) {
        truncated = true;
        break;
      }
      parts.push(text);
      bytes += text.length + 1;
    }
  }
  return { columns, rowsJson: `[${parts.join(',')}]`, row_count: parts.length, truncated };
}

/**
 * The sandboxes of one query worker: in-memory DuckDB instances, one per key (the pool
 * keys them by user and views, so users never share one). Each holds only views of the
 * given tables, reads nothing but their files (`enable_external_access=false` +
 * `allowed_paths`), has its configuration locked and runs under the memory and thread
 * limits. A query is checked on its parse tree before anything is bound (prepareGuarded)
 * and its result is cut at the row and byte limits. Time limits are the pool's: it kills
 * the whole worker.
 *
 * @example
 * const sandboxes = createSandboxes({ spillRoot, memoryLimit: '1GB', threads: 2 })
 * await sandboxes.run('user-1', { tables }, { sql: 'SELECT count(*) FROM sales.orders', limit: 1000, maxBytes: 50e6 })
 */
export function createSandboxes(options: SandboxesOptions): Sandboxes {
  const { spillRoot, memoryLimit, threads, maxInstances = 8 } = options;
  const open = new Map<string, Promise<Sandbox>>();
  let seq = 0;

  function dispose(key: string) {
    const sandbox = open.get(key);
    open.delete(key);
    sandbox
      ?.then((s) => {
        s.instance.closeSync();
        rmSync(s.spillDir, { recursive: true, force: true });
      })
      .catch(() => {});
  }

  function acquire(key: string, spec: SandboxSpec): Promise<Sandbox> {
    let sandbox = open.get(key);
    if (sandbox) {
      // Map order is recency order: move this one to the end.
      open.delete(key);
      open.set(key, sandbox);
      return sandbox;
    }
    sandbox = buildSandbox(spec, join(spillRoot, `${process.pid}-${++seq}`), memoryLimit, threads);
    open.set(key, sandbox);
    sandbox.catch(() => open.get(key) === sandbox && open.delete(key));
    for (const oldest of [...open.keys()].slice(0, Math.max(0, open.size - maxInstances))) dispose(oldest);
    return sandbox;
  }

  return {
    get size() {
      return open.size;
    },

    async run(key, spec, request) {
      const { instance, views } = await acquire(key, spec);
      const conn = await instance.connect();
      let prepared: DuckDBPreparedStatement | undefined;
      try {
        prepared = await prepareGuarded(conn, request.sql, views);
        return await readCapped(prepared, request);
      } catch (err) {
        if (err instanceof DomainError) throw err;
        throw new SqlError(messageOf(err));
      } finally {
        prepared?.destroySync();
        conn.closeSync();
      }
    },

    close() {
      for (const key of [...open.keys()]) dispose(key);
    },
  };
}
