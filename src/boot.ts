import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.ts';
import type { AppDeps } from './context.ts';
import { openSystemDb, systemDbPath } from './db/system.ts';
import type { Logger } from './log.ts';
import { createRepositories } from './repositories/index.ts';
import { signingKey } from './auth/jwt.ts';
import { generateSecret } from './auth/secrets.ts';
import { ensureFirstAdmin } from './auth/service.ts';
import { createSyncEngine } from './sync/engine.ts';

/** DA_SECRET, or a secret generated once and kept in state/secret (mode 0600). */
export function loadOrCreateSecret(config: Config): string {
  if (config.auth.secret) return config.auth.secret;
  const path = join(config.dataDir, 'state', 'secret');
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  mkdirSync(join(config.dataDir, 'state'), { recursive: true });
  const secret = generateSecret() + generateSecret();
  writeFileSync(path, secret + '\n', { mode: 0o600, flag: 'wx' });
  return secret;
}

/**
 * Opens the state, builds the repositories and makes sure the first admin exists:
 * everything a server (or a test) needs before it builds the app.
 */
export async function bootstrap(config: Config, logger: Logger): Promise<AppDeps> {
  mkdirSync(config.dataDir, { recursive: true });
  const db = await openSystemDb(systemDbPath(config.dataDir), { logger });
  const repos = createRepositories(db);
  const deps: AppDeps = { config, db, repos, logger, key: signingKey(loadOrCreateSecret(config)), services: {} };
  await ensureFirstAdmin(deps);
  const sync = createSyncEngine(deps);
  deps.services.sync = sync;
  await sync.recover();
  return deps;
}

/** Stops the sync engine and query sandboxes, flushes buffered writes, closes the state (CHECKPOINT first). */
export async function shutdown(deps: AppDeps): Promise<void> {
  await deps.services.sync?.close().catch(() => {});
  deps.services.dataPlane?.queryPool.close();
  await deps.repos.audit.flush().catch(() => {});
  await deps.db.close();
}
