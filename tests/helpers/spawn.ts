import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dir, '..', '..');

export interface SpawnedServer {
  url: string;
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<number | string>;
}

/**
 * Runs `bun src/server.ts` as a separate process, as production does. Without PORT in
 * `env` the server binds port 0 and its log line names the port the OS gave it (pass that
 * PORT again to restart a server at the same address). With `waitHealthy`, resolves once
 * /api/health answers.
 */
export async function spawnServer(env: Record<string, string>, { waitHealthy = true } = {}): Promise<SpawnedServer> {
  const child = spawn(process.execPath, ['src/server.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', DA_LOG_FORMAT: 'json', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const server: SpawnedServer = { url: '', child, output: () => out, exited };
  if (!waitHealthy) return server;
  server.url = await healthyUrl(child, server.output, 30_000, 'server');
  return server;
}

/**
 * Waits until a spawned server logs the port it listens on and answers /api/health there;
 * returns its URL. Fails with the output when it exits first or `timeoutMs` passes (then it
 * is killed). `what` names it in those messages.
 */
export async function healthyUrl(child: ChildProcess, output: () => string, timeoutMs: number, what: string): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited early: ${output()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${what} did not become healthy: ${output()}`);
    }
    const port = /"msg":"da server listening".*?"url":"http:\/\/[^"]*?:(\d+)"/.exec(output())?.[1];
    if (port) {
      const url = `http://127.0.0.1:${port}`;
      try {
        if ((await fetch(`${url}/api/health`)).ok) return url;
      } catch {
        // Listening is logged just before the first request can be served.
      }
    }
    await Bun.sleep(20);
  }
}
