import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Logger } from '../log.ts';
import { silentLogger } from '../log.ts';
import { MIGRATIONS, type Migration } from './migrations.ts';
import { Queryable, SerialConnection } from './connection.ts';
import { MigrationFailedError, preMigrationCopyPath } from '../ops/versions.ts';

/** Thrown when system.duckdb was written by a newer version of da. */
export class SchemaTooNewError extends Error {
  override name = 'SchemaTooNewError';
}

/**
 * The state store: one DuckDB instance per file, one serial write connection (the write
 * queue) and a small pool of read connections.
 */
export interface SystemDb {
  readonly path: string;
  readonly schemaVersion: number;
  /** Runs `fn` on a read connection. */
  read<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /** Runs `fn` on the single write connection, after every write queued before it. */
  write<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /** Answers a trivial query on a read connection (health checks). */
  ping(): Promise<void>;
  /** Flushes the WAL into the database file. */
  checkpoint(): Promise<void>;
  /**
   * A consistent copy for backups: holding the write queue, checkpoints, copies the
   * database file to `target`, then runs `during` (e.g. to pin other files in the same
   * instant) before any later write runs. A write queued meanwhile is either in the copy
   * or waits until it is done.
   */
  copyTo<T>(target: string, during: () => Promise<T>): Promise<T>;
  /** Checkpoints and closes every connection and the instance. */
  close(): Promise<void>;
}

export interface OpenSystemDbOptions {
  logger?: Logger;
  migrations?: Migration[];
  readers?: number;
}

async function currentVersion(q: Queryable): Promise<number> {
  await q.run(
    `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP NOT NULL)`,
  );
  const row = await q.one<{ v: number | null }>(`SELECT max(version) AS v FROM schema_migrations`);
  return row?.v ?? 0;
}

/**
 * Opens (creating when absent) a state database and brings its schema up to date.
 * Before migrating a database that already holds data, a copy is written beside it
 * (`<file>.pre-v<N>`, N the version it is migrated to). A database from a newer version is
 * refused; a failed migration leaves it unchanged and throws MigrationFailedError.
 *
 * @example const db = await openSystemDb(join(dataDir, 'state/system.duckdb'))
 */
export async function openSystemDb(path: string, options: OpenSystemDbOptions = {}): Promise<SystemDb> {
  const { logger = silentLogger, migrations = MIGRATIONS, readers = 2 } = options;
  const latest = migrations.length ? migrations[migrations.length - 1]!.version : 0;
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const instance = await DuckDBInstance.fromCache(path);
  const writer = new SerialConnection(await instance.connect());
  // Timestamps are UTC everywhere: current_timestamp stored as TIMESTAMP would otherwise be
  // the host's local time, while times the code passes in are UTC.
  await writer.exclusive((q) => q.run(`SET GLOBAL TimeZone = 'UTC'`));
  let version: number;
  try {
    version = await writer.exclusive(async (q) => {
      const v = await currentVersion(q);
      if (v > latest) {
        throw new SchemaTooNewError(
          `${path} has schema version ${v}, but this da knows versions up to ${latest}; upgrade da or restore a backup`,
        );
      }
      const pending = migrations.filter((m) => m.version > v);
      let copy: string | undefined;
      if (pending.length && v > 0 && path !== ':memory:') {
        await q.run('CHECKPOINT');
        copy = preMigrationCopyPath(path, latest);
        copyFileSync(path, copy);
        logger.info('state copy before migration', { copy, from: v, to: latest });
      }
      // Every pending migration in one transaction: a failure leaves the database exactly
      // at the version it had, usable by the da that wrote it.
      let current: Migration | undefined;
      try {
        await q.transaction(async () => {
          for (const m of pending) {
            current = m;
            await q.run(m.sql);
            await q.run(`INSERT INTO schema_migrations VALUES (?, ?, current_timestamp)`, [m.version, m.name]);
          }
        });
      } catch (err) {
        throw new MigrationFailedError(path, v, latest, current!, err, copy);
      }
      for (const m of pending) logger.info('state migration applied', { version: m.version, name: m.name });
      return pending.length ? latest : v;
    });
  } catch (err) {
    writer.close();
    instance.closeSync();
    throw err;
  }

  const pool: SerialConnection[] = [];
  for (let i = 0; i < readers; i++) pool.push(new SerialConnection(await instance.connect()));
  let closed = false;
  const read = <T>(fn: (q: Queryable) => Promise<T>): Promise<T> => {
    let best = pool[0]!;
    for (const c of pool) if (c.queued < best.queued) best = c;
    return best.exclusive(fn);
  };

  return {
    path,
    schemaVersion: version,
    read,
    write(fn) {
      return writer.exclusive(fn);
    },
    async ping() {
      await read((q) => q.one('SELECT 1 AS ok'));
    },
    async checkpoint() {
      await writer.exclusive((q) => q.run('CHECKPOINT'));
    },
    copyTo(target, during) {
      if (path === ':memory:') return Promise.reject(new Error('an in-memory state database cannot be copied'));
      return writer.exclusive(async (q) => {
        await q.run('CHECKPOINT');
        copyFileSync(path, target);
        return during();
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      await writer.exclusive((q) => q.run('CHECKPOINT')).catch(() => {});
      for (const c of pool) await c.exclusive(async () => c.close());
      await writer.exclusive(async () => writer.close());
      instance.closeSync();
    },
  };
}

/** Where the state database lives under a data directory. */
export function systemDbPath(dataDir: string): string {
  return join(dataDir, 'state', 'system.duckdb');
}

