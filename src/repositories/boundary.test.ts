import { expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS } from '../db/migrations.ts';

// The state database's SQL lives in src/db (connection, migrations) and in the DuckDB
// repositories (src/repositories/duckdb); everything else, tests included, goes through the
// repository interfaces, so another store can replace DuckDB without touching callers.
// DuckDB as the analytics engine over Parquet (src/sync, src/query, cli/) is not the state
// database and is not concerned.

const root = join(import.meta.dir, '../..');
const OWNERS = /^src\/(db|repositories\/duckdb)\//;
const SELF = 'src/repositories/boundary.test.ts';

function sources(): Array<{ path: string; text: string }> {
  const files: Array<{ path: string; text: string }> = [];
  for (const dir of ['src', 'jobs', 'cli', 'tests', 'bench', 'scripts', 'views']) {
    for (const path of new Bun.Glob(`${dir}/**/*.{ts,tsx}`).scanSync({ cwd: root })) {
      if (path !== SELF) files.push({ path, text: readFileSync(join(root, path), 'utf8') });
    }
  }
  return files;
}

const stateTables = [
  ...new Set(MIGRATIONS.flatMap((m) => [...m.sql.matchAll(/CREATE TABLE (?:IF NOT EXISTS )?(\w+)/gi)].map((x) => x[1]!))),
  'schema_migrations',
];

test('no statement names a state table outside src/db and the DuckDB repositories', () => {
  const statement = new RegExp(`\\b(FROM|INTO|UPDATE|JOIN|TABLE)\\s+(main\\.)?(${stateTables.join('|')})\\b`);
  const offenders = sources()
    .filter((f) => !OWNERS.test(f.path))
    .flatMap((f) => f.text.split('\n').map((line, i) => ({ at: `${f.path}:${i + 1}`, line })))
    .filter(({ line }) => statement.test(line))
    .map(({ at, line }) => `${at}: ${line.trim()}`);
  expect(offenders).toEqual([]);
});

test('nothing outside src/db and the DuckDB repositories runs statements on the state database', () => {
  // SystemDb.read/write hand a Queryable to a callback: `db.read((q) => ...)`.
  const call = /\.(read|write)\(\s*(async\s*)?\(?\s*\w*\s*\)?\s*=>/;
  const offenders = sources()
    .filter((f) => !OWNERS.test(f.path))
    .filter((f) => call.test(f.text) || /\bQueryable\b|\bSerialConnection\b/.test(f.text))
    .map((f) => f.path);
  expect(offenders).toEqual([]);
});

test('only the composition root chooses the DuckDB repositories; callers import the interfaces', () => {
  const offenders = sources()
    .filter((f) => !OWNERS.test(f.path) && f.path !== 'src/boot.ts')
    .filter((f) => /from\s+['"][^'"]*repositories\/duckdb\//.test(f.text))
    .map((f) => f.path);
  expect(offenders).toEqual([]);
});
