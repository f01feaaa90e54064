import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startTestServer, type TestServer } from './helpers/server.ts';
import { testYaml } from './helpers/data.ts';
import { createDaSandbox, DA_BIN, ensureCliBuilt, type DaSandbox } from './helpers/cli.ts';
import { putServerTable } from './helpers/cli-data.ts';
import { createCli } from '../cli/run.ts';
import { loadAllCommands } from '../cli/commands/index.ts';

let server: TestServer;
let admin: DaSandbox;

beforeAll(async () => {
  [server] = await Promise.all([startTestServer({}, { yaml: testYaml(`sources:\n  sales: { type: local, path: ${join(import.meta.dir, '..', 'fixtures', 'data', 'sales')}, public: true }\n`) }), ensureCliBuilt()]);
  // sales.orders with the columns the skills' examples use.
  await putServerTable(server, 'sales', 'orders', 'SELECT i AS order_id, i % 7 AS customer_id, (i * 2.5)::DOUBLE AS amount FROM range(30) t(i)');
  admin = createDaSandbox();
  const r = await admin.runInProcess(['login', '--server', server.url, '--email', ADMIN_EMAIL, '--password', ADMIN_PASSWORD]);
  if (r.code !== 0) throw new Error(r.stderr);
});
afterAll(async () => {
  admin?.cleanup();
  await server?.stop();
});

/** Splits a shell command line into words (single and double quotes, no expansion). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const m of line.matchAll(re)) words.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? m[3]!));
  return words;
}

/** Every `da …` command a skill shows, in code blocks or inline code. */
function skillCommands(): { skill: string; line: string }[] {
  const dir = join(import.meta.dir, '..', 'cli', 'skills');
  const out: { skill: string; line: string }[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.md'))) {
    const md = readFileSync(join(dir, file), 'utf8');
    let inBlock = false;
    for (const raw of md.split('\n')) {
      const line = raw.trim();
      if (line.startsWith('```')) {
        inBlock = !inBlock;
        continue;
      }
      if (inBlock) {
        const at = line.startsWith('da ') ? 0 : line.indexOf('| da ') >= 0 ? line.indexOf('| da ') + 2 : -1;
        if (at >= 0) out.push({ skill: file, line: line.slice(at) });
      } else {
        for (const m of line.matchAll(/`(da [^`]+)`/g)) out.push({ skill: file, line: m[1]! });
      }
    }
  }
  return out;
}

describe('skills', () => {
  test('every da command a skill shows parses, and its command exists in the binary', async () => {
    const commands = skillCommands();
    expect(commands.length).toBeGreaterThan(30);
    const cli = createCli(false, await loadAllCommands());
    const paths = new Set<string>();
    for (const { skill, line } of commands) {
      const words = shellWords(line).slice(1);
      let cmd;
      try {
        cmd = cli.process(words, { cwd: process.cwd() });
      } catch (err) {
        throw new Error(`${skill}: \`${line}\` does not parse: ${(err as Error).message.split('\n')[0]}`);
      }
      paths.add((cmd.path ?? []).join(' '));
    }
    for (const p of paths) {
      const r = await admin.runInProcess([...(p ? p.split(' ') : []), '--help']);
      expect(r.code, `da ${p} --help`).toBe(0);
    }
  });

  test('every command the skills show runs successfully against a real server', async () => {
    await server.createUser('analyst', { email: 'ana@example.com' });
    // The analyst's own table that the backup skill exports (the query skill shows how it is made).
    await admin.run(['sync']);
    const own = await admin.run(['query', 'CREATE OR REPLACE TABLE my_top_customers AS SELECT 1 AS customer_id, 2.5 AS total']);
    expect(own.code, own.stderr).toBe(0);
    const skipped = new Set(['login', 'logout']);
    // Each distinct command once: the skills mention `da sync` and friends many times.
    const runs = [...new Set(skillCommands().map(({ line }) => line))]
      .map((line) => shellWords(line.replaceAll('https://da.example.com', server.url)).slice(1))
      // placeholders (EMAIL ROLE) are for the reader; the parse test above covers those lines
      .filter((w) => !skipped.has(w[0]!) && !w.some((x) => /^[A-Z][A-Z_]+$/.test(x)));
    for (const words of runs) {
      // The compiled binary: DuckDB resolves relative paths (COPY … TO 'x.parquet') against the process's cwd.
      const r = await admin.run(words, { stdin: words[0] === 'query' && words.length === 2 ? 'SELECT 42 AS answer' : undefined, timeoutMs: 20_000 });
      expect(r.code, `da ${words.join(' ')}: ${r.stderr}`).toBe(0);
    }
  }, 60_000);

  test('skills list and show work; an unknown skill lists the available ones', async () => {
    const list = (await admin.runInProcess(['skills', 'list', '--json'])).json();
    expect(list.items.map((s: { name: string }) => s.name).sort()).toEqual(
      ['backup-restore', 'connectors', 'corporate-memory', 'notifications', 'query', 'security', 'setup', 'sync', 'troubleshoot', 'upgrade'],
    );
    const show = (await admin.runInProcess(['skills', 'show', 'query', '--json'])).json();
    expect(show.markdown).toContain('da query');
    const bad = await admin.runInProcess(['skills', 'show', 'nope']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('available: setup');
  });
});

