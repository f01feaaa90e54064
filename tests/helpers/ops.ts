import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCliBuilt, SHARED_CACHE } from './cli.ts';
import { healthyUrl } from './spawn.ts';

export interface BinaryServer {
  url: string;
  child: ChildProcess;
  output(): string;
  exited: Promise<number | string>;
  /** SIGTERM, then waits for the exit code. */
  stop(): Promise<number | string>;
}

/**
 * Runs the compiled `da server start` as production does, with a minimal environment
 * (PATH, HOME and what `env` adds; no variable of the test process) from a fresh temporary
 * working directory, so it cannot lean on the source tree. Resolves once /api/health
 * answers, or with the exit when `waitHealthy` is false.
 */
export async function spawnBinaryServer(env: Record<string, string>, { waitHealthy = true, args = [] as string[] } = {}): Promise<BinaryServer> {
  const bin = await ensureCliBuilt();
  const cwd = mkdtempSync(join(tmpdir(), 'da-bin-cwd-'));
  const child = spawn(bin, ['server', 'start', ...args], {
    cwd,
    env: { PATH: '/usr/bin:/bin', HOME: cwd, DA_CACHE_DIR: SHARED_CACHE, DA_LOG_FORMAT: 'json', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const server: BinaryServer = {
    url: '', child, output: () => out, exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
  if (!waitHealthy) return server;
  server.url = await healthyUrl(child, server.output, 60_000, 'da server start');
  return server;
}

/** Signs in over HTTP and returns the access token. */
export async function tokenFor(url: string, email: string, password: string): Promise<string> {
  const res = await fetch(`${url}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
  if (res.status !== 200) throw new Error(`login ${email} failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** Registers every table of `datasets`, triggers a sync and waits until its job is finished; returns the job. */
export async function syncNow(url: string, token: string, datasets: string[] = ['sales']): Promise<{ status: string }> {
  const auth = { authorization: `Bearer ${token}` };
  for (const d of datasets) {
    const r = await fetch(`${url}/api/sources/${d}/register-all`, { method: 'POST', headers: auth });
    if (r.status >= 300) throw new Error(`register-all ${d}: ${r.status} ${await r.text()}`);
  }
  const res = await fetch(`${url}/api/sync/trigger`, { method: 'POST', headers: auth });
  if (res.status !== 202) throw new Error(`sync trigger: ${res.status} ${await res.text()}`);
  const { job_id } = (await res.json()) as { job_id: string };
  for (;;) {
    const job = (await (await fetch(`${url}/api/sync/jobs/${job_id}`, { headers: auth })).json()) as { status: string };
    if (job.status === 'succeeded' || job.status === 'failed') return job;
    await Bun.sleep(50);
  }
}
