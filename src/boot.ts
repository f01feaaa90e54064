import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.ts';
import type { AppDeps } from './context.ts';
import { isRemoteDataset } from './connectors/bigquery/remote.ts';
import { openSystemDb, systemDbPath } from './db/system.ts';
import type { Logger } from './log.ts';
import { createDuckDbRepositories } from './repositories/duckdb/index.ts';
import { signingKey } from './auth/jwt.ts';
import { generateSecret } from './auth/secrets.ts';
import { ensureFirstAdmin } from './auth/service.ts';
import { decoyHash } from './auth/passwords.ts';
import { createFirstRun, type FirstRun } from './auth/first-run.ts';
import { createMailLinks, type MailLinks } from './auth/mail-links.ts';
import { createMailer, type Mailer } from './mail/index.ts';
import { createSyncEngine, type SyncEngine } from './sync/engine.ts';
import { createEventBus, type EventBus } from './events.ts';
import { auditDomainEvents } from './notify/audit.ts';
import { createDocsIndex, type DocsIndex } from './sync/assets.ts';
import { createAccessCache, createTableCatalog, type AccessCache, type TableCatalog } from './sync/catalog.ts';
import { createManifestService, type ManifestService } from './sync/manifest.ts';
import { listPresentParts } from './sync/delta.ts';
import { createSyncSelections } from './sync/settings.ts';
import { createQueryPool, type QueryPool } from './query/pool.ts';
import { createSystemSnapshots, snapshotDir, type SystemSnapshots } from './query/state-snapshots.ts';
import { createJobRunner, type JobRunner } from '../jobs/runner.ts';
import { addBuiltInJobs } from '../jobs/index.ts';
import { createUploadStore, type UploadStore } from './sync/uploads.ts';
import { createMetricsService, type MetricsService } from './metrics/service.ts';
import { createMemoryService, type MemoryService } from './memory/service.ts';
import type { Extractor } from './memory/extractor.ts';
import { createExtractor } from './memory/llm/index.ts';
import { createNotifications, type Notifications } from './notify/index.ts';
import { registryScriptsPort } from './notify/scripts-port.ts';
import { createScriptsService, type ScriptsService } from './scripts/service.ts';
import { createStateDbLiveness, type StateDbLiveness } from './db/liveness.ts';

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

/** The long-lived services, built once by bootstrap and handed to the routers and jobs that use them. */
export interface Services {
  /** Domain events (sync.finished, …) for audit, WebSocket and Telegram listeners. */
  events: EventBus;
  /** Pulls sources into Parquet, one job at a time (src/sync/engine.ts). */
  sync: SyncEngine;
  /** Who may read which dataset, cached until a grant changes. */
  access: AccessCache;
  /** The registered tables with their sync state and profiles. */
  catalog: TableCatalog;
  /** Documents and rules delivered with the manifest. */
  docs: DocsIndex;
  manifest: ManifestService;
  /** Secret-free copies of the state tables for the admin's `state.*` views. */
  snapshots: SystemSnapshots;
  /** Worker processes that run user SQL (src/query/pool.ts). */
  queryPool: QueryPool;
  /** Scheduled and on-demand jobs, with one record of runs. */
  jobs: JobRunner;
  /** What `da sync` uploads, per user, under the upload quota. */
  uploads: UploadStore;
  /** Outgoing mail: SMTP, or the log when `email` is not configured (src/mail/). */
  mailer: Mailer;
  /** Sign-in links and password resets by mail, with their limits. */
  mailLinks: MailLinks;
  /** The first-run setup page while there is no user. */
  firstRun: FirstRun;
  /** The metrics catalog: definitions checked and evaluated through the query pool. */
  metrics: MetricsService;
  /** User scripts: the registry, sandboxed runs and their schedules (src/scripts/). */
  scripts: ScriptsService;
  /** Notifications over WebSocket and Telegram, and the dispatcher that sends them (src/notify/). */
  notifications: Notifications;
  /** Corporate memory: items, votes, governance, delivery (src/memory/service.ts). */
  memory: MemoryService;
  /** What reads analysts' uploads for the memory extraction job (src/memory/extractor.ts). */
  extractor: Extractor;
  /** Whether the state database answers, pinged on a timer for /api/health (src/db/liveness.ts). */
  stateDb: StateDbLiveness;
}

/** What a caller of bootstrap may supply instead of what the config says. */
export interface BootOptions {
  /** The memory extractor (default: the one `ai:` configures). */
  extractor?: Extractor;
}

