import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '../cli/client.ts';
import { runSync } from '../cli/workspace-sync.ts';

/**
 * `da sync` against a server that cannot be trusted blindly (a stand-in on loopback that
 * serves whatever manifest a test gives it): nothing may land outside the workspace and the
 * token goes to the signed-in server only.
 */
let BODY: Uint8Array<ArrayBuffer>;
let HASH: string;

beforeAll(async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'da-sync-safety-parquet-'));
  const file = join(tmp, 't.parquet');
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    await conn.run(`COPY (SELECT 1 AS x) TO '${file}' (FORMAT parquet)`);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
  BODY = new Uint8Array(readFileSync(file));
  HASH = new Bun.CryptoHasher('sha256').update(BODY).digest('hex');
  rmSync(tmp, { recursive: true, force: true });
});

let dir: string;
let workspace: string;
let servers: ReturnType<typeof Bun.serve>[];
let seen: { path: string; authorization: string | null }[];

function standIn(manifest: (origin: string) => unknown) {
  const s = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      seen.push({ path: url.pathname, authorization: req.headers.get('authorization') });
      if (url.pathname === '/api/sync/manifest') return Response.json(manifest(url.origin));
      if (req.method === 'POST') {
        await req.arrayBuffer();
        return Response.json({ ok: true }, { status: 201 });
      }
      return new Response(BODY);
    },
  });
  servers.push(s);
  return s;
}

const table = (dataset: string, name: string, url: string) => ({
  dataset, name, hash: HASH, size_bytes: BODY.byteLength, rows: 1, columns: 1, updated_at: null, url,
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'da-sync-safety-'));
  workspace = join(dir, 'work');
  mkdirSync(workspace);
  servers = [];
  seen = [];
});

afterEach(() => {
  for (const s of servers) s.stop(true);
  rmSync(dir, { recursive: true, force: true });
});

describe('da sync refuses what a manifest must not ask for', () => {
  test('a table whose dataset or name is not a plain name never becomes a path outside ./server/parquet', async () => {
    const s = standIn(() => ({
      manifest_version: 1, generated_at: '', server_version: 'x', assets: {},
      tables: {
        'x.y': table('../../../escaped', 'y', '/api/data/x.y/download'),
        'a.b': table('a', '../../../../escaped2', '/api/data/a.b/download'),
        'sales.orders': table('sales', 'orders', '/api/data/sales.orders/download'),
      },
    }));
    const report = await runSync(createClient(`http://127.0.0.1:${s.port}`, 'tok'), join(dir, 'config'), workspace, { claudeDir: join(dir, 'claude') });
    expect(existsSync(join(dir, 'escaped'))).toBe(false);
    expect(existsSync(join(dir, 'escaped2.parquet'))).toBe(false);
    expect(existsSync(join(workspace, 'server', 'parquet', 'sales', 'orders.parquet'))).toBe(true);
    expect(report.errors.map((e) => e.id).sort()).toEqual(['a.b', 'x.y']);
    expect(report.tables.added.map((t) => t.id)).toEqual(['sales.orders']);
  });

  test('download URLs on another origin are refused, so the token only ever goes to the signed-in server', async () => {
    const thief = standIn(() => ({}));
    const s = standIn(() => ({
      manifest_version: 1, generated_at: '', server_version: 'x', assets: {},
      tables: {
        'sales.orders': table('sales', 'orders', `http://127.0.0.1:${thief.port}/api/data/sales.orders/download`),
        'sales.items': table('sales', 'items', `@127.0.0.1:${thief.port}/api/data/sales.items/download`),
      },
    }));
    const report = await runSync(createClient(`http://127.0.0.1:${s.port}`, 'secret-token'), join(dir, 'config'), workspace, { claudeDir: join(dir, 'claude') });
    const stolen = seen.filter((r) => r.authorization?.includes('secret-token') && r.path.includes('/api/data/'));
    expect(stolen).toEqual([]);
    expect(report.errors.map((e) => e.id).sort()).toEqual(['sales.items', 'sales.orders']);
    expect(report.errors[0]!.message).toContain('another origin');
  });

  test('a body that is not a manifest (a proxy page, another service) is one clear error and nothing is written', async () => {
    const s = standIn(() => ({ status: 'ok', tables: [] }));
    const sync = runSync(createClient(`http://127.0.0.1:${s.port}`, 'tok'), join(dir, 'config'), workspace, { claudeDir: join(dir, 'claude') });
    await expect(sync).rejects.toThrow(/the server sent a manifest da cannot read \(manifest_version: .*\); is it a da server\?/);
    expect(existsSync(join(workspace, 'server', 'parquet'))).toBe(false);
    const newer = standIn(() => ({ manifest_version: 2, tables: {} }));
    await expect(runSync(createClient(`http://127.0.0.1:${newer.port}`, 'tok'), join(dir, 'config'), workspace, { claudeDir: join(dir, 'claude') }))
      .rejects.toThrow('unsupported manifest version 2; upgrade da');
  });
});

