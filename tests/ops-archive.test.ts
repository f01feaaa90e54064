import { afterEach, expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArchiveFormatError, readTar, tarHeader, writeTar, type TarInput } from '../src/ops/archive.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'da-tar-'));
  dirs.push(d);
  return d;
}

function input(path: string, bytes: Uint8Array): TarInput {
  return { path, size: bytes.length, mtimeMs: 1_700_000_000_000, body: async function* () { yield bytes; } };
}

async function collect(gen: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of gen) parts.push(c);
  return new Uint8Array(Buffer.concat(parts));
}

async function* once(bytes: Uint8Array) {
  // Odd chunk sizes: the reader must not depend on block-aligned input.
  for (let i = 0; i < bytes.length; i += 777) yield bytes.subarray(i, i + 777);
}

async function entries(bytes: Uint8Array) {
  const out: Array<{ path: string; text: string }> = [];
  for await (const e of readTar(once(bytes))) out.push({ path: e.path, text: Buffer.from(await collect(e.body)).toString('utf8') });
  return out;
}

const longPath = `uploads/${'deep/'.repeat(40)}file-with-a-long-name.jsonl`;
const files = [
  input('state/system.duckdb', new TextEncoder().encode('duck'.repeat(1000))),
  input('empty.txt', new Uint8Array(0)),
  input(longPath, new TextEncoder().encode('long path\n')),
  input('docs/naïve-ünïcode.md', new TextEncoder().encode('# héllo\n')),
  input(`${'p'.repeat(120)}/x.txt`, new TextEncoder().encode('prefix split\n')),
];

test('what the writer produces, the reader gives back: paths (long, unicode), sizes and bytes', async () => {
  const tar = await collect(writeTar(files));
  expect(tar.length % 512).toBe(0);
  const got = await entries(tar);
  expect(got.map((e) => e.path)).toEqual(files.map((f) => f.path));
  expect(got[0]!.text).toBe('duck'.repeat(1000));
  expect(got[1]!.text).toBe('');
  expect(got[2]!.text).toBe('long path\n');
});

test('the system tar reads what the writer produces', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'a.tar'), await collect(writeTar(files)));
  mkdirSync(join(dir, 'out'));
  const r = Bun.spawnSync(['tar', '-xf', join(dir, 'a.tar'), '-C', join(dir, 'out')]);
  expect(r.stderr.toString()).toBe('');
  expect(r.exitCode).toBe(0);
  expect(readFileSync(join(dir, 'out', longPath), 'utf8')).toBe('long path\n');
  expect(readFileSync(join(dir, 'out', 'docs/naïve-ünïcode.md'), 'utf8')).toBe('# héllo\n');
  expect(readFileSync(join(dir, 'out', 'state/system.duckdb'), 'utf8')).toBe('duck'.repeat(1000));
});

test('the reader reads what the system tar writes', async () => {
  const dir = tempDir();
  mkdirSync(join(dir, 'src', 'parquet', 'sales'), { recursive: true });
  writeFileSync(join(dir, 'src', 'parquet', 'sales', 'orders.parquet'), 'PAR1 data');
  expect(Bun.spawnSync(['tar', '-cf', join(dir, 'b.tar'), '-C', join(dir, 'src'), 'parquet']).exitCode).toBe(0);
  const got = await entries(new Uint8Array(readFileSync(join(dir, 'b.tar'))));
  expect(got).toEqual([{ path: 'parquet/sales/orders.parquet', text: 'PAR1 data' }]);
});

test('a cut-short archive, a damaged header and a missing end marker are refused', async () => {
  const tar = await collect(writeTar(files));
  await expect(entries(tar.subarray(0, 700))).rejects.toBeInstanceOf(ArchiveFormatError);
  await expect(entries(tar.subarray(0, tar.length - 1024))).rejects.toThrow(/truncated/);
  const damaged = new Uint8Array(tar);
  damaged[10] = damaged[10]! ^ 0xff;
  await expect(entries(damaged)).rejects.toThrow(/checksum/);
});

test('paths that leave the folder, and links, are refused', async () => {
  for (const bad of ['../evil', '/etc/passwd', 'a/../../b', 'a\\b']) {
    await expect(entries(await collect(writeTar([input(bad, new Uint8Array(1))])))).rejects.toThrow(/unsafe path/);
  }
  const link = tarHeader('link', 0);
  link[156] = '2'.charCodeAt(0);
  // Recompute the checksum for the changed type so only the type is wrong.
  link.fill(32, 148, 156);
  let sum = 0;
  for (const b of link) sum += b;
  link.set(new TextEncoder().encode(sum.toString(8).padStart(6, '0') + '\0 '), 148);
  await expect(entries(new Uint8Array([...link, ...new Uint8Array(1024)]))).rejects.toThrow(/not a regular file/);
});

test('a file whose size changes while it is written fails the archive', async () => {
  const liar: TarInput = { path: 'x', size: 10, body: async function* () { yield new Uint8Array(5); } };
  await expect(collect(writeTar([liar]))).rejects.toThrow(/changed while it was archived/);
});

test('an entry the consumer does not read is skipped', async () => {
  const tar = await collect(writeTar(files));
  const paths: string[] = [];
  for await (const e of readTar(once(tar))) paths.push(e.path);
  expect(paths).toEqual(files.map((f) => f.path));
});
