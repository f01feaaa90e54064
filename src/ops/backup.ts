import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { randomUUID } from 'node:crypto';
import { pipeline, Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { Config } from '../config.ts';
import type { SystemDb } from '../db/system.ts';
import type { Logger } from '../log.ts';
import type { SyncState, SyncStateRepository } from '../repositories/sync-state.ts';
import { finalNameOfTemp } from '../sync/files.ts';
import { parquetPath, parseTableId } from '../sync/paths.ts';
import { VERSION } from '../version.ts';
import { writeTar, type TarInput } from './archive.ts';
import { DATA_LAYOUT_VERSION } from './versions.ts';

/** Names inside a backup archive. */
export const BACKUP_HEADER = 'da-backup.json';
export const BACKUP_MANIFEST = 'MANIFEST.json';
export const BACKUP_FORMAT = 'da-backup';
export const BACKUP_FORMAT_VERSION = 1;
/** Where each part of the data directory goes in the archive (and comes back on restore). */
export const BACKUP_ROOTS = ['state/system.duckdb', 'parquet/', 'uploads/', 'docs/', 'config/'] as const;

/** The first entry of every backup: what it is and what wrote it. */
export interface BackupHeader {
  format: typeof BACKUP_FORMAT;
  format_version: number;
  created_at: string;
  server_version: string;
  schema_version: number;
  data_layout_version: number;
  instance: string;
}

/** The last entry: every file's sha256 and size, and each table's file and recorded hash. */
export interface BackupManifest extends BackupHeader {
  files: Record<string, { sha256: string; size: number }>;
  tables: Record<string, { path: string; sha256: string; size: number }>;
}

export interface BackupSource {
  config: Config;
  db: SystemDb;
  syncState: Pick<SyncStateRepository, 'list'>;
  logger?: Logger;
}

/** Config keys whose string values are secrets (tokens, passwords, keys, URLs with credentials). */
const SECRET_KEY = /secret|token|password|api_key|apikey|smtp_url|credential|private_key/i;

/** The effective config with every secret replaced, for the archive (and for reading, never for starting a server). */
export function redactConfig(value: unknown, key = ''): unknown {
  if (typeof value === 'string') return SECRET_KEY.test(key) ? '[redacted]' : value;
  if (Array.isArray(value)) return value.map((v) => redactConfig(v, key));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactConfig(v, k)]));
  }
  return value;
}

/** Hard-links `src` to `dest` (instant, and immune to later renames over `src`); copies where links fail. */
function pin(src: string, dest: string) {
  mkdirSync(dirname(dest), { recursive: true });
  try {
    linkSync(src, dest);
  } catch {
    copyFileSync(src, dest);
  }
}

/** Every regular file under `dir` (relative paths, sorted), skipping temporary files of uploads in progress. */
function filesUnder(dir: string, rel = ''): string[] {
  let names: string[];
  try {
    names = readdirSync(join(dir, rel)).sort();
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const name of names) {
    const path = rel ? `${rel}/${name}` : name;
    const st = statSync(join(dir, path), { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) out.push(...filesUnder(dir, path));
    else if (st.isFile() && !(name.startsWith('.') && name.endsWith('.tmp'))) out.push(path);
  }
  return out;
}

/** Pins the Parquet files (final and committed-but-not-yet-renamed), uploads and docs into `staging`. */
function pinFiles(dataDir: string, staging: string) {
  const parquetRoot = join(dataDir, 'parquet');
  if (existsSync(parquetRoot)) {
    for (const dataset of readdirSync(parquetRoot, { withFileTypes: true })) {
      if (!dataset.isDirectory()) continue;
      for (const name of readdirSync(join(parquetRoot, dataset.name))) {
        if (name.endsWith('.parquet') || finalNameOfTemp(name)) {
          const src = join(parquetRoot, dataset.name, name);
          if (statSync(src, { throwIfNoEntry: false })?.isFile()) pin(src, join(staging, 'parquet', dataset.name, name));
        }
      }
    }
  }
  for (const root of ['uploads', 'docs']) {
    for (const rel of filesUnder(join(dataDir, root))) pin(join(dataDir, root, rel), join(staging, root, rel));
  }
}

/**
 * The file a table is served from at the instant of the snapshot. sync_state is the
 * commit point of a sync (src/sync/engine.ts records the new hash, then renames the
 * temporary file into place): where the final file is not the recorded size, the
 * committed temporary file of the same size is the table's file.
 */
function tableFile(staging: string, state: SyncState): string | undefined {
  const id = parseTableId(state.table_id);
  if (!id || !state.hash) return undefined;
  const final = parquetPath(staging, id.dataset, id.table);
  const size = state.file_size_bytes;
  if (statSync(final, { throwIfNoEntry: false })?.size === size) return final;
  const dir = dirname(final);
  const want = `${id.table}.parquet`;
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    if (finalNameOfTemp(name) === want && statSync(join(dir, name)).size === size) return join(dir, name);
  }
  return undefined;
}

function fileInput(path: string, file: string): TarInput {
  const st = statSync(file);
  return { path, size: st.size, mtimeMs: st.mtimeMs, body: () => Bun.file(file).stream() };
}

function bytesInput(path: string, text: string): TarInput {
  const bytes = new TextEncoder().encode(text);
  return { path, size: bytes.length, body: async function* () { yield bytes; } };
}

/** What createBackup gives: the gzip-compressed archive, and its manifest once it is all written. */
export interface Backup {
  /** tar + gzip; read it to the end (or cancel it) so the staging folder is removed. */
  stream: ReadableStream<Uint8Array>;
  /** Resolves after the last byte with the manifest; rejects when the backup failed. */
  done: Promise<BackupManifest>;
  fileName: string;
}

