import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The script sandbox: one child process per run under bubblewrap, with its own mount, pid,
 * network, IPC and UTS namespaces (no network, no view of the host's processes or files;
 * the user namespace too when the server is not root), read-only binds of the
 * runtime and of the files the run may read, a tmpfs /tmp, a per-run work dir, a non-root
 * uid, prlimit caps (CPU, file size, processes), a cgroup memory cap where the cgroup is
 * writable, a wall-clock limit that kills the whole tree, and capped output. Where
 * bubblewrap is missing, nothing runs: `run` throws SandboxUnavailableError.
 */

/** The limits of one run. */
export interface SandboxLimits {
  timeoutMs: number;
  memoryMb: number;
  cpuSeconds: number;
  /** Largest single file a run may write. */
  maxFileMb: number;
  /** All files the run leaves in its work dir together; past it the run is killed. */
  maxDiskMb: number;
  maxProcesses: number;
  /** stdout and stderr are each kept up to this many bytes. */
  maxOutputBytes: number;
}

/** A host path bound read-only into the sandbox at `target`. */
export interface SandboxMount {
  source: string;
  target: string;
}

export interface SandboxRequest {
  /** The program and its arguments, as paths inside the sandbox. */
  command: string[];
  /** Read-only binds besides the runtime's (/usr and the /lib links). */
  mounts: SandboxMount[];
  /** Host dir bound read-write at /work (its `out/` is $DA_OUT). Must exist. */
  workDir: string;
  /** Host dirs bound read-write inside /work (e.g. `out/`, kept after the run). */
  writable?: SandboxMount[];
  env: Record<string, string>;
  limits: SandboxLimits;
  /** Path of bubblewrap (default: `bwrap` on the system path). */
  bwrap?: string;
}

/** How a sandboxed run ended. */
export interface SandboxResult {
  /** exited: the program ended by itself (see exitCode); the others: it was stopped. */
  outcome: 'exited' | 'timed_out' | 'out_of_memory' | 'killed';
  exitCode: number | null;
  /** The signal that ended the program, when one did. */
  signal: string | null;
  /** Why it was stopped or failed, in words; null for a clean exit 0. */
  reason: string | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  durationMs: number;
}

/** What the host offers the sandbox; `GET /api/health` reports it. */
export interface SandboxStatus {
  available: boolean;
  /** Why not, or what is in force. */
  detail: string;
  /** How memory is capped: a cgroup, RLIMIT_DATA (weaker), or not at all. */
  memory: 'cgroup-v1' | 'cgroup-v2' | 'rlimit';
  memoryDetail: string;
}

/** Scripts cannot run on this host (no bubblewrap): they are refused, never run unconfined. */
export class SandboxUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SandboxUnavailableError';
  }
}

/** The uid and gid scripts run as when the server is root. */
const NOBODY = 65534;
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

interface Tools {
  bwrap: string;
  prlimit: string;
  setpriv: string | null;
  sh: string;
}

interface MemoryCgroup {
  version: 1 | 2;
  /** The parent the per-run cgroups are made under. */
  parent: string;
}

const cachedTools = new Map<string, Tools | null>();
let cachedCgroup: MemoryCgroup | null | undefined;

/** The programs the sandbox needs; `bwrapPath` instead of `bwrap` on the system path when given. */
function tools(bwrapPath?: string): Tools | null {
  const key = bwrapPath ?? '';
  if (cachedTools.has(key)) return cachedTools.get(key)!;
  const which = (name: string) => Bun.which(name, { PATH: SYSTEM_PATH });
  const bwrap = bwrapPath ? (existsSync(bwrapPath) ? bwrapPath : null) : which('bwrap');
  const prlimit = which('prlimit');
  const sh = which('sh');
  const setpriv = which('setpriv');
  const found = bwrap && prlimit && sh && (process.getuid?.() !== 0 || setpriv) ? { bwrap, prlimit, sh, setpriv } : null;
  cachedTools.set(key, found);
  return found;
}

/** Tries to make (and remove) a child of `parent`: a cgroup we may use. */
function writableCgroup(parent: string, limitFile: string): boolean {
  const probe = join(parent, `da-probe-${process.pid}`);
  try {
    mkdirSync(probe);
    try {
      return existsSync(join(probe, limitFile));
    } finally {
      rmdirSync(probe);
    }
  } catch {
    return false;
  }
}