/** A server's infrastructure and services: what src/server.ts (or a test) serves. */
export interface Runtime {
  deps: AppDeps;
  services: Services;
}

/**
 * The composition root: opens the state, builds the repositories, makes sure the first
 * admin exists, and builds every long-lived service eagerly. Jobs are registered but not
 * scheduled (`services.jobs.start()` does that in src/server.ts).
 */
export async function bootstrap(config: Config, logger: Logger, options: BootOptions = {}): Promise<Runtime> {
  mkdirSync(config.dataDir, { recursive: true });
  const db = await openSystemDb(systemDbPath(config.dataDir), { logger });
  const repos = createDuckDbRepositories(db);
  const deps: AppDeps = { config, db, repos, logger, key: signingKey(loadOrCreateSecret(config)) };
  await ensureFirstAdmin(deps);
  // Made now, so the first sign-in with an unknown email is not slower than later ones.
  await decoyHash(config.auth.password_hash);

  const events = createEventBus(logger);
  auditDomainEvents(events, repos.audit);
  const sync = createSyncEngine(deps, { events });
  await sync.recover();
  await repos.jobRuns.failUnfinished('the server stopped while this job was running');
  const catalog = createTableCatalog(repos.dataCatalog, repos.changes.data);
  const access = createAccessCache({ permissions: repos.permissions, sources: config.sources }, repos.changes.permissions);
  const docs = createDocsIndex(config.dataDir);
  const { query } = config;
  const mailer = createMailer(config, logger);
  const snapshots = createSystemSnapshots(repos.systemSnapshots, snapshotDir(config.dataDir));
  const queryPool = createQueryPool({
    dataDir: config.dataDir,
    memoryLimit: query.memory_limit,
    threads: query.threads,
    minWorkers: query.min_workers,
    maxWorkers: query.max_workers,
    perUser: query.per_user,
    workerMemoryMb: query.worker_memory_mb,
    queueMs: query.queue_timeout_ms,
    logger,
  });
  const jobs = createJobRunner({ runs: repos.jobRuns, events, logger });
  await repos.scripts.failUnfinished('the server stopped while this script was queued or running');
  const scripts = createScriptsService({ config, repo: repos.scripts, users: repos.users, access, catalog, events, jobs, logger });
  const metrics = createMetricsService(repos.metrics, { config, access, catalog, snapshots, queryPool });
  const memory = createMemoryService({ repo: repos.memory, users: repos.users, access, events, sources: config.sources });
  const services: Services = {
    events,
    sync,
    access,
    catalog,
    docs,
    manifest: createManifestService(access, catalog, docs, {
      remoteEngine: (dataset) => (isRemoteDataset(config, dataset) ? 'bigquery' : null),
      selections: createSyncSelections(repos.permissions, repos.changes.permissions),
      metrics,
      memory,
      parts: {
        listAll: () => listPresentParts(config.dataDir, repos.tableParts),
        primaryKeys: async () => new Map((await repos.tableRegistry.list()).map((t) => [t.id, t.primary_key])),
      },
    }),
    snapshots,
    queryPool,
    jobs,
    uploads: createUploadStore({ dataDir: config.dataDir, quota: { bytes: config.uploads.quota_bytes, files: config.uploads.quota_files } }),
    mailer,
    mailLinks: createMailLinks(deps, mailer),
    firstRun: await createFirstRun(deps),
    metrics,
    memory,
    extractor: options.extractor ?? createExtractor(config.ai, logger),
    notifications: createNotifications(deps, { events, access, catalog, scripts: registryScriptsPort(scripts, repos.users) }),
    scripts,
    stateDb: createStateDbLiveness(db),
  };
  addBuiltInJobs(services.jobs, { deps, services });
  await services.scripts.scheduleAll();
  return { deps, services };
}

/**
 * Stops jobs, the sync engine and the query workers, waits for mails under way, flushes
 * buffered writes, closes the state (CHECKPOINT first).
 */
export async function shutdown({ deps, services }: Runtime): Promise<void> {
  services.jobs.stop();
  services.stateDb.stop();
  await services.notifications.stop();
  await services.scripts.close();
  await services.sync.close().catch(() => {});
  services.queryPool.close();
  await services.mailLinks.settled();
  services.mailer.close();
  await deps.repos.audit.flush().catch(() => {});
  await deps.db.close();
}