describe('da admin', () => {
  test('adds, lists, re-roles, grants, revokes and removes a user', async () => {
    const add = await admin.runInProcess(['admin', 'add-user', 'newbie@example.com', '--role', 'viewer', '--json']);
    expect(add.code).toBe(0);
    expect(add.json()).toMatchObject({ email: 'newbie@example.com', role: 'viewer' });
    expect(add.json().setup_token).toBeString();
    expect(add.json().setup_url).toBe(`${server.url}/set-password?token=${add.json().setup_token}`);
    const list = (await admin.runInProcess(['admin', 'list-users', '--json'])).json();
    expect(list.items.map((u: { email: string }) => u.email)).toContain('newbie@example.com');
    expect((await admin.runInProcess(['admin', 'set-role', 'newbie@example.com', 'analyst', '--json'])).json().role).toBe('analyst');
    expect((await admin.runInProcess(['admin', 'grant', 'newbie@example.com', 'hr', '--json'])).json().access).toBe('read');
    const id = add.json().id;
    const perms = await (await server.fetch(`/api/users/${id}/permissions`, { token: server.adminToken })).json();
    expect(perms.items).toEqual([expect.objectContaining({ dataset: 'hr', access: 'read' })]);
    expect((await admin.runInProcess(['admin', 'revoke', 'newbie@example.com', 'hr'])).code).toBe(0);
    expect((await (await server.fetch(`/api/users/${id}/permissions`, { token: server.adminToken })).json()).items).toEqual([]);
    expect((await admin.runInProcess(['admin', 'remove-user', 'newbie@example.com'])).code).toBe(0);
    const all = (await admin.runInProcess(['admin', 'list-users', '--all', '--json'])).json();
    expect(all.items.find((u: { email: string }) => u.email === 'newbie@example.com').active).toBe(false);
  });

  test('lists registered tables; a bad role is a usage error; an analyst is refused with 403', async () => {
    const tables = (await admin.runInProcess(['admin', 'list-tables', '--json'])).json();
    expect(tables.items.map((t: { id: string }) => t.id)).toContain('sales.orders');
    const bad = await admin.runInProcess(['admin', 'set-role', ADMIN_EMAIL, 'god']);
    expect(bad.code).toBe(2);
    const analyst = await server.createUser('analyst');
    const r = await admin.runInProcess(['admin', 'list-users'], { env: { DA_TOKEN: analyst.token } });
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith('da: 403');
  });
});

