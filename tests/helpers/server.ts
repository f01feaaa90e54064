import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { websocket } from 'hono/bun';
import { loadConfig, type Config } from '../../src/config.ts';
import { bootstrap, shutdown, type Runtime, type Services } from '../../src/boot.ts';
import { createApp, type App } from '../../src/app.ts';
import type { AppDeps } from '../../src/context.ts';
import { silentLogger, type Logger } from '../../src/log.ts';
import type { Role } from '../../src/auth/roles.ts';
import type { Extractor } from '../../src/memory/extractor.ts';

export const ADMIN_EMAIL = 'admin@example.com';
export const ADMIN_PASSWORD = 'admin-password-1';

export interface TestServer {
  url: string;
  deps: AppDeps;
  services: Services;
  /** deps + services, as jobs and createApp take them. */
  runtime: Runtime;
  config: Config;
  dataDir: string;
  /** A fetch bound to the server, with an optional bearer token. */
  fetch(path: string, init?: RequestInit & { token?: string; json?: unknown }): Promise<Response>;
  /** Signs in and returns the access token. */
  login(email: string, password: string): Promise<string>;
  /** Creates a user with a role (as the admin) and returns its id, email, password and token. */
  createUser(role: Role, opts?: { email?: string }): Promise<{ id: string; email: string; password: string; token: string }>;
  adminToken: string;
  stop(): Promise<void>;
}

let seq = 0;

function readConfigText(file: string | undefined): string {
  try {
    return file ? readFileSync(file, 'utf8') : '';
  } catch {
    return '';
  }
}

/**
 * Starts the real app on an ephemeral loopback port with a fresh data directory.
 * `env` is what the server would read from its environment (e.g. DA_CONFIG); `yaml` is an
 * instance.yaml to use instead (written into the data directory); `logger` receives the
 * server's log (silent by default); `extend` adds routes (e.g. test pages) before it serves;
 * `extractor` reads uploads for the corporate memory extraction job.
 */
export async function startTestServer(
  env: Record<string, string | undefined> = {},
  opts: { yaml?: string; logger?: Logger; extend?: (app: App, runtime: Runtime) => void; extractor?: Extractor } = {},
): Promise<TestServer> {
  const dataDir = env.DA_DATA_DIR ?? mkdtempSync(join(tmpdir(), 'da-test-'));
  // Tests sign in often from one address: unless a test sets its own, raise the login limits.
  const yaml = opts.yaml ?? (env.DA_CONFIG ? undefined : 'auth:\n  login_rate_limit: 1000\n  login_ip_rate_limit: 10000\n');
  let configFile = env.DA_CONFIG;
  if (yaml !== undefined) {
    configFile = join(dataDir, 'instance.test.yaml');
    writeFileSync(configFile, yaml);
  }
  const config = loadConfig({
    DA_DATA_DIR: dataDir,
    DA_ADMIN_EMAIL: ADMIN_EMAIL,
    DA_ADMIN_PASSWORD: ADMIN_PASSWORD,
    ...env,
    DA_CONFIG: configFile,
  });
  // Tests hash many passwords: a cheap argon2id cost unless the test sets its own.
  if (!readConfigText(configFile).includes('password_hash')) config.auth.password_hash = { memory_kib: 256, time_cost: 1 };
  const runtime = await bootstrap(config, opts.logger ?? silentLogger, { extractor: opts.extractor });
  const { deps, services } = runtime;
  const app = createApp(runtime);
  opts.extend?.(app, runtime);
  const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: app.fetch, websocket });
  const url = `http://127.0.0.1:${server.port}`;

  const doFetch: TestServer['fetch'] = (path, init = {}) => {
    const { token, json, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (token) headers.set('authorization', `Bearer ${token}`);
    if (json !== undefined) headers.set('content-type', 'application/json');
    return fetch(url + path, { ...rest, headers, body: json !== undefined ? JSON.stringify(json) : rest.body });
  };
  const login = async (email: string, password: string) => {
    const res = await doFetch('/auth/token', { method: 'POST', json: { email, password } });
    if (res.status !== 200) throw new Error(`login ${email} failed: ${res.status} ${await res.text()}`);
    return ((await res.json()) as { access_token: string }).access_token;
  };
  const adminToken = await login(ADMIN_EMAIL, ADMIN_PASSWORD);

  return {
    url,
    deps,
    services,
    runtime,
    config,
    dataDir,
    fetch: doFetch,
    login,
    adminToken,
    async createUser(role, opts = {}) {
      const email = opts.email ?? `${role}-${process.pid}-${++seq}@example.com`;
      const password = `pw-${role}-${seq}-secret`;
      const res = await doFetch('/api/users', { method: 'POST', token: adminToken, json: { email, role, password } });
      if (res.status !== 201) throw new Error(`create user failed: ${res.status} ${await res.text()}`);
      const { id } = (await res.json()) as { id: string };
      return { id, email, password, token: await login(email, password) };
    },
    async stop() {
      server.stop(true);
      await shutdown(runtime);
      if (!env.DA_DATA_DIR) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
