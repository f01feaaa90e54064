import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { runCli } from '../../cli/run.ts';

const root = resolve(import.meta.dir, '..', '..');
/** The compiled CLI the tests run. */
export const DA_BIN = join(root, 'dist', 'da');
/** One DuckDB extraction cache for every test run, so each test HOME does not unpack 70 MB again. */
export const SHARED_CACHE = join(tmpdir(), 'da-test-native-cache');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function sourcesMtime(): number {
  return Math.max(
    newestMtime(join(root, 'cli')),
    statSync(join(root, 'scripts', 'build-cli.ts')).mtimeMs,
    statSync(join(root, 'src', 'version.ts')).mtimeMs,
    // `da server start` carries the whole server: src/, jobs/ and views/ are in the binary too.
    newestMtime(join(root, 'src')),
    newestMtime(join(root, 'jobs')),
    newestMtime(join(root, 'views')),
    statSync(join(root, 'package.json')).mtimeMs,
  );
}

let building: Promise<string> | undefined;

/**
 * Builds dist/da once per test run, and only when it is missing or older than its sources.
 * A lock file keeps parallel test processes from compiling at the same time.
 */
export function ensureCliBuilt(): Promise<string> {
  return (building ??= (async () => {
    const lock = join(root, 'dist', '.build.lock');
    mkdirSync(join(root, 'dist'), { recursive: true });
    for (let waited = 0; ; waited += 200) {
      const fresh = existsSync(DA_BIN) && statSync(DA_BIN).mtimeMs >= sourcesMtime();
      if (fresh) return DA_BIN;
      try {
        closeSync(openSync(lock, 'wx'));
      } catch {
        // Another process builds; a lock older than 2 minutes is a leftover.
        if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 120_000) rmSync(lock, { force: true });
        if (waited > 180_000) throw new Error('timed out waiting for another build of dist/da');
        await Bun.sleep(200);
        continue;
      }
      try {
        const proc = Bun.spawn(['bun', join(root, 'scripts', 'build-cli.ts')], { cwd: root, stdout: 'pipe', stderr: 'pipe' });
        const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
        if (code !== 0) throw new Error(`build:cli failed (${code}): ${err}`);
        return DA_BIN;
      } finally {
        rmSync(lock, { force: true });
      }
    }
  })());
}

/** What a `da` run gave back. */
export interface DaResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (throws when it is not exactly one JSON document). */
  json<T = any>(): T;
}

/** A sandbox to run the compiled `da` in: its own HOME, config dir and workspace. */
export interface DaSandbox {
  home: string;
  configDir: string;
  workspace: string;
  env: Record<string, string>;
  run(args: string[], opts?: { env?: Record<string, string>; cwd?: string; stdin?: string; timeoutMs?: number }): Promise<DaResult>;
  /**
   * The same command in this process through runCli, with captured streams: no binary
   * start-up, for tests where the compiled executable is not the point.
   */
  runInProcess(args: string[], opts?: { env?: Record<string, string>; cwd?: string; stdin?: string }): Promise<DaResult>;
  /** Starts `da` without waiting (e.g. to kill it mid-download). */
  spawn(args: string[], opts?: { env?: Record<string, string>; cwd?: string }): Bun.Subprocess<'ignore', 'pipe', 'pipe'>;
  cleanup(): void;
}

function result(code: number, stdout: string, stderr: string): DaResult {
  return {
    code,
    stdout,
    stderr,
    json() {
      try {
        return JSON.parse(stdout);
      } catch {
        throw new Error(`stdout is not one JSON document (exit ${code}):\n${stdout}\nstderr:\n${stderr}`);
      }
    },
  };
}

/** A writable stream that keeps what is written, and a function that returns it as text. */
function capture(): [Writable, () => string] {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  return [stream, () => Buffer.concat(chunks).toString('utf8')];
}

/** A fresh sandbox with a nearly empty environment (PATH without `da`, a temp HOME). */
export function createDaSandbox(extraEnv: Record<string, string> = {}): DaSandbox {
  const home = mkdtempSync(join(tmpdir(), 'da-cli-home-'));
  const configDir = join(home, 'config');
  const workspace = join(home, 'work');
  mkdirSync(workspace, { recursive: true });
  const env: Record<string, string> = {
    PATH: '/usr/bin:/bin',
    HOME: home,
    DA_CONFIG_DIR: configDir,
    DA_CACHE_DIR: SHARED_CACHE,
    ...extraEnv,
  };
  const spawn: DaSandbox['spawn'] = (args, opts = {}) =>
    Bun.spawn([DA_BIN, ...args], { cwd: opts.cwd ?? workspace, env: { ...env, ...opts.env }, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' });
  return {
    home,
    configDir,
    workspace,
    env,
    spawn,
    async run(args, opts = {}) {
      const proc = Bun.spawn([DA_BIN, ...args], {
        cwd: opts.cwd ?? workspace,
        env: { ...env, ...opts.env },
        stdin: opts.stdin !== undefined ? new TextEncoder().encode(opts.stdin) : 'ignore',
        stdout: 'pipe',
        stderr: 'pipe',
      });
      const timer = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
      const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
      clearTimeout(timer);
      return result(code, stdout, stderr);
    },
    async runInProcess(args, opts = {}) {
      const [stdout, readStdout] = capture();
      const [stderr, readStderr] = capture();
      const code = await runCli(args, {
        stdin: Readable.from(opts.stdin !== undefined ? [opts.stdin] : []),
        stdout, stderr,
        env: { ...env, ...opts.env },
        cwd: opts.cwd ?? workspace,
      });
      return result(code, readStdout(), readStderr());
    },
    cleanup() {
      rmSync(home, { recursive: true, force: true });
    },
  };
}
