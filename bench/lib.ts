/**
 * Shared parts of the benchmarks: a real server on a loopback port, a signed-in analyst,
 * seeding of synced tables, and writing results (as ratios against a baseline measured in
 * the same run) into docs/benchmarks.md. Benchmarks report; they never fail.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { websocket } from 'hono/bun';
import { loadConfig } from '../src/config.ts';
import { bootstrap, shutdown, type Services } from '../src/boot.ts';
import { createApp } from '../src/app.ts';
import type { AppDeps } from '../src/context.ts';
import { silentLogger } from '../src/log.ts';
import { createUser } from '../src/auth/service.ts';
import { signAccessToken } from '../src/auth/jwt.ts';
import { parquetPath } from '../src/sync/paths.ts';

/** One benchmark's outcome: a measured value, its baseline, and the ratio with its goal. */
export interface BenchResult {
  name: string;
  /** What was measured, in words. */
  what: string;
  ours: string;
  baseline: string;
  /** ours / baseline, oriented so the goal reads naturally (e.g. throughput ratio, time ratio). */
  ratio: number;
  goal: string;
  met: boolean;
  notes?: string;
}

export interface BenchServer {
  url: string;
  deps: AppDeps;
  services: Services;
  dataDir: string;
  /** Bearer token of an analyst granted the given datasets. */
  analystToken: string;
  stop(): Promise<void>;
}

/** Starts the real app (same code path as src/server.ts) on an ephemeral port. */
export async function startBenchServer(opts: { datasets?: string[]; yaml?: string } = {}): Promise<BenchServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'da-bench-'));
  const configFile = join(dataDir, 'instance.yaml');
  writeFileSync(configFile, opts.yaml ?? '');
  const config = loadConfig({
    DA_DATA_DIR: dataDir,
    DA_CONFIG: configFile,
    DA_ADMIN_EMAIL: 'bench-admin@example.com',
    DA_ADMIN_PASSWORD: 'bench-admin-password',
    DA_LOG_FORMAT: 'json',
  });
  const runtime = await bootstrap(config, silentLogger);
  const { deps } = runtime;
  const app = createApp(runtime);
  const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: app.fetch, websocket, idleTimeout: 120 });
  const { user } = await createUser(deps, { email: 'bench-analyst@example.com', role: 'analyst', password: 'bench-analyst-pw' });
  for (const ds of opts.datasets ?? []) await deps.repos.permissions.set(user.id, ds, 'read', null);
  const analystToken = signAccessToken(deps.key, { id: user.id, email: user.email, role: 'analyst' }, 24 * 3600).token;
  return {
    url: `http://127.0.0.1:${server.port}`,
    deps,
    services: runtime.services,
    dataDir,
    analystToken,
    async stop() {
      server.stop(true);
      await shutdown(runtime);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** sha256 hex of a file, streamed (files here can be large). */
export async function sha256OfFile(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher('sha256');
  const reader = Bun.file(path).stream().getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) hasher.update(r.value);
  return hasher.digest('hex');
}

/** Registers a table and records a successful sync of `source` (copied into place). */
export async function seedServedTable(
  s: BenchServer,
  t: { dataset: string; table: string; source: string; rows?: number; columns?: number },
): Promise<{ id: string; path: string; hash: string; size: number }> {
  const id = `${t.dataset}.${t.table}`;
  const path = parquetPath(s.dataDir, t.dataset, t.table);
  mkdirSync(dirname(path), { recursive: true });
  copyFileSync(t.source, path);
  const hash = await sha256OfFile(path);
  const size = Bun.file(path).size;
  await s.deps.repos.tableRegistry.insert({
    id, name: t.table, dataset: t.dataset, source_table: t.table, sync_strategy: 'full',
    primary_key: null, description: null, registered_by: null,
  });
  await s.deps.repos.syncState.recordSuccess({ tableId: id, rows: t.rows ?? 0, fileSizeBytes: size, columns: t.columns ?? 0, hash });
  return { id, path, hash, size };
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs a command and returns its stdout (throws with stderr on failure). */
export async function sh(cmd: string[], opts: { env?: Record<string, string> } = {}): Promise<string> {
  const proc = Bun.spawn(cmd, { stdout: 'pipe', stderr: 'pipe', env: { ...process.env, ...opts.env } });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`${cmd.join(' ')} exited ${code}: ${err.trim()}`);
  return out;
}

/** A scratch directory for large generated inputs (never inside the repository). */
export function benchTmp(name: string): string {
  const dir = join(tmpdir(), 'da-bench-data', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A file of `mb` MiB under the bench data folder that does not compress on the wire (made once, reused). */
export async function bigFile(mb: number): Promise<string> {
  const path = join(benchTmp('download'), `blob-${mb}mb.bin`);
  if (existsSync(path) && Bun.file(path).size === mb * 2 ** 20) return path;
  const writer = Bun.file(path).writer();
  const chunk = new Uint8Array(2 ** 20);
  for (let i = 0; i < mb; i++) {
    crypto.getRandomValues(chunk.subarray(0, 65536));
    chunk.copyWithin(65536, 0, 65536 * 15);
    writer.write(chunk);
  }
  await writer.end();
  return path;
}

export function fmtRate(bytesPerSecond: number): string {
  return `${(bytesPerSecond / 1e9).toFixed(2)} GB/s`;
}

function machineInfo(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpu}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${process.platform}/${process.arch}, Bun ${Bun.version}`;
}

const DOC = join(import.meta.dir, '..', 'docs', 'benchmarks.md');
const HEADER = `# Benchmarks

Each benchmark measures \`da\` and a baseline in the same run on the same machine and reports
the ratio; the goals come from the data-plane issue. Run one with \`bun bench/<name>.ts\`, all
with \`bun bench/all.ts\` (large inputs are generated under the system temp directory). They
report and never fail. Each section below is rewritten by its benchmark.

These numbers come from a 2-core VM shared with other work (load average 3–4 during the
runs). Each side is measured in alternating rounds so both see the same load, but single
runs move by ±20 %; run \`bun bench/all.ts\` on a quiet machine for firmer figures.
`;

/** Writes (or replaces) this benchmark's section of docs/benchmarks.md. */
export function recordResult(r: BenchResult): void {
  mkdirSync(dirname(DOC), { recursive: true });
  const text = existsSync(DOC) ? readFileSync(DOC, 'utf8') : HEADER;
  const begin = `<!-- bench:${r.name} -->`;
  const end = `<!-- /bench:${r.name} -->`;
  const section = [
    begin,
    `## ${r.name}`,
    '',
    r.what,
    '',
    '| da | baseline | ratio | goal | met |',
    '|---|---|---|---|---|',
    `| ${r.ours} | ${r.baseline} | **${r.ratio.toFixed(2)}×** | ${r.goal} | ${r.met ? 'yes' : 'no'} |`,
    '',
    ...(r.notes ? [r.notes, ''] : []),
    `_${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC · ${machineInfo()}_`,
    end,
  ].join('\n');
  const start = text.indexOf(begin);
  const next =
    start >= 0 ? text.slice(0, start) + section + text.slice(text.indexOf(end) + end.length) : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(DOC, next);
}

/** Prints a result and records it. */
export function report(r: BenchResult): BenchResult {
  console.log(`${r.name}: da ${r.ours} vs baseline ${r.baseline} → ${r.ratio.toFixed(2)}× (goal ${r.goal}: ${r.met ? 'met' : 'not met'})`);
  recordResult(r);
  return r;
}
