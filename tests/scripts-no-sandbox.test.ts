import { afterAll, beforeAll, expect, test } from 'bun:test';
import { deploy, startScriptsWorld, type ScriptsWorld } from './helpers/scripts.ts';
import { sessionCookie } from './helpers/web.ts';

/** A server whose bubblewrap is missing (`scripts.bwrap` names a path that does not exist): scripts are refused, never run unconfined. */
let w: ScriptsWorld;
beforeAll(async () => {
  w = await startScriptsWorld('  bwrap: /nonexistent/bin/bwrap\n');
});
afterAll(() => w.server.stop());

test('health says the sandbox is unavailable, and why', async () => {
  const res = await w.server.fetch('/api/health');
  expect(res.status).toBe(200);
  const health = (await res.json()) as { status: string; script_sandbox: { available: boolean; detail: string } };
  expect(health.script_sandbox.available).toBe(false);
  expect(health.script_sandbox.detail).toContain('/nonexistent/bin/bwrap not found');
  expect(health.script_sandbox.detail).toContain('never run unconfined');
});

test('a script can be deployed, but running it is a 503 with the reason; nothing ran', async () => {
  const id = await deploy(w.server, w.analyst.token, { name: 'refused', language: 'javascript', source: "require('fs').writeFileSync('/tmp/ran', 'x')" });
  for (const query of ['', '?wait=true']) {
    const res = await w.server.fetch(`/api/scripts/${id}/run${query}`, { method: 'POST', token: w.analyst.token });
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(((await res.json()) as { detail: string }).detail).toContain('bubblewrap');
  }
  const runs = (await (await w.server.fetch(`/api/scripts/${id}/runs`, { token: w.analyst.token })).json()) as unknown[];
  expect(runs).toEqual([]);
  // The page says so too, and its run button is off.
  const cookie = await sessionCookie(w.server, w.analyst);
  const html = await (await fetch(`${w.server.url}/scripts/${id}`, { headers: { cookie } })).text();
  expect(html).toContain('scripts are disabled');
  expect(html).toMatch(/data-testid="run-now" disabled/);
});
