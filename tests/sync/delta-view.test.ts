import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rebuildViews, tableSelect, viewProblems, type ViewTable } from '../../cli/local-db.ts';

// The merged view of a delta-synced table (cli/local-db.ts tableSelect): a base file and delta
// parts written the way the server writes them (src/sync/delta.ts: changed rows with
// `_da_deleted = false`, deleted keys with `_da_deleted = true` and other columns NULL).

let dir: string;
let instance: DuckDBInstance;
let conn: DuckDBConnection;

const COLS = `a INTEGER, b VARCHAR, v DOUBLE, d DATE, tags VARCHAR[]`;
const rows = async (sql: string) => (await conn.runAndReadAll(sql)).getRowsJson();

/** Writes a Parquet file from VALUES typed as COLS (plus the deletion marker for parts). */
async function write(name: string, values: string, part: boolean): Promise<string> {
  const path = join(dir, name);
  const cols = `a, b, v, d, tags${part ? ', _da_deleted' : ''}`;
  const types = `a::INTEGER AS a, b::VARCHAR AS b, v::DOUBLE AS v, d::DATE AS d, tags::VARCHAR[] AS tags${part ? ', _da_deleted::BOOLEAN AS _da_deleted' : ''}`;
  await conn.run(`COPY (SELECT ${types} FROM (VALUES ${values}) t(${cols})) TO '${path}' (FORMAT parquet)`);
  return path;
}

let base: string;
let p1: string;
let p2: string;
let p3: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'da-delta-view-'));
  instance = await DuckDBInstance.create(':memory:');
  conn = await instance.connect();
  // Composite key (a, b); b is NULL for one key.
  base = await write('base.parquet', `(1, 'x', 1.0, DATE '2026-01-01', ['p']), (2, NULL, 2.0, DATE '2026-01-02', []), (3, 'y', 3.0, NULL, NULL), (3, 'z', 4.0, DATE '2026-01-04', ['q', 'r'])`, false);
  // 1: (1,'x') updated, (2,NULL) deleted, (9,'n') new.
  p1 = await write('1.parquet', `(1, 'x', 10.0, DATE '2026-02-01', ['u'], false), (2, NULL, NULL, NULL, NULL, true), (9, 'n', 9.0, NULL, NULL, false)`, true);
  // 2: (1,'x') deleted, (2,NULL) inserted again.
  p2 = await write('2.parquet', `(1, 'x', NULL, NULL, NULL, true), (2, NULL, 22.0, DATE '2026-03-02', ['again'], false)`, true);
  // 3: (1,'x') inserted again.
  p3 = await write('3.parquet', `(1, 'x', 30.0, DATE '2026-04-01', ['back'], false)`, true);
});

afterAll(() => {
  conn?.closeSync();
  instance?.closeSync();
  rmSync(dir, { recursive: true, force: true });
});

const table = (paths: string[]): ViewTable => ({ dataset: 'src', name: 't', path: base, deltas: { primary_key: ['a', 'b'], paths, base_size: statSync(base).size } });
const ordered = (t: ViewTable) => rows(`SELECT * FROM (${tableSelect(t)}) ORDER BY a, b NULLS FIRST`);

describe('the merged view of a base and delta parts', () => {
  test('without parts it reads the file as before', () => {
    expect(tableSelect({ dataset: 'src', name: 't', path: base })).toBe(`SELECT * FROM read_parquet('${base}')`);
  });

  test('the latest part wins per key: updated, deleted, re-inserted; NULL key parts of a composite key match', async () => {
    expect(await ordered(table([p1]))).toEqual([
      [1, 'x', 10, '2026-02-01', ['u']],
      [3, 'y', 3, null, null],
      [3, 'z', 4, '2026-01-04', ['q', 'r']],
      [9, 'n', 9, null, null],
    ]);
    expect(await ordered(table([p1, p2]))).toEqual([
      [2, null, 22, '2026-03-02', ['again']],
      [3, 'y', 3, null, null],
      [3, 'z', 4, '2026-01-04', ['q', 'r']],
      [9, 'n', 9, null, null],
    ]);
    expect(await ordered(table([p1, p2, p3]))).toEqual([
      [1, 'x', 30, '2026-04-01', ['back']],
      [2, null, 22, '2026-03-02', ['again']],
      [3, 'y', 3, null, null],
      [3, 'z', 4, '2026-01-04', ['q', 'r']],
      [9, 'n', 9, null, null],
    ]);
  });

  test('the order of the parts decides, not their file names', async () => {
    // p2 after p3: (1,'x') stays deleted.
    const r = await ordered(table([p1, p3, p2]));
    expect(r.map((x) => [x[0], x[1]])).toEqual([[2, null], [3, 'y'], [3, 'z'], [9, 'n']]);
  });

  test('the columns are the base file\'s, in its order and types; the deletion marker is not one of them', async () => {
    const describe = async (sql: string) => (await conn.runAndReadAll(`DESCRIBE ${sql}`)).getRows().map((r) => [r[0], r[1]]);
    const want = await describe(`SELECT * FROM read_parquet('${base}')`);
    expect(want.map((c) => c[0])).toEqual(['a', 'b', 'v', 'd', 'tags']);
    expect(await describe(tableSelect(table([p1, p2, p3])))).toEqual(want);
    // A part with only deletions has typed NULL columns too.
    expect(await describe(tableSelect(table([p2])))).toEqual(want);
  });

  test('parts over another file than their base (a new full file not yet followed by the views): a clear error, not a wrong merge', async () => {
    const other = join(dir, 'other.parquet');
    await conn.run(`COPY (SELECT * FROM read_parquet('${base}') WHERE a <> 3) TO '${other}' (FORMAT parquet)`);
    const t: ViewTable = { ...table([p1]), path: other };
    await expect(rows(`SELECT count(*) FROM (${tableSelect(t)})`)).rejects.toThrow('src.t is being replaced by da sync; run the query again when it has finished');
    copyFileSync(base, other);
    expect(await rows(`SELECT count(*)::INTEGER FROM (${tableSelect(t)})`)).toEqual([[4]]);
  });

  test('views over a delta table: built, and a view that reads other parts is a problem', async () => {
    const db = await DuckDBInstance.create(join(dir, 'local.duckdb'));
    const c = await db.connect();
    try {
      await rebuildViews(c, [table([p1, p2])]);
      expect((await c.runAndReadAll('SELECT count(*)::INTEGER FROM src.t')).getRows()[0]![0]).toBe(4);
      expect((await c.runAndReadAll('SELECT count(*)::INTEGER FROM main.t')).getRows()[0]![0]).toBe(4);
      expect(await viewProblems(c, [table([p1, p2])])).toEqual([]);
      expect(await viewProblems(c, [table([p1, p2, p3])])).toEqual(['src.t: view reads other files', 'main.t: view reads other files']);
      expect(await viewProblems(c, [{ dataset: 'src', name: 't', path: base }])).toEqual(['src.t: view reads other files', 'main.t: view reads other files']);
    } finally {
      c.closeSync();
      db.closeSync();
    }
  });
});
