import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { DomainEvent } from '../src/events.ts';
import type { Delivery } from '../src/notify/dispatch.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { testYaml } from './helpers/data.ts';
import { sessionCookie } from './helpers/web.ts';
import { deploy } from './helpers/scripts.ts';

/**
 * GET /ws/notifications with a real WebSocket client (Bun's): authentication before the
 * upgrade, the per-user cap, pings, and the messages the dispatcher sends after real
 * domain events (a sync, an approved access request) and synthetic script runs.
 */
let server: TestServer;
let wsUrl: string;
type User = Awaited<ReturnType<TestServer['createUser']>>;
let analyst: User;
let viewer: User;
const open: WebSocket[] = [];

beforeAll(async () => {
  server = await startTestServer({}, {
    yaml: testYaml(
      'sources:\n  sales: { type: local, path: fixtures/data/sales, public: true }\n  hr: { type: local, path: fixtures/data/hr }\n' +
        'notifications:\n  ping_seconds: 0.05\n  max_connections_per_user: 2\n',
    ),
  });
  wsUrl = server.url.replace('http', 'ws') + '/ws/notifications';
  analyst = await server.createUser('analyst');
  viewer = await server.createUser('viewer');
});
afterAll(async () => {
  for (const ws of open) ws.close();
  await server?.stop();
});

/** A connected socket with the JSON messages it received, in order. */
interface Client {
  ws: WebSocket;
  messages: Array<Record<string, unknown>>;
  /** The next message not yet taken (waits for it). */
  next(): Promise<Record<string, unknown>>;
}

function connect(url: string, headers?: Record<string, string>): Promise<Client> {
  const ws = new WebSocket(url, headers ? ({ headers } as unknown as string[]) : undefined);
  open.push(ws);
  const messages: Array<Record<string, unknown>> = [];
  const waiting: Array<(m: Record<string, unknown>) => void> = [];
  let taken = 0;
  ws.addEventListener('message', (e) => {
    const m = JSON.parse(String(e.data)) as Record<string, unknown>;
    messages.push(m);
    const w = waiting.shift();
    if (w) {
      taken++;
      w(m);
    }
  });
  const next = () => (taken < messages.length ? Promise.resolve(messages[taken++]!) : new Promise<Record<string, unknown>>((r) => waiting.push(r)));
  return new Promise((resolve, reject) => {
    ws.addEventListener('open', () => resolve({ ws, messages, next }));
    ws.addEventListener('error', () => reject(new Error('socket refused')));
    ws.addEventListener('close', (e) => reject(new Error(`closed ${e.code}`)));
  });
}

/** The handshake as a plain HTTP request, to read a refusal's status and body. */
const handshake = (path = '/ws/notifications', headers: Record<string, string> = {}) =>
  fetch(server.url + path, {
    headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', ...headers },
  });

/** Resolves with what the dispatcher delivered for the next event of `type`. */
function delivered(type: DomainEvent['type']): Promise<Delivery[]> {
  return new Promise((resolve) => {
    const off = server.services.notifications.onDelivered((e, d) => {
      if (e.type !== type) return;
      off();
      resolve(d);
    });
  });
}

async function closed(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return;
  await new Promise((r) => ws.addEventListener('close', r));
}

/** Waits until the server has dropped the user's sockets (its close handler runs just after the client's). */
async function serverDropped(userId: string, count: number): Promise<void> {
  for (let i = 0; i < 200 && server.services.notifications.hub.connections(userId) !== count; i++) await Bun.sleep(5);
  expect(server.services.notifications.hub.connections(userId)).toBe(count);
}

describe('authentication before the upgrade', () => {
  test('without a token: 401 problem, not upgraded; a bad token: 401', async () => {
    const res = await handshake();
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.headers.get('upgrade')).toBeNull();
    expect((await handshake('/ws/notifications?token=nope')).status).toBe(401);
    expect((await handshake('/ws/notifications', { authorization: 'Bearer nope' })).status).toBe(401);
    await expect(connect(wsUrl)).rejects.toThrow();
  });

  test('a token in the query, a Bearer header, or the session cookie from this server open it', async () => {
    const byQuery = await connect(`${wsUrl}?token=${analyst.token}`);
    byQuery.ws.close();
    await closed(byQuery.ws);
    const byHeader = await connect(wsUrl, { authorization: `Bearer ${analyst.token}` });
    byHeader.ws.close();
    await closed(byHeader.ws);
    const cookie = await sessionCookie(server, viewer);
    const byCookie = await connect(wsUrl, { cookie, origin: server.url });
    byCookie.ws.close();
    await closed(byCookie.ws);
    // A cookie sent by a page of another site is refused.
    expect((await handshake('/ws/notifications', { cookie, origin: 'https://evil.example' })).status).toBe(403);
    await serverDropped(viewer.id, 0);
  });

  test('a plain GET (no upgrade) is 426', async () => {
    expect((await server.fetch('/ws/notifications', { token: analyst.token })).status).toBe(426);
  });
});

