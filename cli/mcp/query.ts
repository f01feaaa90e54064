import { join, sep } from 'node:path';
import type { DuckDBConnection, DuckDBPreparedStatement } from '@duckdb/node-api';
import { CliError, oneLine } from '../errors.ts';
import { duckdb, literal, openLocalDb, type LocalDb } from '../local-db.ts';
import type { WorkspacePaths } from '../workspace.ts';

/** Limits of one read-only query. */
export interface ReadOnlyLimits {
  /** Rows returned at most (one more is read to tell whether the result was cut). */
  limit: number;
  /** The query is interrupted after this long. */
  timeoutMs: number;
  /** Bytes of JSON rows returned at most; the result is cut before the row that would pass it. */
  maxBytes: number;
}

/** What the MCP `query` tool answers: the SQL echoed, then the result as `da query --json` shapes it. */
export interface ReadOnlyResult {
  sql: string;
  columns: { name: string; type: string }[];
  rows: unknown[][];
  row_count: number;
  truncated: boolean;
  elapsed_ms: number;
}

/**
 * The statements that lock a connection's database down once the views exist: no extension
 * is installed or loaded, nothing outside `dirs` can be read or written (no COPY,
 * ATTACH, EXPORT, read_csv of other files, replacement scans, glob or http), and no setting
 * can change afterwards. DuckDB binds the workspace's views at query time, so their Parquet
 * files must stay readable: `dirs` are the folders `da sync` writes them to (the tables'
 * files, and the delta parts the views of delta-synced tables merge over them).
 */
export function lockdownSql(...dirs: string[]): string[] {
  const allowed = dirs.map((d) => literal(d.endsWith(sep) ? d : `${d}${sep}`)).join(', ');
  return [
    `SET autoinstall_known_extensions = false`,
    `SET autoload_known_extensions = false`,
    `SET allow_community_extensions = false`,
    `SET allowed_directories = [${allowed}]`,
    `SET enable_external_access = false`,
    `SET lock_configuration = true`,
  ];
}

/**
 * Opens the workspace database for untrusted SQL: READ_ONLY (an empty in-memory database
 * before the first sync) and locked down with lockdownSql. Opened per query and closed right
 * after, so `da sync` and `da query` can write the file between two calls.
 */
export async function openLockedDb(ws: WorkspacePaths): Promise<LocalDb> {
  let db: LocalDb;
  try {
    db = await openLocalDb(ws.db, { readOnly: true });
  } catch (err) {
    if (err instanceof CliError && err.details.reason === 'locked') {
      throw new CliError(`the local database is being written (a da sync, or a da query that creates tables, is running); retry in a moment`, 1, { reason: 'locked' }, { cause: err });
    }
    throw err;
  }
  try {
    for (const statement of lockdownSql(ws.parquetDir, join(ws.serverDir, 'parts'))) await db.conn.run(statement);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** DuckDB's statement type names, for refusals (`COPY`, `ATTACH`, …). */
function statementTypeName(type: number): string {
  const names = duckdb().StatementType as unknown as Record<number, string>;
  return names[type] ?? `statement type ${type}`;
}

/** DuckDB's message in one line, without the hint lines it sometimes adds. */
function duckdbMessage(err: unknown): string {
  return oneLine((err instanceof Error ? err.message : String(err)).split('\n').slice(0, 2).join(' ')).replace(/^Failed to extract statements: /, '');
}

/** A DuckDB error as a CliError: a Permission Error (the lock-down at work) is a refusal. */
function sqlError(err: unknown): CliError {
  if (err instanceof CliError) return err;
  const message = duckdbMessage(err);
  if (/^Permission Error/i.test(message)) {
    return new CliError(`refused: ${message} (this tool reads only the synced tables under server/parquet)`, 1, { reason: 'refused' }, { cause: err });
  }
  return new CliError(message, 1, { reason: 'sql' }, { cause: err });
}

/**
 * Prepares exactly one statement and refuses anything DuckDB does not classify as SELECT
 * (`WITH`, `FROM`, `VALUES`, `DESCRIBE`, `SHOW`, `SUMMARIZE` are SELECTs too). Binding happens
 * here, so a file the lock-down forbids is refused before anything runs.
 */
export async function prepareSelect(conn: DuckDBConnection, sql: string): Promise<DuckDBPreparedStatement> {
  if (!sql.trim()) throw new CliError('no SQL: pass one SELECT statement');
  let prepared: DuckDBPreparedStatement;
  try {
    const extracted = await conn.extractStatements(sql);
    if (extracted.count === 0) throw new CliError('no SQL: pass one SELECT statement');
    if (extracted.count > 1) throw new CliError(`refused: ${extracted.count} statements; send one SELECT at a time`, 1, { reason: 'refused' });
    prepared = await extracted.prepare(0);
  } catch (err) {
    throw sqlError(err);
  }
  if (prepared.statementType !== duckdb().StatementType.SELECT) {
    const type = statementTypeName(prepared.statementType);
    prepared.destroySync();
    throw new CliError(`refused: ${type} statements are not allowed; this tool runs one read-only SELECT (also WITH, FROM, VALUES, DESCRIBE, SHOW, SUMMARIZE)`, 1, { reason: 'refused' });
  }
  return prepared;
}

/**
 * Runs one SELECT against the workspace's local DuckDB with the database opened READ_ONLY and
 * locked down (see openLockedDb), under a row cap, a byte cap and a time limit (the query is
 * interrupted). Errors are CliErrors with one line: `refused: …` for what is not allowed.
 */
export async function runReadOnlyQuery(ws: WorkspacePaths, sql: string, limits: ReadOnlyLimits): Promise<ReadOnlyResult> {
  const started = performance.now();
  const db = await openLockedDb(ws);
  let prepared: DuckDBPreparedStatement | undefined;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    db.conn.interrupt();
  }, limits.timeoutMs);
  try {
    prepared = await prepareSelect(db.conn, sql);
    const result = await prepared.stream();
    const columns = result.columnNames().map((name, i) => ({ name, type: result.columnType(i).toString() }));
    const rows: unknown[][] = [];
    const converter = duckdb().JsonDuckDBValueConverter;
    let bytes = 2;
    let truncated = false;
    while (!truncated) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      for (let i = 0; i < chunk.rowCount; i++) {
        if (rows.length === limits.limit) {
          truncated = true;
          break;
        }
        const row = chunk.convertRowValues(i, converter) as unknown[];
        const size = JSON.stringify(row).length + 1;
        if (bytes + size > limits.maxBytes) {
          truncated = true;
          break;
        }
        rows.push(row);
        bytes += size;
      }
    }
    if (timedOut) throw new Error('interrupted');
    return { sql, columns, rows, row_count: rows.length, truncated, elapsed_ms: Math.round((performance.now() - started) * 10) / 10 };
  } catch (err) {
    if (timedOut) {
      throw new CliError(`the query ran longer than ${formatSeconds(limits.timeoutMs)} and was stopped; narrow it down (filter, aggregate, LIMIT)`, 1, { reason: 'timeout' });
    }
    throw sqlError(err);
  } finally {
    clearTimeout(timer);
    prepared?.destroySync();
    db.close();
  }
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
