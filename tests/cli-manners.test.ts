import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { runCli } from '../cli/run.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { createDaSandbox, DA_BIN, ensureCliBuilt, type DaSandbox } from './helpers/cli.ts';
import { putServerTable, setDatasetAccess } from './helpers/cli-data.ts';

let server: TestServer;
let analyst: { id: string; email: string; password: string; token: string };
const sandboxes: DaSandbox[] = [];
const sandbox = (env: Record<string, string> = {}) => {
  const s = createDaSandbox(env);
  sandboxes.push(s);
  return s;
};
const ESC = '\u001b[';

beforeAll(async () => {
  [server] = await Promise.all([startTestServer(), ensureCliBuilt()]);
  await putServerTable(server, 'sales', 'orders', 'SELECT i AS order_id, (i * 2.5)::DOUBLE AS amount FROM range(40) t(i)');
  await putServerTable(server, 'hr', 'employees', "SELECT i AS employee_id, 'emp ' || i AS name FROM range(7) t(i)");
  analyst = await server.createUser('analyst');
  await setDatasetAccess(server, analyst.id, 'sales', 'read');
  await setDatasetAccess(server, analyst.id, 'hr', 'read');
});

afterAll(async () => {
  for (const s of sandboxes) s.cleanup();
  await server?.stop().catch(() => {});
});

/** Runs `da` in-process with a stdout that says it is a terminal. */
async function runOnTerminal(args: string[], env: Record<string, string>): Promise<string> {
  const chunks: Buffer[] = [];
  const stdout = Object.assign(new Writable({ write: (c, _e, done) => (chunks.push(Buffer.from(c)), done()) }), { isTTY: true });
  const stderr = new Writable({ write: (_c, _e, done) => done() });
  await runCli(args, { stdin: Readable.from([]), stdout, stderr, env: { PATH: '/usr/bin:/bin', HOME: '/nonexistent', ...env }, cwd: process.cwd() });
  return Buffer.concat(chunks).toString('utf8');
}

