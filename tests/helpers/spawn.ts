import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

const ROOT = join(import.meta.dir, '..', '..');

/** A free loopback port (bound and released, then handed to a child process). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export interface SpawnedServer {
  url: string;
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<number | string>;
}

/** Runs `bun src/server.ts` as a separate process, as production does, and waits for health. */
export async function spawnServer(env: Record<string, string>, { waitHealthy = true } = {}): Promise<SpawnedServer> {
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const child = spawn(process.execPath, ['src/server.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', DA_LOG_FORMAT: 'json', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const url = `http://127.0.0.1:${port}`;
  if (waitHealthy) {
    const deadline = Date.now() + 30_000;
    let ready = false;
    while (!ready && Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`server exited early: ${out}`);
      try {
        ready = (await fetch(`${url}/api/health`)).ok;
      } catch {
        await Bun.sleep(100);
      }
    }
    if (!ready) {
      child.kill('SIGKILL');
      throw new Error(`server did not become healthy: ${out}`);
    }
  }
  return { url, child, output: () => out, exited };
}