/** This process's memory cgroup, when a child of it can be made and capped (v1 or v2). */
function memoryCgroup(): MemoryCgroup | null {
  if (cachedCgroup !== undefined) return cachedCgroup;
  cachedCgroup = null;
  let lines: string[] = [];
  try {
    lines = readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n');
  } catch {
    return null;
  }
  const v1 = lines.map((l) => l.split(':')).find(([, ctrl]) => ctrl?.split(',').includes('memory'));
  if (v1) {
    const parent = join('/sys/fs/cgroup/memory', v1[2] ?? '/');
    if (writableCgroup(parent, 'memory.limit_in_bytes')) cachedCgroup = { version: 1, parent };
    return cachedCgroup;
  }
  const v2 = lines.find((l) => l.startsWith('0::'));
  if (v2 && existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    const parent = join('/sys/fs/cgroup', v2.slice(3));
    if (writableCgroup(parent, 'memory.max')) cachedCgroup = { version: 2, parent };
  }
  return cachedCgroup;
}

let cachedPids: string | null | undefined;

/** This process's cgroup v1 `pids` hierarchy, when a child of it can be made (v2 has pids.max beside memory.max). */
function pidsCgroupParent(): string | null {
  if (cachedPids !== undefined) return cachedPids;
  cachedPids = null;
  try {
    const line = readFileSync('/proc/self/cgroup', 'utf8').trim().split('\n').map((l) => l.split(':')).find(([, ctrl]) => ctrl?.split(',').includes('pids'));
    if (line) {
      const parent = join('/sys/fs/cgroup/pids', line[2] ?? '/');
      if (writableCgroup(parent, 'pids.max')) cachedPids = parent;
    }
  } catch {}
  return cachedPids;
}

/** Whether scripts can run here and how memory is capped (cached after the first call). */
export function sandboxStatus(bwrapPath?: string): SandboxStatus {
  const t = tools(bwrapPath);
  const cg = memoryCgroup();
  const memory = cg ? (cg.version === 1 ? 'cgroup-v1' : 'cgroup-v2') : 'rlimit';
  const memoryDetail = cg
    ? `memory capped by a cgroup v${cg.version} child of ${cg.parent}`
    : 'no writable memory cgroup: memory capped by RLIMIT_DATA only';
  if (!t) {
    const missing = ['prlimit', 'sh', ...(process.getuid?.() === 0 ? ['setpriv'] : [])].filter((n) => !Bun.which(n, { PATH: SYSTEM_PATH }));
    if (bwrapPath ? !existsSync(bwrapPath) : !Bun.which('bwrap', { PATH: SYSTEM_PATH })) missing.unshift(bwrapPath ?? 'bwrap');
    return {
      available: false,
      detail: `scripts are disabled: ${missing.join(', ')} not found (install the bubblewrap and util-linux packages); they never run unconfined`,
      memory,
      memoryDetail,
    };
  }
  return { available: true, detail: `bubblewrap at ${t.bwrap}; ${memoryDetail}`, memory, memoryDetail };
}

/** The binds that make the runtime visible: /usr, and /lib*, /bin, /sbin as links or binds, as on the host. */
function runtimeArgs(): string[] {
  const args = ['--ro-bind', '/usr', '/usr'];
  for (const name of ['lib', 'lib32', 'lib64', 'libx32', 'bin', 'sbin']) {
    const path = `/${name}`;
    let st;
    try {
      st = lstatSync(path);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) args.push('--symlink', readlinkSync(path), path);
    else if (st.isDirectory()) args.push('--ro-bind', path, path);
  }
  return args;
}

/** `--dir` for each parent of `target` not made yet, world-readable (bwrap's default is 0700). */
function parentDirs(target: string, made: Set<string>): string[] {
  const out: string[] = [];
  const parents: string[] = [];
  for (let d = dirname(target); d !== '/' && !made.has(d); d = dirname(d)) parents.unshift(d);
  for (const d of parents) {
    made.add(d);
    out.push('--perms', '0755', '--dir', d);
  }
  return out;
}

/** Bytes of the files under `dir` (not following links). */
function diskUsage(dir: string): number {
  let total = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += diskUsage(p);
    else if (e.isFile()) {
      try {
        total += lstatSync(p).size;
      } catch {}
    }
  }
  return total;
}

