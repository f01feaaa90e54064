import { StatementType, type DuckDBConnection, type DuckDBPreparedStatement } from '@duckdb/node-api';
import { BadRequestError } from '../errors.ts';
import { QUERY_FUNCTIONS } from './functions.ts';

/** What a refused statement is told it may do instead. */
const ALLOWED_KINDS = 'SELECT, WITH, VALUES, FROM, DESCRIBE, SHOW TABLES, SUMMARIZE, EXPLAIN';

/**
 * Table functions user SQL may call: they compute rows from their arguments and read
 * nothing else. Every other table function (file readers, catalog and settings functions,
 * logging and parser switches, `query()`, and whatever a later DuckDB adds) is refused.
 */
export const QUERY_TABLE_FUNCTIONS: ReadonlySet<string> = new Set([
  'range', 'generate_series', 'unnest', 'repeat', 'repeat_row', 'json_each', 'json_tree',
  'pg_timezone_names', 'icu_calendar_names',
]);

/** `SHOW TABLES` and `SHOW ALL TABLES` list the instance's views, which are the caller's own. */
const SHOW_TARGETS = new Set(['"tables"', '__show_tables_expanded']);

/** Table references that never occur in parsed user SQL; refused rather than reasoned about. */
const INTERNAL_REFS = new Set(['COLUMN_DATA', 'DELIM_GET', 'BOUND_TABLE_REF']);

/** A DuckDB error raised while parsing or binding user SQL, or a refusal: the caller's mistake (400). */
export class SqlError extends BadRequestError {}

/**
 * The views a sandbox holds, as lower-case `schema.name` keys (unqualified views are
 * `main.name`). A table reference must name one of them or a CTE in scope.
 */
export type ViewSet = ReadonlySet<string>;

type Node = Record<string, unknown>;

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function display(schema: string, name: string): string {
  return schema ? `${schema}.${name}` : name;
}

function checkTable(ref: Node, views: ViewSet, ctes: ReadonlySet<string>) {
  const catalog = str(ref.catalog_name).toLowerCase();
  const schema = str(ref.schema_name).toLowerCase();
  const name = str(ref.table_name).toLowerCase();
  const known = !catalog && (schema ? views.has(`${schema}.${name}`) : ctes.has(name) || views.has(`main.${name}`));
  if (!known) {
    throw new SqlError(
      `Catalog Error: table "${display(str(ref.schema_name), str(ref.table_name))}" does not exist among the tables you may read`,
    );
  }
}

function checkFunction(fn: Node, allowed: ReadonlySet<string>, kind: string) {
  const name = str(fn.function_name).toLowerCase();
  // The parser itself qualifies some constructors (`[1, 2]` is main.list_value); a user
  // qualifying a function with any other schema or a catalog is refused.
  const schema = str(fn.schema).toLowerCase();
  if ((schema && schema !== 'main') || str(fn.catalog) || !allowed.has(name)) {
    const shown = display(str(fn.schema), str(fn.function_name));
    throw new SqlError(`the ${kind} ${shown}() is not available in queries (only functions that compute on values are)`);
  }
}

function checkShow(ref: Node, views: ViewSet, ctes: ReadonlySet<string>) {
  if (isNode(ref.query)) return walk(ref.query, views, ctes);
  if (!SHOW_TARGETS.has(str(ref.table_name).toLowerCase())) {
    throw new SqlError(`SHOW ${str(ref.table_name).replace(/"/g, '')} is not available in queries; SHOW TABLES and DESCRIBE are`);
  }
}

/** The CTE names a query node declares, added to those already in scope. */
function withCtes(node: Node, ctes: ReadonlySet<string>): ReadonlySet<string> {
  const map = isNode(node.cte_map) ? node.cte_map.map : undefined;
  if (!Array.isArray(map) || map.length === 0) return ctes;
  const scope = new Set(ctes);
  for (const entry of map) if (isNode(entry)) scope.add(str(entry.key).toLowerCase());
  return scope;
}

function walk(value: unknown, views: ViewSet, ctes: ReadonlySet<string>): void {
  if (Array.isArray(value)) {
    for (const item of value) walk(item, views, ctes);
    return;
  }
  if (!isNode(value)) return;
  const scope = withCtes(value, ctes);
  const type = str(value.type);
  if (INTERNAL_REFS.has(type)) throw new SqlError(`this query uses a ${type} reference, which is not available`);
  if (type === 'BASE_TABLE') checkTable(value, views, scope);
  else if (type === 'SHOW_REF') return checkShow(value, views, scope);
  else if ('table_name' in value) throw new SqlError('this query reads from a source that is not one of your tables');
  if (type === 'TABLE_FUNCTION') {
    const fn = isNode(value.function) ? value.function : {};
    checkFunction(fn, QUERY_TABLE_FUNCTIONS, 'table function');
    for (const [key, child] of Object.entries(fn)) if (key !== 'function_name') walk(child, views, scope);
    for (const [key, child] of Object.entries(value)) if (key !== 'function') walk(child, views, scope);
    return;
  }
  if ('function_name' in value) checkFunction(value, QUERY_FUNCTIONS, 'function');
  for (const child of Object.values(value)) walk(child, views, scope);
}

