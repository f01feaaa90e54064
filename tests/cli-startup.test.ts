import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readdirSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { CommandClass } from 'clipanion';
import { COMMAND_TABLE, loadAllCommands } from '../cli/commands/index.ts';
import { commandsFor, createCli } from '../cli/run.ts';
import { staticAnswer } from '../cli/overview.ts';
import { staticHelp } from '../scripts/build-cli.ts';
import type { DaContext } from '../cli/base.ts';
import { createDaSandbox, ensureCliBuilt, type DaSandbox } from './helpers/cli.ts';
import { putServerTable, setDatasetAccess } from './helpers/cli-data.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';

let da: DaSandbox;
let server: TestServer;
let analystToken: string;
beforeAll(async () => {
  [server] = await Promise.all([startTestServer(), ensureCliBuilt()]);
  await putServerTable(server, 'sales', 'orders', 'SELECT i AS order_id, (i * 2.5)::DOUBLE AS amount FROM range(40) t(i)');
  const analyst = await server.createUser('analyst');
  await setDatasetAccess(server, analyst.id, 'sales', 'read');
  analystToken = analyst.token;
  da = createDaSandbox();
});
afterAll(async () => {
  da?.cleanup();
  await server?.stop();
});

/** Runs `args` through a Cli holding `commands`, with captured output. */
async function runWith(commands: CommandClass<DaContext>[], args: string[]): Promise<{ code: number; out: string; command?: string }> {
  const chunks: string[] = [];
  const sink = new Writable({ write(chunk, _e, done) { chunks.push(String(chunk)); done(); } });
  const cli = createCli(false, commands);
  const context = { stdin: process.stdin, stdout: sink, stderr: sink, env: {}, cwd: '/nonexistent', colorDepth: 1 } as unknown as DaContext;
  let command: string | undefined;
  try {
    command = (cli.process(args, context).constructor as { name: string }).name;
  } catch (err) {
    return { code: 2, out: String((err as Error).message) };
  }
  // Only what needs no server or workspace is executed: help output.
  const code = args.includes('--help') || args.includes('-h') ? await cli.run(args, context) : 0;
  return { code, out: chunks.join(''), command };
}

describe('commands load lazily', () => {
  test('the table names every command with the paths its class declares', async () => {
    for (const entry of COMMAND_TABLE) {
      const klass = await entry.load();
      expect(klass.paths, klass.name).toEqual(entry.paths);
    }
    const names = (await loadAllCommands()).map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
  });

  test('a command line picks the same command, help and errors with only its commands loaded as with all', async () => {
    const all = await loadAllCommands();
    const lines = [
      ['sync'], ['sync', '--json'], ['sync', '--help'], ['sync', '--bogus'], ['sync', 'extra'],
      ['query', 'SELECT 1'], ['query'], ['query', '--help'], ['query', '--format', 'csv', 'SELECT 1'],
      ['status', '--local'], ['skills'], ['skills', 'list'], ['skills', 'show', 'sync'], ['skills', 'show'], ['skills', '--help'],
      ['memory', 'search', 'vat', '--offline'], ['memory', 'search'], ['memory', 'search', '--help'],
      ['admin', 'grant', '--help'], ['server', 'status', '--help'], ['server', 'start', '--help'], ['notifications', '--help'],
    ];
    for (const args of lines) {
      const lazy = await commandsFor(args);
      expect(lazy.length, args.join(' ')).toBeLessThan(3);
      expect(await runWith(lazy, args), args.join(' ')).toEqual(await runWith(all, args));
    }
  });

  test('a command line that names no command loads every command', async () => {
    for (const args of [[], ['memory'], ['memory', '--help'], ['completion', 'bash'], ['--version']]) {
      expect((await commandsFor(args)).length, args.join(' ')).toBe(COMMAND_TABLE.length);
    }
  });
});