describe('the per-user cap', () => {
  test('a third socket of one user is refused with 429; closing one frees a place', async () => {
    const user = await server.createUser('viewer');
    const a = await connect(`${wsUrl}?token=${user.token}`);
    await connect(`${wsUrl}?token=${user.token}`);
    const refused = await handshake(`/ws/notifications?token=${user.token}`);
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { detail: string }).detail).toContain('2 notification sockets');
    await expect(connect(`${wsUrl}?token=${user.token}`)).rejects.toThrow();
    // Other users are not affected.
    const other = await connect(`${wsUrl}?token=${viewer.token}`);
    other.ws.close();
    a.ws.close();
    await closed(a.ws);
    await serverDropped(user.id, 1);
    await connect(`${wsUrl}?token=${user.token}`);
  });
});

test('the server pings open sockets', async () => {
  const { ws } = await connect(`${wsUrl}?token=${viewer.token}`);
  await new Promise((resolve) => ws.addEventListener('ping' as 'open', resolve));
  ws.close();
});

describe('messages', () => {
  test('sync.finished after a real sync: each user hears of the tables they may read', async () => {
    const mine = await connect(`${wsUrl}?token=${analyst.token}`);
    const admin = await connect(`${wsUrl}?token=${server.adminToken}`);
    for (const d of ['sales', 'hr']) await server.fetch(`/api/sources/${d}/register-all`, { method: 'POST', token: server.adminToken });
    const res = await server.fetch('/api/sync/trigger', { method: 'POST', token: server.adminToken, json: {} });
    expect(res.status).toBe(202);
    const { job_id } = (await res.json()) as { job_id: string };

    const m = await mine.next();
    expect(m).toMatchObject({ type: 'sync.finished', job_id, failed_tables: [] });
    expect(typeof m.at).toBe('string');
    const tables = m.tables as string[];
    expect(tables).toContain('sales.orders');
    // hr is not public and not granted: the analyst is not told of it.
    expect(tables.some((t) => t.startsWith('hr.'))).toBe(false);
    const all = (await admin.next()).tables as string[];
    expect(all).toContain('hr.employees');
    mine.ws.close();
    admin.ws.close();
  });

  test('a sync of only tables a user may not read is not sent to them; admins hear of it', async () => {
    const outsider = await server.createUser('analyst');
    const client = await connect(`${wsUrl}?token=${outsider.token}`);
    const admin = await connect(`${wsUrl}?token=${server.adminToken}`);
    const done = delivered('sync.finished');
    const res = await server.fetch('/api/sync/trigger', { method: 'POST', token: server.adminToken, json: { tables: ['hr.employees'] } });
    expect(res.status).toBe(202);
    const deliveries = await done;
    expect(deliveries.map((d) => d.userId)).not.toContain(outsider.id);
    expect(await admin.next()).toMatchObject({ type: 'sync.finished', tables: ['hr.employees'] });
    expect(client.messages).toEqual([]);
    client.ws.close();
    admin.ws.close();
  });

  test('access.granted reaches the requester when an admin approves', async () => {
    const client = await connect(`${wsUrl}?token=${viewer.token}`);
    const asked = await server.fetch('/api/access-requests', { method: 'POST', token: viewer.token, json: { dataset: 'hr', reason: 'headcount' } });
    const { id } = (await asked.json()) as { id: string };
    expect((await server.fetch(`/api/access-requests/${id}/approve`, { method: 'POST', token: server.adminToken })).status).toBe(200);
    expect(await client.next()).toMatchObject({ type: 'access.granted', dataset: 'hr', request_id: id });
    client.ws.close();
  });

  test('a script run goes to its owner only', async () => {
    const owner = await connect(`${wsUrl}?token=${analyst.token}`);
    const bystander = await connect(`${wsUrl}?token=${viewer.token}`);
    const done = delivered('script.finished');
    server.services.events.emit({
      type: 'script.finished', at: new Date().toISOString(), scriptId: 'sc1', name: 'daily_revenue', owner: analyst.id, runId: 'run1',
      status: 'succeeded', exitCode: 0, durationMs: 1234, reason: null,
    });
    expect(await owner.next()).toMatchObject({
      type: 'script.finished', script_id: 'sc1', name: 'daily_revenue', run_id: 'run1', status: 'succeeded', exit_code: 0, duration_ms: 1234,
    });
    expect((await done).map((d) => d.userId)).toEqual([analyst.id]);
    expect(bystander.messages).toEqual([]);
    owner.ws.close();
    bystander.ws.close();
  });

  test('a real script run (deployed and run through the API, in the sandbox) reaches its owner as script.finished, a failing one as script.failed', async () => {
    const owner = await connect(`${wsUrl}?token=${analyst.token}`);
    const ok = await deploy(server, analyst.token, { name: 'ws_ok', language: 'typescript', source: 'console.log("fine")' });
    const run = await server.fetch(`/api/scripts/${ok}/run`, { method: 'POST', token: analyst.token });
    expect(run.status).toBe(202);
    const { run_id } = (await run.json()) as { run_id: string };
    expect(await owner.next()).toMatchObject({ type: 'script.finished', script_id: ok, name: 'ws_ok', run_id, status: 'succeeded', exit_code: 0 });
    const bad = await deploy(server, analyst.token, { name: 'ws_bad', language: 'sql', source: 'SELECT * FROM no_such_table' });
    expect((await server.fetch(`/api/scripts/${bad}/run`, { method: 'POST', token: analyst.token })).status).toBe(202);
    expect(await owner.next()).toMatchObject({ type: 'script.failed', script_id: bad, name: 'ws_bad', status: 'failed' });
    owner.ws.close();
  });

  test('memory.status_changed reaches the contributors', async () => {
    const client = await connect(`${wsUrl}?token=${viewer.token}`);
    server.services.events.emit({
      type: 'memory.status_changed', at: new Date().toISOString(), itemId: 'k1', title: 'Revenue excludes VAT', from: 'pending', to: 'approved',
      by: 'admin', note: null, contributors: [viewer.id],
    });
    expect(await client.next()).toMatchObject({ type: 'memory.status_changed', item_id: 'k1', to: 'approved' });
    client.ws.close();
  });

  test('a channel turned off sends nothing; the other kinds still arrive', async () => {
    const put = await server.fetch('/api/notifications/preferences', {
      method: 'PUT', token: analyst.token, json: { items: [{ event: 'script.failed', websocket: false }] },
    });
    expect(put.status).toBe(200);
    const prefs = (await put.json()) as { items: Array<{ event: string; websocket: boolean; telegram: boolean }> };
    expect(prefs.items.find((i) => i.event === 'script.failed')).toEqual({ event: 'script.failed', websocket: false, telegram: true });
    expect(prefs.items.find((i) => i.event === 'script.finished')).toEqual({ event: 'script.finished', websocket: true, telegram: true });

    const client = await connect(`${wsUrl}?token=${analyst.token}`);
    const off = delivered('script.failed');
    const run = { at: new Date().toISOString(), scriptId: 'sc1', name: 'daily_revenue', owner: analyst.id, exitCode: 1, durationMs: 5 };
    server.services.events.emit({ type: 'script.failed', ...run, runId: 'run2', status: 'failed', reason: 'exit code 1' });
    expect(await off).toEqual([]);
    server.services.events.emit({ type: 'script.finished', ...run, runId: 'run3', status: 'succeeded', exitCode: 0, reason: null });
    // The first message to arrive is the one after: the failed run was never sent.
    expect(await client.next()).toMatchObject({ type: 'script.finished', run_id: 'run3' });
    expect(client.messages.length).toBe(1);
    client.ws.close();
  });

  test('preferences: an unknown event or channel is 422; anonymous is 401', async () => {
    const bad = await server.fetch('/api/notifications/preferences', { method: 'PUT', token: analyst.token, json: { items: [{ event: 'nope', websocket: true }] } });
    expect(bad.status).toBe(422);
    const badChannel = await server.fetch('/api/notifications/preferences', { method: 'PUT', token: analyst.token, json: { items: [{ event: 'sync.failed', email: true }] } });
    expect(badChannel.status).toBe(422);
    expect((await server.fetch('/api/notifications/preferences')).status).toBe(401);
  });
});

test('a closed socket is removed from the hub', async () => {
  const user = await server.createUser('viewer');
  const { ws } = await connect(`${wsUrl}?token=${user.token}`);
  await serverDropped(user.id, 1);
  ws.close();
  await closed(ws);
  await serverDropped(user.id, 0);
  expect(server.services.notifications.hub.connectedUsers()).not.toContain(user.id);
});

test('a deactivated account hears nothing more on a socket it opened before', async () => {
  const user = await server.createUser('analyst');
  const client = await connect(`${wsUrl}?token=${user.token}`);
  expect((await server.fetch(`/api/users/${user.id}`, { method: 'DELETE', token: server.adminToken })).status).toBeLessThan(300);
  const done = delivered('script.finished');
  server.services.events.emit({
    type: 'script.finished', at: new Date().toISOString(), scriptId: 'sc9', name: 'x', owner: user.id, runId: 'r', status: 'succeeded', exitCode: 0, durationMs: 1, reason: null,
  });
  expect(await done).toEqual([]);
  expect(client.messages).toEqual([]);
  // And it cannot open a new one.
  expect((await handshake(`/ws/notifications?token=${user.token}`)).status).toBe(401);
});
