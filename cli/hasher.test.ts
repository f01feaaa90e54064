import { expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStreamHasher } from './hasher.ts';

const sha256 = (...parts: Uint8Array[]) => {
  const h = new Bun.CryptoHasher('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  return out;
}

test('chunks of every shape hash to the same digest as one in-thread hash, and the caller’s other views stay intact', async () => {
  const data = randomBytes(3 * 1024 * 1024 + 17);
  const shared = data.slice(); // one buffer, handed over as views into it
  const hasher = createStreamHasher();
  let at = 0;
  for (const size of [1, 4096, 65536, 1 << 20, 123_457]) {
    hasher.update(shared.subarray(at, at + size));
    at += size;
  }
  hasher.update(shared.slice(at, at + 500_000)); // a whole buffer of its own: moved, not copied
  at += 500_000;
  hasher.update(shared.subarray(at));
  await hasher.backlogBelow(1);
  expect(await hasher.digest()).toBe(sha256(data));
  expect(shared).toEqual(data);
});

test('a resumed download hashes exactly the given prefix of its file, even while the file grows', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'da-hasher-'));
  try {
    const head = randomBytes(2 * 1024 * 1024 + 3);
    const tail = randomBytes(70_000);
    const file = join(dir, 'part');
    writeFileSync(file, new Uint8Array([...head, ...tail])); // already longer than the prefix
    const hasher = createStreamHasher({ file, length: head.byteLength });
    hasher.update(tail.slice());
    expect(await hasher.digest()).toBe(sha256(head, tail));

    const short = createStreamHasher({ file, length: head.byteLength + tail.byteLength + 1 });
    const refused = await short.digest().then(() => null, (err: Error) => err.message);
    expect(refused).toContain('shorter than');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an abandoned hash never leaks into the next one that reuses its worker', async () => {
  const first = createStreamHasher();
  first.update(randomBytes(2 * 1024 * 1024));
  first.abandon();
  const data = randomBytes(1024 * 1024 + 5);
  const hashers = Array.from({ length: 4 }, () => createStreamHasher());
  for (const h of hashers) h.update(data.slice());
  expect(await Promise.all(hashers.map((h) => h.digest()))).toEqual(Array(4).fill(sha256(data)));
  expect(() => first.update(new Uint8Array(1))).toThrow('already finished');
});
