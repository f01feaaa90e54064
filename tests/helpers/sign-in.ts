import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/app.ts';
import { bootstrap, shutdown, type Runtime } from '../../src/boot.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { startTestServer, type TestServer } from './server.ts';

/** What a sign-in test server adds to instance.yaml (as an object: YAML takes JSON). */
export interface SignInYaml {
  auth?: Record<string, unknown>;
  email?: { smtp_url: string; from: string };
  [key: string]: unknown;
}

/** Test-wide defaults: many sign-ins from one address, cheap password hashes. */
const AUTH_DEFAULTS = { login_rate_limit: 1000, login_ip_rate_limit: 10_000, password_hash: { memory_kib: 256, time_cost: 1 } };

/** A mail link's origin must be `instance.base_url`; the real one is known once the server listens. */
const PLACEHOLDER_BASE_URL = 'http://127.0.0.1:9';

function yamlOf(extra: SignInYaml): string {
  const { auth, ...rest } = extra;
  return JSON.stringify({ instance: { base_url: PLACEHOLDER_BASE_URL }, ...rest, auth: { ...AUTH_DEFAULTS, ...auth } });
}

/**
 * startTestServer with sign-in settings (mail, Google, limits) and `instance.base_url` set
 * to the address it serves at, so mailed links lead back to it.
 */
export async function startSignInServer(extra: SignInYaml, opts: { logLines?: string[] } = {}): Promise<TestServer> {
  const logger = opts.logLines ? createLogger({ format: 'json', write: (l) => opts.logLines!.push(l) }) : undefined;
  const server = await startTestServer({}, { yaml: yamlOf(extra), logger });
  server.config.instance.base_url = server.url;
  return server;
}

/** A server started like src/server.ts does, with no admin from the environment (first run, or no password sign-in). */
export interface BareServer {
  url: string;
  runtime: Runtime;
  config: Config;
  logLines: string[];
  stop(): Promise<void>;
}

export async function startBareServer(extra: SignInYaml = {}): Promise<BareServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'da-test-'));
  const file = join(dataDir, 'instance.test.yaml');
  writeFileSync(file, yamlOf(extra));
  const config = loadConfig({ DA_DATA_DIR: dataDir, DA_CONFIG: file });
  const logLines: string[] = [];
  const runtime = await bootstrap(config, createLogger({ format: 'json', write: (l) => logLines.push(l) }));
  const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: createApp(runtime).fetch });
  const url = `http://127.0.0.1:${server.port}`;
  config.instance.base_url = url;
  return {
    url,
    runtime,
    config,
    logLines,
    async stop() {
      server.stop(true);
      await shutdown(runtime);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The first link in a mail's text that starts with `prefix`. */
export function linkIn(text: string, prefix: string): string {
  const link = text.split(/\s+/).find((word) => word.startsWith(prefix));
  if (!link) throw new Error(`no link starting with ${prefix} in:\n${text}`);
  return link;
}