describe('CLI manners', () => {
  test('usage shows readable placeholders, not clipanion #0', async () => {
    const da = sandbox();
    const r = await da.runInProcess(['query', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--server URL');
    expect(r.stdout).toContain('--limit N');
    expect(r.stdout).not.toContain('#0');
    expect((await da.runInProcess(['--help'])).stdout).not.toContain('#0');
  });

  test('da help COMMAND prints the same as da COMMAND --help', async () => {
    const da = sandbox();
    const a = await da.runInProcess(['help', 'sync']);
    const b = await da.runInProcess(['sync', '--help']);
    expect(a.code).toBe(0);
    expect(a.stdout).toContain('da sync');
    expect(a.stdout).toBe(b.stdout);
    expect((await da.runInProcess(['help', 'admin', 'grant'])).stdout).toBe((await da.runInProcess(['admin', 'grant', '--help'])).stdout);
    expect((await da.runInProcess(['help'])).stdout).toBe((await da.runInProcess(['--help'])).stdout);
  });

  test('a mistyped command gets a suggestion and exit 2; with --json one JSON document', async () => {
    const da = sandbox();
    const r = await da.runInProcess(['synk']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('da: unknown command "synk"; did you mean "da sync"? (see: da --help)\n');
    const sub = await da.runInProcess(['admin', 'grnt', 'x', 'y', '--json']);
    expect(sub.code).toBe(2);
    expect(sub.json().error).toEqual({ message: 'unknown command "admin grnt"; did you mean "da admin grant"?', exit_code: 2 });
    const help = await da.runInProcess(['help', 'qeury']);
    expect(help.code).toBe(2);
    expect(help.stderr).toContain('did you mean "da query"?');
    // A bad option is a usage error pointing at the command's help.
    const bad = await da.runInProcess(['query', '--limit']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('(see: da query --help)');
  });

  test('help is coloured on a terminal, and not under NO_COLOR or TERM=dumb', async () => {
    expect(await runOnTerminal(['sync', '--help'], {})).toContain(ESC);
    for (const env of [{ NO_COLOR: '1' }, { TERM: 'dumb' }] as Record<string, string>[]) {
      const out = await runOnTerminal(['sync', '--help'], env);
      expect(out).toContain('da sync');
      expect(out).not.toContain(ESC);
      expect(await runOnTerminal(['--help'], env)).not.toContain(ESC);
    }
  });

  test('da completion bash loads in bash and completes commands, subcommands and options (compiled binary)', async () => {
    const script = (words: string) => `source <("${DA_BIN}" completion bash) || exit 9
      COMP_WORDS=(${words}); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 )); _da_completion; echo "\${COMPREPLY[*]}"`;
    const run = async (words: string) => {
      const p = Bun.spawn(['bash', '-c', script(words)], { stdout: 'pipe', stderr: 'pipe', env: { PATH: '/usr/bin:/bin', HOME: '/tmp', DA_CACHE_DIR: '/tmp/da-test-native-cache' } });
      const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      expect(err).toBe('');
      expect(code).toBe(0);
      return out.trim().split(/\s+/);
    };
    expect(await run('da sy')).toEqual(['sync']);
    expect(await run('da admin gr')).toEqual(['grant']);
    expect(await run('da sync --ver')).toEqual(['--verbose', '--verify']);
    expect(await run("da completion ''")).toEqual(['bash', 'zsh', 'fish']);
    const da = sandbox();
    for (const shell of ['zsh', 'fish']) {
      const r = await da.runInProcess(['completion', shell]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('sync');
    }
    const bad = await da.runInProcess(['completion', 'tcsh']);
    expect(bad.code).toBe(2);
  });

  test('a network failure names the server and what to try, in our words', async () => {
    const da = sandbox({ DA_TOKEN: 'x' });
    // Port 9 (discard) on localhost: nothing listens, the connection is refused.
    const r = await da.runInProcess(['whoami', '--server', 'http://127.0.0.1:9', '--json']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('cannot reach http://127.0.0.1:9: the connection was refused');
    expect(r.stderr).toContain('da diagnose');
    expect(r.stderr).not.toMatch(/ECONNREFUSED|Unable to connect|fetch\(\)/);
    expect(r.json().error).toMatchObject({ reason: 'unreachable', exit_code: 1 });
  });
});

describe('a self-repairing workspace', () => {
  const count = async (da: DaSandbox, sql: string, cwd?: string) => {
    const r = await da.runInProcess(['query', '--json', sql], { cwd });
    if (r.code !== 0) throw new Error(r.stderr);
    return r.json().rows[0][0];
  };

  test('da sync rebuilds a dropped view although nothing was downloaded', async () => {
    const da = sandbox({ DA_SERVER: server.url, DA_TOKEN: analyst.token });
    expect((await da.runInProcess(['sync', '--json'])).code).toBe(0);
    expect(await count(da, 'SELECT count(*)::INTEGER FROM sales.orders')).toBe(40);
    expect((await da.runInProcess(['query', 'DROP VIEW sales.orders'])).code).toBe(0);
    const r = await da.runInProcess(['sync', '--json']);
    expect(r.code).toBe(0);
    const report = r.json();
    expect(report.bytes_downloaded).toBe(0);
    expect(report.views.rebuilt).toBe(true);
    expect(report.views.repaired).toContain('sales.orders: view missing');
    expect(await count(da, 'SELECT count(*)::INTEGER FROM sales.orders')).toBe(40);
    // All well now: the next sync changes nothing.
    expect((await da.runInProcess(['sync', '--json'])).json().views).toMatchObject({ rebuilt: false, repaired: [] });
    // --verify re-hashes the files and repairs a damaged one.
    const file = join(da.workspace, 'server', 'parquet', 'hr', 'employees.parquet');
    const bytes = readFileSync(file);
    bytes[bytes.length - 20] ^= 0xff;
    writeFileSync(file, bytes);
    const v = await da.runInProcess(['sync', '--verify', '--json']);
    expect(v.code).toBe(0);
    expect(v.json().tables.changed.map((c: { id: string }) => c.id)).toEqual(['hr.employees']);
    expect(await count(da, 'SELECT count(*)::INTEGER FROM employees')).toBe(7);
  });

  test('a moved workspace folder gets its views on the first command there', async () => {
    const da = sandbox({ DA_SERVER: server.url, DA_TOKEN: analyst.token });
    expect((await da.runInProcess(['sync', '--json'])).code).toBe(0);
    const moved = join(da.home, 'moved-work');
    renameSync(da.workspace, moved);
    const r = await da.runInProcess(['query', '--json', 'SELECT count(*)::INTEGER AS n FROM sales.orders'], { cwd: moved });
    expect(r.code).toBe(0);
    expect(r.json().rows[0][0]).toBe(40);
    expect(r.stderr).toContain('rebuilt the local views for this folder');
    const sql = await da.runInProcess(['query', '--json', "SELECT sql FROM duckdb_views() WHERE view_name = 'orders' AND schema_name = 'sales'"], { cwd: moved });
    expect(sql.json().rows[0][0]).toContain(join(moved, 'server', 'parquet'));
    // The sync state came along: explore knows the table, and the next sync downloads nothing.
    expect((await da.runInProcess(['explore', 'employees', '--json'], { cwd: moved })).json().rows).toBe(7);
    const s = await da.runInProcess(['sync', '--json'], { cwd: moved });
    expect(s.code).toBe(0);
    expect(s.json().bytes_downloaded).toBe(0);
    // Moved back and synced first: sync repairs the views itself.
    renameSync(moved, da.workspace);
    const back = await da.runInProcess(['sync', '--json']);
    expect(back.code).toBe(0);
    expect(await count(da, 'SELECT count(*)::INTEGER FROM hr.employees')).toBe(7);
  });
});

describe('da init never damages files', () => {
  test('offline, CLAUDE.md keeps its data section (no raw error in it) and da sync refreshes it later', async () => {
    const da = sandbox({ DA_SERVER: server.url, DA_TOKEN: analyst.token });
    expect((await da.runInProcess(['init', '--json'])).code).toBe(0);
    const online = readFileSync(join(da.workspace, 'CLAUDE.md'), 'utf8');
    expect(online).toContain('`sales.orders` (40 rows)');
    const section = online.slice(online.indexOf('<!-- da:data:start'), online.indexOf('<!-- da:data:end'));

    const off = await da.runInProcess(['init', '--json'], { env: { DA_SERVER: 'http://127.0.0.1:9' } });
    expect(off.code).toBe(0);
    expect(off.json()).toMatchObject({ data_section_kept: true });
    expect(off.stderr).toContain('kept the data section of CLAUDE.md');
    const after = readFileSync(join(da.workspace, 'CLAUDE.md'), 'utf8');
    expect(after).toContain(section);
    expect(after).not.toMatch(/not reachable|refused|cannot reach/);

    const signedOut = await da.runInProcess(['init'], { env: { DA_TOKEN: '' } });
    expect(signedOut.code).toBe(0);
    expect(readFileSync(join(da.workspace, 'CLAUDE.md'), 'utf8')).toContain(section);

    // A table the analyst gains later shows up in CLAUDE.md after da sync, without da init.
    await putServerTable(server, 'sales', 'returns', 'SELECT i AS return_id FROM range(3) t(i)');
    expect((await da.runInProcess(['sync', '--json'])).code).toBe(0);
    const synced = readFileSync(join(da.workspace, 'CLAUDE.md'), 'utf8');
    expect(synced).toContain('`sales.returns` (3 rows)');
    expect(synced).toContain('`sales.orders` (40 rows)');
    expect(synced.indexOf('# Data analysis workspace')).toBeGreaterThan(0);
  });

  test('the text matches reality: transcripts under ~/.claude/projects/, only folders that exist', async () => {
    const da = sandbox();
    expect((await da.runInProcess(['init'])).code).toBe(0);
    const text = readFileSync(join(da.workspace, 'CLAUDE.md'), 'utf8');
    expect(text).toContain('~/.claude/projects/');
    for (const m of text.matchAll(/`\.\/user\/([a-z]+)\/`/g)) expect(existsSync(join(da.workspace, 'user', m[1]!))).toBe(true);
  });

  test('hooks call the compiled da by its absolute path, start only on startup|resume, and da may run without asking', async () => {
    const da = sandbox();
    const dir = join(da.workspace, 'proj');
    mkdirSync(join(dir, '.claude'), { recursive: true });
    // A hook from an earlier da init (da from PATH, no matcher) is updated, not duplicated.
    writeFileSync(join(dir, '.claude', 'settings.json'), JSON.stringify({
      permissions: { allow: ['Bash(ls)'] },
      hooks: { SessionStart: [{ hooks: [{ type: 'command', command: 'da sync --quiet', timeout: 600 }] }], PreToolUse: [{ matcher: 'Bash', hooks: [{ type: 'command', command: 'echo hi' }] }] },
    }));
    const r = await da.run(['init', 'proj', '--json']);
    expect(r.code).toBe(0);
    expect(r.json().da_command).toBe(DA_BIN);
    const settings = JSON.parse(readFileSync(join(dir, '.claude', 'settings.json'), 'utf8'));
    expect(settings.hooks.SessionStart).toEqual([{ matcher: 'startup|resume', hooks: [{ type: 'command', command: `${DA_BIN} sync --quiet`, timeout: 600 }] }]);
    expect(settings.hooks.SessionEnd[0].hooks[0].command).toBe(`${DA_BIN} sync --upload-only --quiet`);
    expect(settings.hooks.PreToolUse).toEqual([{ matcher: 'Bash', hooks: [{ type: 'command', command: 'echo hi' }] }]);
    expect(settings.permissions.allow).toEqual(['Bash(ls)', 'Bash(da:*)', `Bash(${DA_BIN}:*)`]);
    // Run again: nothing to add.
    expect((await da.run(['init', 'proj', '--json'])).json().kept).toContain('.claude/settings.json');
  });
});
