import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_EMAIL, startTestServer, type TestServer } from './helpers/server.ts';
import { createDaSandbox, DA_BIN, ensureCliBuilt, type DaSandbox } from './helpers/cli.ts';

let server: TestServer;
let da: DaSandbox;

beforeAll(async () => {
  [server] = await Promise.all([startTestServer(), ensureCliBuilt()]);
  da = createDaSandbox();
});
afterAll(async () => {
  da?.cleanup();
  await server?.stop();
});

describe('the compiled da binary', () => {
  test('prints help with an empty environment (PATH without da, HOME in a temp dir)', async () => {
    const home = mkdtempSync(join(tmpdir(), 'da-empty-env-'));
    try {
      const proc = Bun.spawn(['env', '-i', 'PATH=/nonexistent', `HOME=${home}`, DA_BIN, '--help'], { stdout: 'pipe', stderr: 'pipe' });
      const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
      expect(code).toBe(0);
      expect(out).toContain('da login');
      expect(out).toContain('da sync');
      // help is not coloured when piped
      expect(out).not.toContain('\u001b[');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test('runs DuckDB from the embedded native module with an empty environment', async () => {
    const home = mkdtempSync(join(tmpdir(), 'da-empty-env-'));
    try {
      const proc = Bun.spawn(['env', '-i', 'PATH=/nonexistent', `HOME=${home}`, DA_BIN, 'query', '--json', 'SELECT 6 * 7 AS answer'], {
        cwd: home,
        stdout: 'pipe',
        stderr: 'pipe',
      });
      const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      expect(err).toBe('');
      expect(code).toBe(0);
      expect(JSON.parse(out).rows).toEqual([[42]]);
      expect(statSync(join(home, '.cache', 'da')).isDirectory()).toBe(true);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test('a usage error exits 2 with a one-line message on stderr', async () => {
    const r = await da.run(['sync', '--no-such-flag']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--no-such-flag');
    const q = await da.run(['query', '--format', 'xml', 'SELECT 1']);
    expect(q.code).toBe(2);
    expect(q.stderr.trim().split('\n')).toHaveLength(1);
  });

  test('with --json a usage error is still one JSON document on stdout', async () => {
    const r = await da.run(['--json', 'whoami', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.json().error.exit_code).toBe(2);
  });
});

describe('da login, whoami, logout', () => {
  test('logs in with email and password, stores a 0600 token, and whoami answers as JSON', async () => {
    const user = await server.createUser('analyst');
    const sb = createDaSandbox();
    try {
      const login = await sb.run(['login', '--server', server.url, '--email', user.email, '--password', user.password, '--json']);
      expect(login.stderr).toBe('');
      expect(login.code).toBe(0);
      expect(login.json().user.email).toBe(user.email);
      const tokenFile = join(sb.configDir, 'token.json');
      expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
      const stored = JSON.parse(readFileSync(tokenFile, 'utf8'));
      expect(stored.token).toStartWith('dapat_');
      expect(stored.server).toBe(server.url);

      const who = await sb.run(['whoami', '--json']);
      expect(who.code).toBe(0);
      expect(who.json()).toMatchObject({ email: user.email, role: 'analyst', server: server.url, via: 'pat' });

      // the token is a personal access token named after this machine
      const pats = await (await server.fetch('/api/tokens', { token: stored.token })).json();
      expect(pats.items.map((p: { name: string }) => p.name)[0]).toStartWith('da cli ');
    } finally {
      sb.cleanup();
    }
  });

  test('reads the password from stdin when --password is left out', async () => {
    const user = await server.createUser('viewer');
    const sb = createDaSandbox();
    try {
      const login = await sb.run(['login', '--server', server.url, '--email', user.email], { stdin: `${user.password}\n` });
      expect(login.code).toBe(0);
      expect(login.stdout).toContain(user.email);
    } finally {
      sb.cleanup();
    }
  });

  test('a wrong password fails with exit 1 and the server reason in one line', async () => {
    const sb = createDaSandbox();
    try {
      const r = await sb.run(['login', '--server', server.url, '--email', ADMIN_EMAIL, '--password', 'wrong-password']);
      expect(r.code).toBe(1);
      expect(r.stderr).toStartWith('da: 401');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      sb.cleanup();
    }
  });

  test('logs in with a personal access token; logout revokes it on the server', async () => {
    const created = await server.fetch('/api/tokens', { method: 'POST', token: server.adminToken, json: { name: 'for cli test' } });
    const { token } = await created.json();
    const sb = createDaSandbox();
    try {
      const login = await sb.run(['login', '--server', server.url, '--token', token]);
      expect(login.code).toBe(0);
      expect(login.stdout).toContain(ADMIN_EMAIL);
      const out = await sb.run(['logout', '--json']);
      expect(out.code).toBe(0);
      expect(out.json().logged_out).toBe(true);
      expect((await server.fetch('/api/me', { token })).status).toBe(401);
      const who = await sb.run(['whoami']);
      expect(who.code).toBe(1);
      expect(who.stderr).toContain('da login');
    } finally {
      sb.cleanup();
    }
  });

  test('DA_SERVER and DA_TOKEN override the stored config', async () => {
    const r = await da.run(['whoami', '--json'], { env: { DA_SERVER: server.url, DA_TOKEN: server.adminToken } });
    expect(r.code).toBe(0);
    expect(r.json().email).toBe(ADMIN_EMAIL);
  });

  test('an unreachable server is a one-line failure (exit 1)', async () => {
    const r = await da.run(['whoami'], { env: { DA_SERVER: 'http://127.0.0.1:9', DA_TOKEN: 'x' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot reach http://127.0.0.1:9');
  });

  test('login without any server is a usage error', async () => {
    const r = await da.run(['login', '--email', 'a@b.c', '--password', 'x']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--server');
  });
});
