import { afterAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { loadConfig } from '../src/config.ts';
import { createDaSandbox, ensureCliBuilt } from './helpers/cli.ts';
import { copyFixtures } from './helpers/fixtures.ts';
import { startTestServer } from './helpers/server.ts';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'da-setup-test-'));
  dirs.push(d);
  return d;
}
const da = createDaSandbox();
afterAll(() => {
  da.cleanup();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('da setup init', () => {
  test('writes a commented instance.yaml from flags that the server accepts', async () => {
    const fx = copyFixtures();
    dirs.push(fx.dir);
    const dir = tempDir();
    const r = await da.runInProcess(
      ['setup', 'init', '--name', 'acme', '--source', `sales=${fx.sales}`, '--source', `hr=${fx.hr}`, '--public', 'sales', '--base-url', 'https://da.acme.example', '--backup-schedule', '30 2 * * *', '--json'],
      { cwd: dir },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const file = join(dir, 'instance.yaml');
    expect(r.json()).toEqual({ file, sources: ['sales', 'hr'] });
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('# Where the data comes from');
    const config = loadConfig({ DA_CONFIG: file }, dir);
    expect(config.instance).toMatchObject({ name: 'acme', base_url: 'https://da.acme.example' });
    expect(config.sources.sales).toMatchObject({ type: 'local', path: fx.sales, public: true });
    expect(config.sources.hr).toMatchObject({ public: false });
    expect(config.backup).toEqual({ schedule: '30 2 * * *', dir: 'backups', keep: 7 });

    // An existing file is kept without --force.
    const again = await da.runInProcess(['setup', 'init', '--source', `sales=${fx.sales}`], { cwd: dir });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('exists; pass --force');
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  test('refuses a missing source folder and malformed flags, writing nothing', async () => {
    const dir = tempDir();
    const missing = await da.runInProcess(['setup', 'init', '--source', 'sales=/nonexistent/sales'], { cwd: dir });
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe('da: source sales: folder /nonexistent/sales does not exist');
    const malformed = await da.runInProcess(['setup', 'init', '--source', 'sales'], { cwd: dir });
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('--source must be NAME=FOLDER');
    const badName = await da.runInProcess(['setup', 'init', '--source', `Bad Name=${dir}`], { cwd: dir });
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('dataset name must match');
    expect(existsSync(join(dir, 'instance.yaml'))).toBe(false);
  });
});

describe('da setup init in a terminal', () => {
  // `script` gives the command a terminal, so it asks; the answers are typed ahead.
  test.skipIf(!Bun.which('script'))('asks for the name, URL, sources and mail, and writes what was answered', async () => {
    const fx = copyFixtures();
    dirs.push(fx.dir);
    const dir = tempDir();
    const bin = await ensureCliBuilt();
    const answers = ['acme', 'https://da.acme.example', 'nosuch=/nonexistent', `sales=${fx.sales}`, 'y', '', '', '30 2 * * *', ''].join('\n') + '\n';
    const proc = Bun.spawn(['script', '-qec', `${bin} setup init`, '/dev/null'], {
      cwd: dir, env: { PATH: '/usr/bin:/bin', HOME: dir, TERM: 'dumb' }, stdin: new Blob([answers]), stdout: 'pipe', stderr: 'pipe',
    });
    const [code, out] = await Promise.all([proc.exited, new Response(proc.stdout).text()]);
    expect({ code, out: code ? out : '' }).toEqual({ code: 0, out: '' });
    expect(out).toContain('/nonexistent does not exist');
    const config = loadConfig({ DA_CONFIG: join(dir, 'instance.yaml') }, dir);
    expect(config.instance).toMatchObject({ name: 'acme', base_url: 'https://da.acme.example' });
    expect(Object.keys(config.sources)).toEqual(['sales']);
    expect(config.sources.sales).toMatchObject({ path: fx.sales, public: true });
    expect(config.backup.schedule).toBe('30 2 * * *');
  }, 60_000);
});

describe('da setup test-connection', () => {
  test('checks each source and the SMTP server, and names what is wrong', async () => {
    const fx = copyFixtures();
    dirs.push(fx.dir);
    const smtp = new SMTPServer({ authOptional: true, disabledCommands: ['STARTTLS'], onAuth: (_a, _s, cb) => cb(null, { user: 'u' }) });
    await new Promise<void>((res) => smtp.listen(0, '127.0.0.1', () => res()));
    const port = (smtp.server.address() as { port: number }).port;
    try {
      const dir = tempDir();
      const good = join(dir, 'good.yaml');
      writeFileSync(good, `instance: { base_url: "http://localhost:8000" }\nsources:\n  sales: { type: local, path: ${fx.sales} }\nemail:\n  smtp_url: "smtp://u:p@127.0.0.1:${port}"\n  from: da@example.com\n`);
      const ok = await da.runInProcess(['setup', 'test-connection', '--config', good, '--json']);
      expect(ok.code).toBe(0);
      const body = ok.json();
      expect(body.ok).toBe(true);
      expect(body.checks.map((c: { name: string; status: string }) => [c.name, c.status])).toEqual([['source sales (local)', 'ok'], ['email (SMTP)', 'ok']]);

      rmSync(fx.hr, { recursive: true });
      const bad = join(dir, 'bad.yaml');
      writeFileSync(bad, `instance: { base_url: "http://localhost:8000" }\nsources:\n  hr: { type: local, path: ${fx.hr} }\nemail:\n  smtp_url: "smtp://u:p@127.0.0.1:1"\n  from: da@example.com\n`);
      const failed = await da.runInProcess(['setup', 'test-connection', '--config', bad, '--timeout', '5']);
      expect(failed.code).toBe(1);
      expect(failed.stdout).toMatch(new RegExp(`failed +source hr \\(local\\): .*${fx.hr.replace(/[/.]/g, '\\$&')}`));
      expect(failed.stdout).toMatch(/failed +email \(SMTP\): .*(ECONNREFUSED|refused)/i);
      expect(failed.stdout).toContain('2 check(s) failed');

      const none = await da.runInProcess(['setup', 'test-connection', '--config', join(dir, 'nope.yaml')]);
      expect(none.code).toBe(1);
      expect(none.stderr).toContain('does not exist');
    } finally {
      smtp.close();
    }
  }, 30_000);
});

describe('da setup first-sync and verify', () => {
  test('on a working server: first-sync syncs every source, verify passes every check', async () => {
    const fx = copyFixtures();
    dirs.push(fx.dir);
    const server = await startTestServer({ DA_CONFIG: fx.configPath });
    try {
      const env = { DA_SERVER: server.url, DA_TOKEN: server.adminToken };
      const first = await da.runInProcess(['setup', 'first-sync', '--json'], { env });
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      expect(first.json()).toMatchObject({ status: 'succeeded' });
      expect(first.json().tables).toBeGreaterThan(3);
      const verify = await da.runInProcess(['setup', 'verify', '--json'], { env });
      expect(verify.code).toBe(0);
      const body = verify.json();
      expect(body.ok).toBe(true);
      expect(body.checks.map((c: { name: string; status: string }) => `${c.name}:${c.status}`)).toEqual([
        'health:ok', 'sync:ok', 'manifest:ok', 'analyst:ok', 'query:ok', 'download:ok',
      ]);
      // The temporary analyst is deactivated again.
      const users = (await (await server.fetch('/api/users', { token: server.adminToken })).json()) as { items: Array<{ email: string }> };
      expect(users.items.some((u) => u.email.startsWith('da-verify-'))).toBe(false);
      // Only an admin may run it.
      const analyst = await server.createUser('analyst');
      const refused = await da.runInProcess(['setup', 'verify'], { env: { ...env, DA_TOKEN: analyst.token } });
      expect(refused.code).toBe(1);
      expect(refused.stdout).toContain('403');
    } finally {
      await server.stop();
    }
  }, 60_000);

  test('on a server whose source folder is gone: verify fails and says why', async () => {
    const fx = copyFixtures();
    dirs.push(fx.dir);
    const server = await startTestServer({ DA_CONFIG: fx.configPath });
    try {
      rmSync(fx.sales, { recursive: true });
      const r = await da.runInProcess(['setup', 'verify'], { env: { DA_SERVER: server.url, DA_TOKEN: server.adminToken } });
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/verify failed: sync: /);
      expect(r.stdout).toContain('sales');
    } finally {
      await server.stop();
    }
  }, 60_000);
});