describe('da diagnose and da init', () => {
  test('diagnose reports each check with a status and a fix', async () => {
    const fresh = createDaSandbox({ DA_SERVER: server.url, DA_TOKEN: server.adminToken });
    const r = await fresh.runInProcess(['diagnose', '--json']);
    fresh.cleanup();
    const report = r.json();
    const byName = Object.fromEntries(report.checks.map((c: { component: string; name: string; status: string }) => [`${c.component}/${c.name}`, c]));
    expect(byName['server/health'].status).toBe('ok');
    expect(byName['auth/token'].status).toBe('ok');
    expect(byName['clock/skew'].status).toBe('ok');
    expect(byName['disk/free_space']).toBeDefined();
    expect(byName['local_db/database'].status).toBe('warn');
    expect(byName['local_db/database'].fix).toContain('da sync');

    const loggedOut = createDaSandbox();
    try {
      const s = await loggedOut.runInProcess(['diagnose', '--symptom', '401 unauthorized', '--json'], { env: { DA_SERVER: server.url } });
      expect(s.code).toBe(1);
      const checks = s.json().checks as { component: string; status: string; fix: string }[];
      expect(checks.every((c) => ['auth', 'clock', 'config'].includes(c.component))).toBe(true);
      expect(checks.find((c) => c.component === 'auth')).toMatchObject({ status: 'fail', fix: 'da login' });
    } finally {
      loggedOut.cleanup();
    }
  });

  test('init writes CLAUDE.md with the data and rules, hooks, the MCP server beside others in .mcp.json, folders, and never overwrites CLAUDE.local.md', async () => {
    mkdirSync(join(server.dataDir, 'docs', 'rules'), { recursive: true });
    writeFileSync(join(server.dataDir, 'docs', 'rules', 'revenue.md'), 'Revenue is always net of discounts.\n');
    // The server rescans its documents at most once a second: wait until the manifest offers the rule.
    for (let tries = 0; ; tries++) {
      const manifest = (await (await server.fetch('/api/sync/manifest', { token: server.adminToken })).json()) as { assets: object };
      if (Object.keys(manifest.assets).some((p) => p.endsWith('rules/revenue.md'))) break;
      if (tries > 50) throw new Error('the manifest never offered docs/rules/revenue.md');
      await Bun.sleep(50);
    }
    const dir = join(admin.workspace, 'analysis');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'CLAUDE.local.md'), 'my precious notes');
    mkdirSync(join(dir, '.claude'), { recursive: true });
    writeFileSync(join(dir, '.claude', 'settings.json'), JSON.stringify({ permissions: { allow: ['Bash(ls)'] } }));
    const github = { command: 'npx', args: ['github-mcp'], env: { TOKEN: '${GH_TOKEN}' } };
    writeFileSync(join(dir, '.mcp.json'), JSON.stringify({ mcpServers: { github } }));

    const r = await admin.runInProcess(['init', 'analysis', '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ written: ['CLAUDE.md', '.claude/settings.json', '.mcp.json'], kept: ['CLAUDE.local.md'], rules: ['docs/rules/revenue.md'] });
    // The da MCP server is registered beside the servers that were there.
    expect(JSON.parse(readFileSync(join(dir, '.mcp.json'), 'utf8'))).toEqual({ mcpServers: { github, da: { type: 'stdio', command: 'da', args: ['mcp'] } } });
    const claude = readFileSync(join(dir, 'CLAUDE.md'), 'utf8');
    expect(claude).toContain('`sales.orders` (30 rows)');
    expect(claude).toContain('Revenue is always net of discounts.');
    expect(readFileSync(join(dir, 'CLAUDE.local.md'), 'utf8')).toBe('my precious notes');
    const settings = JSON.parse(readFileSync(join(dir, '.claude', 'settings.json'), 'utf8'));
    // In-process (not the compiled da) the hooks call `da` from PATH; the agent may run da without asking.
    expect(settings.permissions.allow).toEqual(['Bash(ls)', 'Bash(da:*)']);
    expect(settings.hooks.SessionStart[0].matcher).toBe('startup|resume');
    expect(settings.hooks.SessionStart[0].hooks[0].command).toBe('da sync --quiet');
    expect(settings.hooks.SessionEnd[0].matcher).toBeUndefined();
    expect(settings.hooks.SessionEnd[0].hooks[0].command).toBe('da sync --upload-only --quiet');
    expect(existsSync(join(dir, 'user', 'sessions'))).toBe(true);

    const again = (await admin.runInProcess(['init', 'analysis', '--json'])).json();
    expect(again.kept).toEqual(['.claude/settings.json', '.mcp.json', 'CLAUDE.local.md']);
    expect(JSON.parse(readFileSync(join(dir, '.claude', 'settings.json'), 'utf8')).hooks.SessionStart).toHaveLength(1);
    expect(Object.keys(JSON.parse(readFileSync(join(dir, '.mcp.json'), 'utf8')).mcpServers)).toEqual(['github', 'da']);

    writeFileSync(join(dir, 'CLAUDE.md'), 'hand written');
    expect((await admin.runInProcess(['init', 'analysis', '--json'])).json().kept).toContain('CLAUDE.md');
    expect(readFileSync(join(dir, 'CLAUDE.md'), 'utf8')).toBe('hand written');

    // An .mcp.json that is not JSON is not overwritten: one line says what to fix.
    writeFileSync(join(dir, '.mcp.json'), '{ "mcpServers": ');
    const broken = await admin.runInProcess(['init', 'analysis']);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('.mcp.json is not valid JSON; fix it and run da init again');
    expect(readFileSync(join(dir, '.mcp.json'), 'utf8')).toBe('{ "mcpServers": ');
  });
});

