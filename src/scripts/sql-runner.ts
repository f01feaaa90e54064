/**
 * Runs a SQL script inside the script sandbox (started there by Bun, never in the server):
 * an in-memory DuckDB with one view per Parquet file under $DA_DATA (`<dataset>.<table>`,
 * and the bare table name where it is unique), only SELECT statements allowed. Each
 * result is printed to stdout as CSV; the last one is also written to $DA_OUT/result.csv.
 *
 * Usage: bun sql-runner.ts SCRIPT.sql, or (the compiled server) da __script-sql SCRIPT.sql
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance, StatementType } from '@duckdb/node-api';

const ident = (s: string) => `"${s.replaceAll('"', '""')}"`;
const literal = (s: string) => `'${s.replaceAll("'", "''")}'`;

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

async function main(file: string | undefined): Promise<number> {
  if (!file) {
    process.stderr.write('usage: sql-runner.ts SCRIPT.sql\n');
    return 2;
  }
  const dataDir = process.env.DA_DATA ?? '/data';
  const outDir = process.env.DA_OUT ?? '/work/out';
  const instance = await DuckDBInstance.create(':memory:', { threads: '1', memory_limit: process.env.DA_SQL_MEMORY ?? '256MB' });
  const conn = await instance.connect();
  const tables: Array<{ dataset: string; name: string; path: string }> = [];
  for (const dataset of safeList(dataDir)) {
    for (const f of safeList(join(dataDir, dataset))) {
      if (f.endsWith('.parquet')) tables.push({ dataset, name: f.slice(0, -'.parquet'.length), path: join(dataDir, dataset, f) });
    }
  }
  const counts = new Map<string, number>();
  for (const t of tables) counts.set(t.name, (counts.get(t.name) ?? 0) + 1);
  for (const ds of new Set(tables.map((t) => t.dataset))) await conn.run(`CREATE SCHEMA IF NOT EXISTS ${ident(ds)}`);
  for (const t of tables) {
    await conn.run(`CREATE VIEW ${ident(t.dataset)}.${ident(t.name)} AS SELECT * FROM read_parquet(${literal(t.path)})`);
    if (counts.get(t.name) === 1) await conn.run(`CREATE VIEW main.${ident(t.name)} AS SELECT * FROM ${ident(t.dataset)}.${ident(t.name)}`);
  }
  // Read-only from here: only the mounted tables, no other files, settings locked.
  await conn.run(`SET allowed_directories = [${literal(dataDir)}]`);
  await conn.run(`SET enable_external_access = false`);
  await conn.run(`SET lock_configuration = true`);

  const source = readFileSync(file, 'utf8');
  const statements = await conn.extractStatements(source);
  if (statements.count === 0) {
    process.stderr.write('the script holds no SQL statement\n');
    return 1;
  }
  let last = '';
  for (let i = 0; i < statements.count; i++) {
    const prepared = await statements.prepare(i);
    if (prepared.statementType !== StatementType.SELECT) {
      process.stderr.write(`statement ${i + 1} is not a SELECT: SQL scripts are read-only\n`);
      return 1;
    }
    const reader = await prepared.runAndReadAll();
    const lines = [reader.columnNames().map(csvCell).join(',')];
    for (const row of reader.getRowsJson()) lines.push(row.map(csvCell).join(','));
    last = lines.join('\n') + '\n';
    process.stdout.write(last);
    if (i < statements.count - 1) process.stdout.write('\n');
  }
  writeFileSync(join(outDir, 'result.csv'), last);
  return 0;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** Runs the SQL script `file` and ends the process with its exit code. */
export function runSqlScriptProcess(file: string | undefined): void {
  main(file).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}

if (import.meta.main) runSqlScriptProcess(process.argv[2]);
