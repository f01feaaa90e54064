import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { CliError, EXIT } from './errors.ts';

/** Environment the CLI reads (a parameter so tests and `--server` can override it). */
export type Env = Record<string, string | undefined>;

/** `$DA_CONFIG_DIR`, else `~/.config/da` (`$XDG_CONFIG_HOME/da` when set). */
export function configDir(env: Env = process.env): string {
  if (env.DA_CONFIG_DIR) return resolve(env.DA_CONFIG_DIR);
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, 'da');
  return join(env.HOME || homedir(), '.config', 'da');
}

/** What `config.json` holds. */
export interface StoredConfig {
  server?: string;
}

/** What `token.json` (mode 0600) holds. */
export interface StoredToken {
  token: string;
  server: string;
  email?: string;
  role?: string;
  /** `pat` (personal access token, revocable) or `jwt` (short-lived sign-in token). */
  kind?: 'pat' | 'jwt';
  saved_at?: string;
}

function readJson<T>(path: string): T | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new CliError(`${path} is not valid JSON; fix or delete it`);
  }
}

/** Writes JSON (`raw`: `value` is the text already) through a temp file and a rename, so a crash never leaves half a file. */
export function writeJsonAtomic(path: string, value: unknown, mode = 0o644, opts: { raw?: boolean } = {}): void {
  mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, opts.raw ? String(value) : JSON.stringify(value, null, 2) + '\n', { mode });
    chmodSync(tmp, mode);
    renameSync(tmp, path);
  } catch (err) {
    // A full disk leaves the old file as it was, and no cut-off temp file beside it.
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Normalises a server URL (`localhost:8000` → `http://localhost:8000`, no trailing slash). */
export function normaliseServer(url: string): string {
  let u = url.trim();
  if (!/^https?:\/\//i.test(u)) u = `http://${u}`;
  let parsed: URL;
  try {
    parsed = new URL(u);
  } catch {
    throw new CliError(`invalid server URL: ${url}`, EXIT.usage);
  }
  return `${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/+$/, '')}`;
}

/** The CLI's stored settings: server, token, local sync state. */
export function createConfigStore(env: Env = process.env) {
  const dir = configDir(env);
  const paths = {
    dir,
    config: join(dir, 'config.json'),
    token: join(dir, 'token.json'),
    syncState: join(dir, 'sync-state'),
  };
  return {
    paths,
    readConfig: (): StoredConfig => readJson<StoredConfig>(paths.config) ?? {},
    writeConfig(c: StoredConfig) {
      writeJsonAtomic(paths.config, c);
    },
    readToken: (): StoredToken | undefined => readJson<StoredToken>(paths.token),
    writeToken(t: StoredToken) {
      writeJsonAtomic(paths.token, { ...t, saved_at: new Date().toISOString() }, 0o600);
    },
    removeToken() {
      rmSync(paths.token, { force: true });
    },
    /**
     * The server to talk to: `--server`, then `$DA_SERVER`, then config.json, then the
     * server the stored token belongs to.
     */
    resolveServer(flag?: string): string | undefined {
      const s = flag ?? env.DA_SERVER ?? readJson<StoredConfig>(paths.config)?.server ?? readJson<StoredToken>(paths.token)?.server;
      return s ? normaliseServer(s) : undefined;
    },
    /** `$DA_TOKEN`, else the stored token when it belongs to `server`. */
    resolveToken(server: string | undefined): string | undefined {
      if (env.DA_TOKEN) return env.DA_TOKEN;
      const t = readJson<StoredToken>(paths.token);
      if (!t) return undefined;
      if (server && normaliseServer(t.server) !== server) return undefined;
      return t.token;
    },
  };
}

export type ConfigStore = ReturnType<typeof createConfigStore>;