describe('da sync uploads only files inside the workspace', () => {
  test('symbolic links out of the workspace (artifacts folder, CLAUDE.local.md, a session) are not uploaded', async () => {
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'id_rsa'), 'PRIVATE KEY');
    writeFileSync(join(outside, 'other.jsonl'), '{"secret":true}\n');
    mkdirSync(join(workspace, 'user', 'sessions'), { recursive: true });
    symlinkSync(outside, join(workspace, 'user', 'artifacts'));
    symlinkSync(join(outside, 'id_rsa'), join(workspace, 'CLAUDE.local.md'));
    symlinkSync(outside, join(workspace, 'user', 'sessions', 'linked'));
    writeFileSync(join(workspace, 'user', 'sessions', 'mine.jsonl'), '{"ok":true}\n');
    const s = standIn(() => ({}));
    const report = await runSync(createClient(`http://127.0.0.1:${s.port}`, 'tok'), join(dir, 'config'), workspace, { uploadOnly: true, claudeDir: join(dir, 'claude') });
    expect(seen.filter((r) => r.path.startsWith('/api/upload/')).map((r) => r.path)).toEqual(['/api/upload/sessions']);
    expect(report.uploads).toMatchObject({ sessions: ['mine.jsonl'], artifacts: [], local_md: false });
    expect(report.uploads.skipped.map((x) => x.name).sort()).toEqual(['CLAUDE.local.md', 'artifacts/id_rsa', 'artifacts/other.jsonl']);
    expect(report.errors).toEqual([]);
  });
});

test('an artifact name the server would refuse (a space, too deep) is skipped with a reason instead of failing every sync', async () => {
  mkdirSync(join(workspace, 'user', 'artifacts', 'a', 'b', 'c', 'd', 'e', 'f'), { recursive: true });
  writeFileSync(join(workspace, 'user', 'artifacts', 'My Report.csv'), 'x');
  writeFileSync(join(workspace, 'user', 'artifacts', 'a', 'b', 'c', 'd', 'e', 'f', 'deep.txt'), 'x');
  writeFileSync(join(workspace, 'user', 'artifacts', 'chart.svg'), '<svg/>');
  const s = standIn(() => ({}));
  const report = await runSync(createClient(`http://127.0.0.1:${s.port}`, 'tok'), join(dir, 'config'), workspace, { uploadOnly: true, claudeDir: join(dir, 'claude') });
  expect(seen.filter((r) => r.path.startsWith('/api/upload/')).length).toBe(1);
  expect(report.uploads.artifacts).toEqual(['chart.svg']);
  expect(report.uploads.skipped.map((x) => x.name).sort()).toEqual(['artifacts/My Report.csv', 'artifacts/a/b/c/d/e/f/deep.txt']);
});
