import { StatementType, type DuckDBConnection, type DuckDBPreparedStatement } from '@duckdb/node-api';
import { BadRequestError } from '../errors.ts';

/** What a refused statement is told it may do instead. */
const ALLOWED_KINDS = 'SELECT, WITH, VALUES, FROM, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN';

/** A DuckDB error raised while parsing or binding user SQL: the caller's mistake (400). */
export class SqlError extends BadRequestError {}

function messageOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/^Failed to extract statements: /, '');
}

/**
 * Skips whitespace and SQL comments from `i`; returns the index of the next token.
 * Unterminated block comments end the text (the remainder then fails to parse: fail closed).
 */
function skipTrivia(sql: string, i: number): number {
  for (;;) {
    while (i < sql.length && /\s/.test(sql[i]!)) i++;
    if (sql.startsWith('--', i)) {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? sql.length : nl + 1;
    } else if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else return i;
  }
}

function keywordAt(sql: string, i: number, word: string): boolean {
  return sql.slice(i, i + word.length).toLowerCase() === word && !/[a-z0-9_]/i.test(sql[i + word.length] ?? '');
}

/**
 * The statement an EXPLAIN wraps: `EXPLAIN [ANALYZE] [(options)] <statement>` → `<statement>`.
 * Undefined when the text is not of that shape; the caller then refuses it.
 */
export function explainedStatement(sql: string): string | undefined {
  let i = skipTrivia(sql, 0);
  if (!keywordAt(sql, i, 'explain')) return undefined;
  i = skipTrivia(sql, i + 'explain'.length);
  for (const word of ['analyze', 'analyse']) {
    if (keywordAt(sql, i, word)) i = skipTrivia(sql, i + word.length);
  }
  if (sql[i] === '(') {
    const close = sql.indexOf(')', i);
    // Options are keywords and plain words; anything fancier is not worth the risk.
    if (close < 0 || /['"();]/.test(sql.slice(i + 1, close))) return undefined;
    i = skipTrivia(sql, close + 1);
  }
  const inner = sql.slice(i);
  return inner.trim() ? inner : undefined;
}

async function prepareSingle(conn: DuckDBConnection, sql: string): Promise<DuckDBPreparedStatement> {
  if (skipTrivia(sql, 0) >= sql.length) throw new SqlError('the query is empty');
  let extracted;
  try {
    extracted = await conn.extractStatements(sql);
  } catch (err) {
    throw new SqlError(messageOf(err));
  }
  if (extracted.count === 0) throw new SqlError('the query is empty');
  if (extracted.count > 1) {
    throw new SqlError(`send one statement per query; this text holds ${extracted.count}`);
  }
  try {
    return await extracted.prepare(0);
  } catch (err) {
    throw new SqlError(messageOf(err));
  }
}

/**
 * Parses and binds exactly one statement and accepts it only when DuckDB itself classifies
 * it as a query: SELECT (which covers WITH, VALUES, FROM-first, DESCRIBE, SHOW, SUMMARIZE
 * and query-returning PRAGMAs) or an EXPLAIN whose explained statement is again a SELECT.
 * The last check matters: EXPLAIN ANALYZE runs the statement it explains, so
 * `EXPLAIN ANALYZE COPY … TO` would otherwise write files.
 *
 * Throws SqlError (400) for empty, multiple, unparsable or non-read-only statements.
 */
export async function prepareReadOnly(conn: DuckDBConnection, sql: string): Promise<DuckDBPreparedStatement> {
  const prepared = await prepareSingle(conn, sql);
  const type = prepared.statementType;
  if (type === StatementType.SELECT) return prepared;
  if (type === StatementType.EXPLAIN) {
    const inner = explainedStatement(sql);
    let innerType: StatementType | undefined;
    if (inner !== undefined) {
      const innerPrepared = await prepareSingle(conn, inner).catch(() => undefined);
      innerType = innerPrepared?.statementType;
      innerPrepared?.destroySync();
    }
    if (innerType === StatementType.SELECT) return prepared;
    prepared.destroySync();
    throw new SqlError('EXPLAIN is allowed only for read-only queries (SELECT and the like)');
  }
  prepared.destroySync();
  const name = StatementType[type] ?? String(type);
  throw new SqlError(`only read-only queries are allowed (${ALLOWED_KINDS}); this is a ${name} statement`);
}