describe('getting da from the server', () => {
  test('GET /cli/da streams the binary with its sha256 as ETag; If-None-Match gives 304', async () => {
    const sha = new Bun.CryptoHasher('sha256').update(readFileSync(DA_BIN)).digest('hex');
    const head = await fetch(`${server.url}/cli/da.sha256`);
    expect(await head.text()).toBe(`${sha}  da\n`);
    const res = await fetch(`${server.url}/cli/da`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-content-sha256')).toBe(sha);
    expect(res.headers.get('etag')).toBe(`"${sha}"`);
    await res.body?.cancel();
    expect((await fetch(`${server.url}/cli/da`, { headers: { 'if-none-match': `"${sha}"` } })).status).toBe(304);
    const headOnly = await fetch(`${server.url}/cli/da`, { method: 'HEAD' });
    expect(headOnly.headers.get('content-length')).toBe(String(statSync(DA_BIN).size));
    expect(headOnly.headers.get('etag')).toBe(`"${sha}"`);
    const missing = await fetch(`${server.url}/cli/da-plan9-mips`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
    expect((await fetch(`${server.url}/cli/..%2Fpackage.json`)).status).toBe(404);
  });

  test('the install one-liner downloads, verifies and installs da', async () => {
    const sb = createDaSandbox();
    try {
      const proc = Bun.spawn(['sh', '-c', `curl -fsSL ${server.url}/cli/install.sh | sh`], {
        env: { PATH: '/usr/bin:/bin', HOME: sb.home },
        stdout: 'pipe',
        stderr: 'pipe',
      });
      const [err, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
      expect(code, err).toBe(0);
      const installed = join(sb.home, '.local', 'bin', 'da');
      expect(readFileSync(installed).equals(readFileSync(DA_BIN))).toBe(true);
      const v = Bun.spawnSync([installed, '--version'], { env: { PATH: '/nonexistent', HOME: sb.home } });
      expect(v.exitCode).toBe(0);
    } finally {
      sb.cleanup();
    }
  });
});

describe('upload routes', () => {
  test('refuse bad names, oversize bodies, viewers and anonymous callers', async () => {
    const analyst = await server.createUser('analyst');
    const viewer = await server.createUser('viewer');
    const post = (path: string, token: string | undefined, body: BodyInit) =>
      fetch(`${server.url}${path}`, { method: 'POST', body, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/octet-stream' } });
    expect((await post('/api/upload/sessions?name=a.jsonl', undefined, 'x')).status).toBe(401);
    expect((await post('/api/upload/sessions?name=a.jsonl', viewer.token, 'x')).status).toBe(403);
    for (const name of ['../escape.jsonl', 'a/../../b.jsonl', '/abs.jsonl', 'notes.txt', '.hidden.jsonl']) {
      const r = await post(`/api/upload/sessions?name=${encodeURIComponent(name)}`, analyst.token, 'x');
      expect(r.status, name).toBe(422);
    }
    const big = await post('/api/upload/local-md', analyst.token, new Uint8Array(1024 * 1024 + 1));
    expect(big.status).toBe(413);
    expect(existsSync(join(server.dataDir, 'uploads', analyst.id, 'CLAUDE.local.md'))).toBe(false);
    const binary = await post('/api/upload/local-md', analyst.token, new Uint8Array([0xff, 0xfe, 0x00]));
    expect(binary.status).toBe(422);
    const ok = await post('/api/upload/sessions?name=p%2Fs.jsonl', analyst.token, '{}\n');
    expect(ok.status).toBe(201);
    expect((await ok.json()).size_bytes).toBe(3);
  });
});