/** `da-backup-<instance>-20260102T030405.678Z.tar.gz` (milliseconds: two backups never share a name). */
export function backupFileName(instance: string, at = new Date()): string {
  const stamp = at.toISOString().replace(/[-:]/g, '');
  return `da-backup-${instance.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'da'}-${stamp}.tar.gz`;
}

/**
 * One consistent backup of a running server's data directory: `state/system.duckdb`
 * copied through the write queue (after a checkpoint, with no write in between), and at
 * that same instant the Parquet files, uploads and docs pinned by hard links; then each
 * Parquet file checked against the hash sync_state recorded, the effective config without
 * secrets, and a manifest of every file's sha256. The signing key (state/secret) is not
 * included: a restored server makes a new one (web sessions sign in again; personal access
 * tokens keep working).
 *
 * @example
 * const b = await createBackup({ config, db, syncState: repos.syncState })
 * await Bun.write('x.tar.gz', new Response(b.stream)); const manifest = await b.done
 */
export async function createBackup(source: BackupSource): Promise<Backup> {
  const { config, db, syncState, logger } = source;
  const staging = join(config.dataDir, 'tmp', `backup-${randomUUID()}`);
  mkdirSync(staging, { recursive: true });
  const createdAt = new Date();
  let states: SyncState[];
  try {
    states = await db.copyTo(join(staging, 'system.duckdb'), async () => {
      const list = await syncState.list();
      pinFiles(config.dataDir, staging);
      return list;
    });
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  const header: BackupHeader = {
    format: BACKUP_FORMAT,
    format_version: BACKUP_FORMAT_VERSION,
    created_at: createdAt.toISOString(),
    server_version: VERSION,
    schema_version: db.schemaVersion,
    data_layout_version: DATA_LAYOUT_VERSION,
    instance: config.instance.name,
  };
  const manifest: BackupManifest = { ...header, files: {}, tables: {} };

  const inputs: Array<TarInput & { expect?: string; table?: string }> = [fileInput('state/system.duckdb', join(staging, 'system.duckdb'))];
  for (const state of states.sort((a, b) => a.table_id.localeCompare(b.table_id))) {
    if (!state.hash) continue;
    const file = tableFile(staging, state);
    const id = parseTableId(state.table_id);
    if (!file || !id) {
      logger?.warn('backup: a synced table has no file of its recorded size; left out', { table: state.table_id });
      continue;
    }
    const path = relative(staging, parquetPath(staging, id.dataset, id.table));
    inputs.push({ ...fileInput(path, file), expect: state.hash, table: state.table_id });
  }
  for (const root of ['uploads', 'docs']) {
    for (const rel of filesUnder(join(staging, root))) inputs.push(fileInput(`${root}/${rel}`, join(staging, root, rel)));
  }
  const { configPath: _path, dataDir: _dir, ...effective } = config;
  inputs.push(bytesInput('config/effective-config.json', JSON.stringify(redactConfig(effective), null, 2) + '\n'));

  let resolveDone!: (m: BackupManifest) => void;
  let rejectDone!: (e: unknown) => void;
  const done = new Promise<BackupManifest>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  done.catch(() => {});

  async function* hashed(): AsyncGenerator<TarInput> {
    yield bytesInput(BACKUP_HEADER, JSON.stringify(header, null, 2) + '\n');
    for (const input of inputs) {
      const hasher = new Bun.CryptoHasher('sha256');
      yield {
        ...input,
        body: async function* () {
          for await (const chunk of input.body() as AsyncIterable<Uint8Array>) {
            hasher.update(chunk);
            yield chunk;
          }
          const sha256 = hasher.digest('hex');
          if (input.expect && sha256 !== input.expect) {
            throw new Error(`${input.path} does not match the hash sync_state recorded for ${input.table} (file damaged on disk?); run a sync of that table, then back up again`);
          }
          manifest.files[input.path] = { sha256, size: input.size };
          if (input.table) manifest.tables[input.table] = { path: input.path, sha256, size: input.size };
        },
      };
    }
    yield bytesInput(BACKUP_MANIFEST, JSON.stringify(manifest, null, 2) + '\n');
  }

  async function* archive(): AsyncGenerator<Uint8Array> {
    try {
      yield* writeTar(hashed());
      resolveDone(manifest);
    } catch (err) {
      rejectDone(err);
      throw err;
    } finally {
      rmSync(staging, { recursive: true, force: true });
      rejectDone(new Error('the backup stream was cancelled'));
    }
  }

  const chunks = archive();
  // Pulled: the archive is produced as fast as the reader takes it, never buffered whole.
  const tar = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done: end } = await chunks.next();
        if (end) controller.close();
        else controller.enqueue(value);
      } catch (err) {
        controller.error(err);
      }
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
  // gzip level 1: Parquet is compressed already, so higher levels cost time and gain little
  // (measured: level 1 ≈ 1.7× the throughput of level 6 on Parquet-like bytes).
  const gzip = createGzip({ level: 1 });
  pipeline(Readable.fromWeb(tar as unknown as import('node:stream/web').ReadableStream<Uint8Array>), gzip, () => {
    // Errors reach the reader through gzip (pipeline destroys it with the error).
  });
  const stream = Readable.toWeb(gzip) as unknown as ReadableStream<Uint8Array>;
  return { stream, done, fileName: backupFileName(config.instance.name, createdAt) };
}