/** Reads a stream to the end, keeping its first `max` bytes. */
async function drain(stream: ReadableStream<Uint8Array>, max: number): Promise<{ text: string; truncated: boolean }> {
  const kept: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  const reader = stream.getReader();
  for (;;) {
    const { done, value: chunk } = await reader.read();
    if (done) break;
    if (size >= max) {
      truncated = true;
      continue;
    }
    const room = max - size;
    kept.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
    if (chunk.length > room) truncated = true;
    size += Math.min(chunk.length, room);
  }
  return { text: new TextDecoder().decode(Buffer.concat(kept)), truncated };
}

const SIGNALS: Record<number, string> = { 6: 'SIGABRT', 9: 'SIGKILL', 11: 'SIGSEGV', 15: 'SIGTERM', 24: 'SIGXCPU', 25: 'SIGXFSZ' };

/** A sentence for a program ended by `signal`. */
function signalReason(signal: string): string {
  if (signal === 'SIGXCPU') return 'killed: CPU time limit reached';
  if (signal === 'SIGXFSZ') return 'killed: wrote a file larger than the file size limit';
  return `killed by ${signal}`;
}

function killCgroup(dir: string): void {
  try {
    for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {}
    }
  } catch {}
}

function oomKilled(cg: MemoryCgroup, dir: string): boolean {
  try {
    const text = readFileSync(join(dir, cg.version === 1 ? 'memory.oom_control' : 'memory.events'), 'utf8');
    return Number(/^oom_kill (\d+)/m.exec(text)?.[1] ?? 0) > 0;
  } catch {
    return false;
  }
}

async function removeCgroup(dir: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    killCgroup(dir);
    try {
      rmdirSync(dir);
      return;
    } catch {
      await Bun.sleep(20);
    }
  }
}

let seq = 0;

function tryWrite(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch {}
}

/**
 * Runs one command in the sandbox and reports how it ended. The program sees only /usr
 * (and the /lib links), the request's read-only mounts, /work (the host's `workDir`),
 * a private /tmp, /proc of its own pid namespace and a minimal /dev.
 *
 * @example
 * await runSandboxed({ command: ['/usr/bin/python3', '-I', '/script/main.py'], mounts, workDir, env: { DA_OUT: '/work/out' }, limits })
 */
