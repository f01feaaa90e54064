import { chmodSync, chownSync, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isCompiledBinary, SCRIPT_SQL_ARG } from '../ops/binary.ts';
import { embeddedDuckDBDir } from '../../cli/duckdb-embedded.ts';
import { basename, dirname, join } from 'node:path';
import type { ReadableFile } from '../sync/catalog.ts';
import type { RunArtifact, RunStatus, ScriptLanguage } from '../repositories/scripts.ts';
import { runSandboxed, type SandboxLimits, type SandboxMount, type SandboxResult } from './sandbox.ts';

/** Where things are inside the sandbox. */
export const SANDBOX_DATA = '/data';
export const SANDBOX_OUT = '/work/out';
const SCRIPT_DIR = '/script';
const RUNTIME_DIR = '/opt/da';

/** A language's program: how the sandbox starts a script, or why it cannot here. */
interface LanguageRuntime {
  command(file: string): string[];
  mounts: SandboxMount[];
  extension: string;
  env?: Record<string, string>;
}

const SYSTEM_PATH = '/usr/local/bin:/usr/bin:/bin';

/** True when this process is Bun itself (not a compiled executable with Bun inside). */
function isBun(path: string): boolean {
  return /^bun(\.exe)?$/.test(basename(path));
}

/** The Bun binary scripts run with: this process's when it is Bun, else `bun` on the system path. */
export function bunBinary(): string | null {
  const candidates = [process.execPath, Bun.which('bun', { PATH: SYSTEM_PATH })];
  for (const c of candidates) {
    if (!c) continue;
    try {
      const real = realpathSync(c);
      if (isBun(c) || isBun(real)) return real;
    } catch {}
  }
  return null;
}

/** python3 from the system (under /usr), never a per-user install the sandbox cannot see. */
export function pythonBinary(): string | null {
  for (const p of ['/usr/bin/python3', '/usr/local/bin/python3']) {
    try {
      const real = realpathSync(p);
      if (real.startsWith('/usr/')) return real;
    } catch {}
  }
  return null;
}

/** `@duckdb` of the node_modules the server runs with, which the SQL runner imports. */
function duckdbModules(): string | null {
  try {
    const entry = Bun.resolveSync('@duckdb/node-api', import.meta.dir);
    let dir = dirname(entry);
    while (basename(dir) !== '@duckdb' && dir !== '/') dir = dirname(dir);
    return dir === '/' ? null : realpathSync(dir);
  } catch {
    return null;
  }
}

/** A bind of the binary at its own path, unless /usr already holds it. */
function binaryMount(path: string): SandboxMount[] {
  return path.startsWith('/usr/') ? [] : [{ source: path, target: path }];
}

/** The runtime of each language on this host, or the reason it is missing. */
/**
 * A copy of the compiled server's DuckDB library that the sandbox's user may read: the
 * server's own cache folder is private to it (mode 0700). Made once per DuckDB build under
 * `root` (mode 0755, the same marker files, so the loader in the sandbox finds it complete).
 */