describe('help without loading the commands', () => {
  test('the binary prints the same overview and version as the full CLI', async () => {
    const inProcess = await da.runInProcess(['--help']);
    expect(inProcess.code).toBe(0);
    for (const args of [['--help'], ['-h'], [], ['help']]) {
      const r = await da.run(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout, args.join(' ')).toBe(inProcess.stdout);
    }
    const colored = await da.run(['--help'], { env: { FORCE_COLOR: '1' } });
    expect(colored.stdout).toBe((await da.runInProcess(['--help'], { env: { FORCE_COLOR: '1' } })).stdout);
    expect(colored.stdout).not.toBe(inProcess.stdout);
    const version = await da.run(['--version']);
    expect(version.stdout).toBe((await da.runInProcess(['--version'])).stdout);
    // A command's own help still comes from its class.
    const syncHelp = await da.run(['sync', '--help']);
    expect(syncHelp.code).toBe(0);
    expect(syncHelp.stdout).toBe((await da.runInProcess(['sync', '--help'])).stdout);
    expect(syncHelp.stdout).toContain('da sync');
  });

  test('the static answer covers only the overview and the version, with colours as the CLI chooses them', async () => {
    const help = await staticHelp();
    expect(staticAnswer(['--help'], { NO_COLOR: '1' }, help)).toBe(help.plain);
    expect(staticAnswer(['-h'], { FORCE_COLOR: '1' }, help)).toBe(help.color);
    expect(staticAnswer([], { TERM: 'dumb' }, help)).toBe(help.plain);
    expect(staticAnswer(['-v'], {}, help)).toBe(`${help.version}\n`);
    expect(staticAnswer(['sync', '--help'], { NO_COLOR: '1' }, help)).toBeUndefined();
    expect(staticAnswer(['--help', '--json'], { NO_COLOR: '1' }, help)).toBeUndefined();
    expect(staticAnswer(['sync'], { NO_COLOR: '1' }, help)).toBeUndefined();
    // From source nothing is defined: the CLI answers itself.
    expect(staticAnswer(['--help'], { NO_COLOR: '1' })).toBeUndefined();
  });
});

describe('a sync with nothing to do', () => {
  test('writes the state once, compact, and opens the database only when something wrote to it', async () => {
    const ws = createDaSandbox({ DA_SERVER: server.url, DA_TOKEN: analystToken });
    try {
      expect((await ws.runInProcess(['sync', '--json'])).code).toBe(0);
      const dir = join(ws.configDir, 'sync-state');
      const file = join(dir, readdirSync(dir)[0]!);
      const text = readFileSync(file, 'utf8');
      expect(text).not.toContain('\n ');
      const db = join(ws.workspace, 'user', 'duckdb', 'analytics.duckdb');
      const stamp = () => ({ size: statSync(db).size, mtime_ms: statSync(db).mtimeMs });
      expect(JSON.parse(text).views_db).toEqual(stamp());

      const noop = (await ws.runInProcess(['sync', '--json'])).json();
      expect(noop.manifest).toBe('unchanged');
      expect(noop.views).toMatchObject({ rebuilt: false, repaired: [] });

      // The view is dropped; with the file's size and mtime put back, the stamp says nobody
      // wrote to it, and the sync trusts it (no DuckDB opened)…
      const before = stamp();
      expect((await ws.runInProcess(['query', 'DROP VIEW sales.orders'])).code).toBe(0);
      // (DuckDB grows its file by blocks: dropping a view leaves the size as it was)
      expect(statSync(db).size).toBe(before.size);
      // (in seconds: a Date would drop the sub-millisecond part of the mtime)
      utimesSync(db, before.mtime_ms / 1000, before.mtime_ms / 1000);
      expect((await ws.runInProcess(['sync', '--json'])).json().views.repaired).toEqual([]);
      // …while any write since (here a touch) makes it check the views and repair them.
      utimesSync(db, before.mtime_ms / 1000 + 5, before.mtime_ms / 1000 + 5);
      const repaired = (await ws.runInProcess(['sync', '--json'])).json();
      expect(repaired.views.repaired).toContain('sales.orders: view missing');
      expect(repaired.views.rebuilt).toBe(true);
      expect((await ws.runInProcess(['query', '--json', 'SELECT count(*)::INTEGER AS n FROM sales.orders'])).json().rows[0][0]).toBe(40);
    } finally {
      ws.cleanup();
    }
  });
});