export async function runSandboxed(req: SandboxRequest): Promise<SandboxResult> {
  const t = tools(req.bwrap);
  if (!t) throw new SandboxUnavailableError(sandboxStatus(req.bwrap).detail);
  const { limits } = req;
  const root = process.getuid?.() === 0;
  const cg = memoryCgroup();

  const made = new Set<string>(['/usr', '/tmp', '/work', '/proc', '/dev']);
  const bwrap = [
    t.bwrap,
    // As root, every namespace but the user one: the program then runs as the real uid
    // 65534 (setpriv below), for which RLIMIT_NPROC holds. Otherwise all of them.
    ...(root ? ['--unshare-ipc', '--unshare-pid', '--unshare-net', '--unshare-uts', '--unshare-cgroup-try'] : ['--unshare-all']),
    '--die-with-parent',
    '--new-session',
    '--hostname', 'sandbox',
    ...runtimeArgs(),
    '--proc', '/proc',
    '--dev', '/dev',
    '--perms', '1777', '--tmpfs', '/tmp',
  ];
  for (const m of req.mounts) bwrap.push(...parentDirs(m.target, made), '--ro-bind', m.source, m.target);
  bwrap.push('--bind', req.workDir, '/work');
  for (const m of req.writable ?? []) bwrap.push('--bind', m.source, m.target);
  bwrap.push('--chdir', '/work', '--clearenv');
  const env = { PATH: '/usr/bin:/bin', HOME: '/tmp', TMPDIR: '/tmp', LANG: 'C.UTF-8', ...req.env };
  for (const [k, v] of Object.entries(env)) bwrap.push('--setenv', k, v);
  bwrap.push('--');
  if (root) bwrap.push(t.setpriv!, `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--no-new-privs');
  bwrap.push(
    t.prlimit,
    `--cpu=${limits.cpuSeconds}`,
    `--fsize=${limits.maxFileMb * 1024 * 1024}`,
    '--core=0',
    ...(root ? [`--nproc=${limits.maxProcesses}`] : []),
    // Without a memory cgroup, RLIMIT_DATA is the cap (the runtime's reservations are not data).
    ...(cg ? [] : [`--data=${limits.memoryMb * 1024 * 1024 + 256 * 1024 * 1024}`]),
    '--',
    ...req.command,
  );

  // The cgroups are joined before bwrap starts, by a shell that then execs it: every process
  // of the run is born inside them. Memory is capped there; processes too (per run, where
  // RLIMIT_NPROC counts every process of the uid).
  const name = `da-script-${process.pid}-${++seq}`;
  const cgDirs: string[] = [];
  let cgDir: string | null = null;
  if (cg) {
    cgDir = join(cg.parent, name);
    try {
      mkdirSync(cgDir);
      cgDirs.push(cgDir);
      const bytes = String(limits.memoryMb * 1024 * 1024);
      if (cg.version === 1) {
        writeFileSync(join(cgDir, 'memory.limit_in_bytes'), bytes);
        // Swap counts too where the kernel accounts it, so a run cannot swap its way past the cap.
        tryWrite(join(cgDir, 'memory.memsw.limit_in_bytes'), bytes);
      } else {
        writeFileSync(join(cgDir, 'memory.max'), bytes);
        tryWrite(join(cgDir, 'memory.swap.max'), '0');
        tryWrite(join(cgDir, 'pids.max'), String(limits.maxProcesses));
      }
    } catch {
      await removeCgroup(cgDir);
      cgDirs.length = 0;
      cgDir = null;
    }
  }
  const pidsParent = cg?.version === 2 ? null : pidsCgroupParent();
  if (pidsParent) {
    const dir = join(pidsParent, name);
    try {
      mkdirSync(dir);
      cgDirs.push(dir);
      writeFileSync(join(dir, 'pids.max'), String(limits.maxProcesses));
    } catch {
      await removeCgroup(dir);
      cgDirs.splice(cgDirs.indexOf(dir), 1);
    }
  }
  const joins = cgDirs.map((_, i) => `echo $$ > "$${i + 1}"`).join(' && ');
  const command = cgDirs.length
    ? [t.sh, '-c', `${joins} && shift ${cgDirs.length} && exec "$@"`, 'sh', ...cgDirs.map((d) => join(d, 'cgroup.procs')), ...bwrap]
    : bwrap;

  const started = performance.now();
  const proc = Bun.spawn(command, { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', env: {} });
  let stopped: SandboxResult['outcome'] | null = null;
  let stopReason = '';
  const stop = (outcome: SandboxResult['outcome'], reason: string) => {
    if (stopped) return;
    stopped = outcome;
    stopReason = reason;
    proc.kill('SIGKILL');
    for (const d of cgDirs) killCgroup(d);
  };
  const timer = setTimeout(() => stop('timed_out', `timed out: ran longer than ${Math.round(limits.timeoutMs / 1000)} s and was killed`), limits.timeoutMs);
  const diskWatch = setInterval(() => {
    const used = [req.workDir, ...(req.writable ?? []).map((m) => m.source)].reduce((n, d) => n + diskUsage(d), 0);
    if (used > limits.maxDiskMb * 1024 * 1024) stop('killed', `killed: wrote more than ${limits.maxDiskMb} MB to its work dir`);
  }, 250);
  try {
    const [out, err, code] = await Promise.all([drain(proc.stdout, limits.maxOutputBytes), drain(proc.stderr, limits.maxOutputBytes), proc.exited]);
    const durationMs = Math.round(performance.now() - started);
    const base = { stdout: out.text, stderr: err.text, truncated: out.truncated || err.truncated, durationMs };
    const oom = cgDir && cg ? oomKilled(cg, cgDir) : false;
    if (stopped) return { ...base, outcome: stopped, exitCode: null, signal: 'SIGKILL', reason: stopReason };
    // bwrap exits with 128 + n when the program was ended by signal n.
    const signal: string | null = proc.signalCode ? String(proc.signalCode) : (code > 128 && code < 160 ? (SIGNALS[code - 128] ?? `signal ${code - 128}`) : null);
    if (oom) {
      return { ...base, outcome: 'out_of_memory', exitCode: signal ? null : code, signal, reason: `killed: out of memory (over ${limits.memoryMb} MB)` };
    }
    if (signal) return { ...base, outcome: 'killed', exitCode: null, signal, reason: signalReason(signal) };
    return { ...base, outcome: 'exited', exitCode: code, signal: null, reason: code === 0 ? null : `exited with code ${code}` };
  } finally {
    clearTimeout(timer);
    clearInterval(diskWatch);
    for (const d of cgDirs) await removeCgroup(d);
  }
}