/**
 * Deny by default, on DuckDB's own parse tree (`json_serialize_sql`): every table a query
 * reads must be one of the caller's views (or a CTE in scope), every table function must
 * be in QUERY_TABLE_FUNCTIONS and every other function in QUERY_FUNCTIONS, wherever it is
 * nested. Throws SqlError naming the first thing refused.
 */
export function checkQueryTree(tree: unknown, views: ViewSet): void {
  walk(tree, views, new Set());
}

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
 * Undefined when the text is not of that shape.
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

/** DuckDB's statement kind for a refusal message, from the first keyword (nothing is bound). */
const KIND_OF: Record<string, string> = {
  install: 'LOAD', load: 'LOAD', set: 'SET', reset: 'SET', use: 'SET', checkpoint: 'CALL', call: 'CALL',
  begin: 'TRANSACTION', commit: 'TRANSACTION', rollback: 'TRANSACTION', start: 'TRANSACTION', abort: 'TRANSACTION',
  end: 'TRANSACTION',
};

function statementKind(sql: string): string {
  const i = skipTrivia(sql, 0);
  const word = /^[a-z_]+/i.exec(sql.slice(i))?.[0]?.toLowerCase() ?? '';
  return KIND_OF[word] ?? (word ? word.toUpperCase() : 'non-query');
}

async function parseTree(conn: DuckDBConnection, sql: string): Promise<{ error?: string; statements?: unknown[] }> {
  const reader = await conn.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql]);
  const tree = JSON.parse(String(reader.getRows()[0]![0])) as { error: boolean; error_message?: string; statements?: unknown[] };
  return tree.error ? { error: tree.error_message ?? 'not a query' } : { statements: tree.statements };
}

/** Refuses `sql` unless it is exactly one SELECT whose parse tree passes checkQueryTree. */
async function checkSelect(conn: DuckDBConnection, sql: string, views: ViewSet): Promise<void> {
  const tree = await parseTree(conn, sql);
  if (tree.error !== undefined) {
    if (/syntax|parser/i.test(tree.error)) throw new SqlError(tree.error);
    const kind = statementKind(sql);
    throw new SqlError(`only read-only queries are allowed (${ALLOWED_KINDS}); this is ${/^[AEIOU]/.test(kind) ? 'an' : 'a'} ${kind} statement`);
  }
  if (tree.statements?.length !== 1) throw new SqlError('send one statement per query');
  checkQueryTree(tree.statements, views);
}

async function countStatements(conn: DuckDBConnection, sql: string): Promise<number> {
  try {
    return (await conn.extractStatements(sql)).count;
  } catch (err) {
    throw new SqlError(messageOf(err));
  }
}

/**
 * Checks and prepares one user statement: a plain query (SELECT, WITH, VALUES, FROM-first,
 * DESCRIBE, SHOW TABLES, SUMMARIZE) whose parse tree passes checkQueryTree, or an EXPLAIN
 * of one (EXPLAIN ANALYZE runs what it explains, so that is checked the same way). Nothing
 * is bound before the check passes; after it, DuckDB must still classify the prepared
 * statement as a query.
 *
 * Throws SqlError (400) for empty, multiple, unparsable or refused statements.
 */
export async function prepareGuarded(conn: DuckDBConnection, sql: string, views: ViewSet): Promise<DuckDBPreparedStatement> {
  if (skipTrivia(sql, 0) >= sql.length) throw new SqlError('the query is empty');
  const count = await countStatements(conn, sql);
  if (count === 0) throw new SqlError('the query is empty');
  if (count > 1) throw new SqlError(`send one statement per query; this text holds ${count}`);

  const explained = explainedStatement(sql);
  const isExplain = keywordAt(sql, skipTrivia(sql, 0), 'explain');
  if (isExplain) {
    if (explained === undefined) throw new SqlError('EXPLAIN is allowed only for read-only queries (SELECT and the like)');
    await checkSelect(conn, explained, views).catch((err) => {
      throw err instanceof SqlError && /only read-only/.test(err.message)
        ? new SqlError('EXPLAIN is allowed only for read-only queries (SELECT and the like)')
        : err;
    });
  } else {
    await checkSelect(conn, sql, views);
  }

  let prepared: DuckDBPreparedStatement;
  try {
    prepared = await (await conn.extractStatements(sql)).prepare(0);
  } catch (err) {
    throw new SqlError(messageOf(err));
  }
  const expected = isExplain ? StatementType.EXPLAIN : StatementType.SELECT;
  if (prepared.statementType !== expected) {
    prepared.destroySync();
    throw new SqlError(`only read-only queries are allowed (${ALLOWED_KINDS})`);
  }
  return prepared;
}
