import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSystemDb, type SystemDb } from '../../db/system.ts';
import { hashLinkCode } from '../../notify/link-codes.ts';
import { createDuckDbRepositories } from './index.ts';
import type { Repositories } from '../index.ts';

let dir: string;
let db: SystemDb;
let repos: Repositories;
const key = new TextEncoder().encode('k'.repeat(32));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'da-notifications-'));
  db = await openSystemDb(join(dir, 'system.duckdb'));
  repos = createDuckDbRepositories(db);
});
afterAll(async () => {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

test('link codes are stored as their HMAC only, good once, and a chat keeps only its newest code', async () => {
  const n = repos.notifications;
  await n.addLinkCode(hashLinkCode(key, '111111'), 42, 600);
  const rows = await db.read((q) => q.all<{ code_hash: string; chat_id: string }>('SELECT code_hash, chat_id FROM telegram_link_codes'));
  expect(rows).toEqual([{ code_hash: hashLinkCode(key, '111111'), chat_id: '42' }]);
  expect(JSON.stringify(rows)).not.toContain('111111');
  expect(hashLinkCode(key, '111111')).not.toBe(hashLinkCode(new TextEncoder().encode('x'.repeat(32)), '111111'));

  await n.addLinkCode(hashLinkCode(key, '222222'), 42, 600);
  expect(await n.takeLinkCode(hashLinkCode(key, '111111'))).toBeUndefined();
  expect(await n.takeLinkCode(hashLinkCode(key, '222222'))).toBe('42');
  expect(await n.takeLinkCode(hashLinkCode(key, '222222'))).toBeUndefined();
});

test('an expired code gives no chat and is deleted by the attempt; purge removes the rest', async () => {
  const n = repos.notifications;
  await n.addLinkCode(hashLinkCode(key, '333333'), 43, -1);
  await n.addLinkCode(hashLinkCode(key, '444444'), 44, -1);
  expect(await n.takeLinkCode(hashLinkCode(key, '333333'))).toBeUndefined();
  expect(await n.purgeExpiredCodes()).toBe(1);
  expect(await db.read((q) => q.all('SELECT * FROM telegram_link_codes'))).toEqual([]);
});

test('a chat belongs to one user; channel choices replace each other', async () => {
  const n = repos.notifications;
  await n.link('u1', -1001);
  await n.link('u2', -1001);
  expect(await n.linkFor('u1')).toBeUndefined();
  expect(await n.userForChat(-1001)).toBe('u2');
  expect(await n.linkedUserIds()).toEqual(['u2']);
  expect(await n.unlink('u2')).toBe(true);
  expect(await n.unlink('u2')).toBe(false);

  await n.setPreferences('u1', [{ event: 'sync.finished', channel: 'telegram', enabled: false }]);
  await n.setPreferences('u1', [{ event: 'sync.finished', channel: 'telegram', enabled: true }, { event: 'sync.failed', channel: 'websocket', enabled: false }]);
  expect(await n.preferences('u1')).toEqual([
    { event: 'sync.failed', channel: 'websocket', enabled: false },
    { event: 'sync.finished', channel: 'telegram', enabled: true },
  ]);
  expect([...(await n.optedOut('sync.failed', 'websocket'))]).toEqual(['u1']);
  expect([...(await n.optedOut('sync.finished', 'telegram'))]).toEqual([]);
});