function sharedDuckDB(native: string, root: string): string {
  const target = join(root, basename(native));
  const names = readdirSync(native).filter((n) => !n.endsWith('.tmp'));
  const same = (n: string) => {
    try {
      return statSync(join(target, n)).size === statSync(join(native, n)).size;
    } catch {
      return false;
    }
  };
  if (names.every(same)) return target;
  mkdirSync(root, { recursive: true, mode: 0o755 });
  const tmp = `${target}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { mode: 0o755 });
  for (const n of names) {
    copyFileSync(join(native, n), join(tmp, n));
    chmodSync(join(tmp, n), 0o755);
  }
  rmSync(target, { recursive: true, force: true });
  renameSync(tmp, target);
  return target;
}

export function languageRuntime(language: ScriptLanguage, runtimeRoot?: string): LanguageRuntime | string {
  if (language === 'python') {
    const py = pythonBinary();
    if (!py) return 'python scripts need python3 under /usr on the server, and there is none';
    return { extension: 'py', mounts: [], command: (f) => [py, '-I', '-B', f], env: { PYTHONDONTWRITEBYTECODE: '1' } };
  }
  if (language === 'sql' && isCompiledBinary()) {
    // The compiled `da` runs the SQL runner itself (`da __script-sql`), with its embedded DuckDB.
    const native = embeddedDuckDBDir();
    if (!native || !runtimeRoot) return 'sql scripts need the DuckDB library this server loads, and it is not loaded yet';
    const shared = sharedDuckDB(native, runtimeRoot);
    return {
      extension: 'sql',
      mounts: [
        { source: process.execPath, target: `${RUNTIME_DIR}/da` },
        { source: shared, target: `${RUNTIME_DIR}/cache/${basename(shared)}` },
      ],
      command: (f) => [`${RUNTIME_DIR}/da`, SCRIPT_SQL_ARG, f],
      env: { DA_CACHE_DIR: `${RUNTIME_DIR}/cache` },
    };
  }
  if (language !== 'sql' && isCompiledBinary()) {
    // The compiled `da` carries Bun: with BUN_BE_BUN=1 it runs a script as `bun` would. It is
    // bound at a fixed place: its own path may lie under a folder the sandbox mounts over (/work).
    return {
      extension: language === 'typescript' ? 'ts' : 'js',
      mounts: [{ source: process.execPath, target: `${RUNTIME_DIR}/da` }],
      command: (f) => [`${RUNTIME_DIR}/da`, '--no-install', f],
      env: { BUN_BE_BUN: '1' },
    };
  }
  const bun = bunBinary();
  if (!bun) return `${language} scripts need the Bun runtime on the server, and there is none`;
  if (language === 'sql') {
    const runner = join(import.meta.dir, 'sql-runner.ts');
    const duckdb = duckdbModules();
    if (!duckdb || !existsSync(runner)) return 'sql scripts need the server run from its sources (bun src/server.ts): the SQL runner is not on disk';
    return {
      extension: 'sql',
      mounts: [
        ...binaryMount(bun),
        { source: runner, target: `${RUNTIME_DIR}/sql-runner.ts` },
        { source: duckdb, target: `${RUNTIME_DIR}/node_modules/@duckdb` },
      ],
      command: (f) => [bun, '--no-install', `${RUNTIME_DIR}/sql-runner.ts`, f],
    };
  }
  return {
    extension: language === 'typescript' ? 'ts' : 'js',
    mounts: binaryMount(bun),
    command: (f) => [bun, '--no-install', f],
  };
}

/** How a run ended, as recorded. */
export interface RunResult {
  status: Exclude<RunStatus, 'queued' | 'running'>;
  exit_code: number | null;
  reason: string | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  duration_ms: number;
  artifacts: RunArtifact[];
}

/** Per run: `<runsDir>/<runId>/out/` keeps the artifacts; `work/` and `src/` go when it ends. */
export function runDir(runsDir: string, runId: string): string {
  return join(runsDir, runId);
}

export function artifactsDir(runsDir: string, runId: string): string {
  return join(runDir(runsDir, runId), 'out');
}

/** Names of artifacts a download may ask for: one plain file name. */
export const ARTIFACT_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/;

/** The regular files a run left in $DA_OUT (links, dirs and odd names are not artifacts). */
export function listArtifacts(dir: string): RunArtifact[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  const out: RunArtifact[] = [];
  for (const name of names) {
    if (!ARTIFACT_NAME.test(name)) continue;
    const st = lstatSync(join(dir, name));
    if (st.isFile()) out.push({ name, size_bytes: st.size });
  }
  return out;
}

/** The sandbox's reason, with the limit a failed program ran into when its errors say which. */
function reasonOf(r: SandboxResult, limits: SandboxLimits): string | null {
  if (r.outcome !== 'exited' || r.exitCode === 0) return r.reason;
  if (/EFBIG|File too large/i.test(r.stderr)) return `${r.reason}: a file reached the ${limits.maxFileMb} MB file size limit`;
  if (/EAGAIN|Resource temporarily unavailable/i.test(r.stderr)) return `${r.reason}: the limit of ${limits.maxProcesses} processes was reached`;
  if (/out of memory|MemoryError/i.test(r.stderr)) return `${r.reason}: out of memory (limit ${limits.memoryMb} MB)`;
  return r.reason;
}

function statusOf(r: SandboxResult): RunResult['status'] {
  if (r.outcome === 'timed_out') return 'timed_out';
  if (r.outcome === 'out_of_memory' || r.outcome === 'killed') return 'killed';
  return r.exitCode === 0 ? 'succeeded' : 'failed';
}

/**
 * Runs one script in the sandbox: its source read-only at /script, the given Parquet
 * files read-only at `$DA_DATA/<dataset>/<table>.parquet`, a fresh work dir with
 * `$DA_OUT`. Returns how it ended; the artifacts stay in `artifactsDir(runsDir, runId)`.
 * Throws SandboxUnavailableError where bubblewrap is missing.
 */
export async function runScript(opts: {
  runsDir: string;
  runId: string;
  language: ScriptLanguage;
  source: string;
  files: ReadableFile[];
  limits: SandboxLimits;
  /** Path of bubblewrap (default: `bwrap` on the system path). */
  bwrap?: string;
}): Promise<RunResult> {
  const { runsDir, runId, language, source, files, limits, bwrap } = opts;
  const runtime = languageRuntime(language, join(runsDir, '..', 'runtime'));
  const dir = runDir(runsDir, runId);
  const [src, work, out] = [join(dir, 'src'), join(dir, 'work'), join(dir, 'out')];
  if (typeof runtime === 'string') {
    return { status: 'failed', exit_code: null, reason: runtime, stdout: '', stderr: '', truncated: false, duration_ms: 0, artifacts: [] };
  }
  mkdirSync(src, { recursive: true });
  mkdirSync(work, { recursive: true });
  mkdirSync(out, { recursive: true });
  const file = `main.${runtime.extension}`;
  writeFileSync(join(src, file), source, { mode: 0o644 });
  if (process.getuid?.() === 0) {
    // The program runs as nobody: it owns its work dir and $DA_OUT, nothing else.
    for (const d of [work, out]) chownSync(d, 65534, 65534);
  }
  const mounts: SandboxMount[] = [
    ...runtime.mounts,
    { source: join(src, file), target: `${SCRIPT_DIR}/${file}` },
    ...files.map((f) => ({ source: f.path, target: `${SANDBOX_DATA}/${f.dataset}/${f.name}.parquet` })),
  ];
  try {
    const result = await runSandboxed({
      command: runtime.command(`${SCRIPT_DIR}/${file}`),
      mounts,
      workDir: work,
      writable: [{ source: out, target: SANDBOX_OUT }],
      env: { ...runtime.env, DA_DATA: SANDBOX_DATA, DA_OUT: SANDBOX_OUT, NO_COLOR: '1', DA_SQL_MEMORY: `${Math.max(16, Math.floor(limits.memoryMb * 0.6))}MB` },
      limits,
      bwrap,
    });
    return {
      status: statusOf(result),
      exit_code: result.exitCode,
      reason: reasonOf(result, limits),
      stdout: result.stdout,
      stderr: result.stderr,
      truncated: result.truncated,
      duration_ms: result.durationMs,
      artifacts: listArtifacts(out),
    };
  } finally {
    rmSync(src, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
}
