import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import type { Client } from './client.ts';
import { assertRoomFor, diskFullMessage, isDiskFull } from './disk.ts';
import { downloadVerified, resumableBytes, sha256File, type DownloadOptions } from './download.ts';
import { openFlushJournal, settleFlushJournal } from './durability.ts';
import { CliError, oneLine } from './errors.ts';
import { formatBytes } from './format.ts';
import { parseUploadName, UPLOAD_LIMITS } from '../src/sync/upload-rules.ts';
import { looksLikeDuckDb, openLocalDb, viewProblems, viewsRootFile, writeViews, type ViewTable } from './local-db.ts';
import { writeFileSync } from 'node:fs';
import { DEFAULT_RETRY, unreachableError, withRetry, type RetryPolicy } from './retry.ts';
import { dbFileStamp, readSyncState, sameStamp, serializeSyncState, writeSyncState, type LocalPart, type LocalSyncState, type LocalTable } from './sync-state.ts';
import { NAME_PATTERN } from '../src/sync/paths.ts';
import type { Manifest } from '../src/sync/manifest-schema.ts';
import { localParquetPath, localPartPath, localPartsDir, localTableFiles, viewTableOf, workspacePaths, type WorkspacePaths } from './workspace.ts';
import { RULE_FILE } from '../src/memory/digest.ts';
import { chainOfFull, checkMerged, planDelta, type DeltaPlan } from './delta.ts';

/** Where Claude Code reads a project's rules; `da sync` owns the `km_*.md` files there. */
export function claudeRulesDir(ws: WorkspacePaths): string {
  return join(ws.root, '.claude', 'rules');
}

export type { Manifest };

/** The manifest from the response body, checked against the schema the server writes it with. */
export async function readManifest(res: Response): Promise<Manifest> {
  const body = (await res.json().catch(() => null)) as { manifest_version?: unknown } | null;
  if (body && typeof body === 'object' && body.manifest_version !== undefined && body.manifest_version !== 1) {
    throw new CliError(`unsupported manifest version ${String(body.manifest_version)}; upgrade da`);
  }
  // Loaded here: building the zod schema is a cost a sync answered 304 does not need.
  const { ManifestSchema } = await import('../src/sync/manifest-schema.ts');
  const parsed = ManifestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new CliError(`the server sent a manifest da cannot read (${issue.path.join('.') || 'body'}: ${issue.message}); is it a da server?`);
  }
  return parsed.data;
}

/** What `da sync` should do. */
export interface SyncOptions {
  tables?: string[];
  uploadOnly?: boolean;
  docsOnly?: boolean;
  dryRun?: boolean;
  /** Hash every local file instead of trusting size and mtime. */
  verify?: boolean;
  concurrency?: number;
  /** Called with progress (only wired up when stderr is a terminal). */
  onProgress?: (p: { done: number; total: number; bytes: number; totalBytes: number }) => void;
  /** Where Claude Code keeps session transcripts (`~/.claude`). */
  claudeDir?: string;
  /** Download only the missing delta parts of tables the server keeps as base + deltas (default true). */
  parts?: boolean;
  /** Retries of transient network failures (default: 60 s per table; see retryPolicyFromEnv). */
  retry?: RetryPolicy;
  /** Where the boot id comes from (cli/durability.ts; DA_BOOT_ID in tests). */
  env?: Record<string, string | undefined>;
}

/** The change report (`da sync --json`). */
export interface SyncReport {
  server: string;
  workspace: string;
  dry_run: boolean;
  manifest: 'unchanged' | 'updated' | 'skipped';
  tables: {
    added: { id: string; bytes: number; rows: number | null; via: 'full' }[];
    /**
     * `via: 'delta'`: only the missing delta parts were downloaded and merged; then
     * rows_added/rows_changed/rows_removed are exact (null after a full download).
     */
    changed: {
      id: string; bytes: number; rows_before: number | null; rows_after: number | null; row_delta: number | null; reason: string;
      via: 'full' | 'delta'; rows_added: number | null; rows_changed: number | null; rows_removed: number | null;
    }[];
    removed: { id: string; rows: number | null }[];
    unchanged: number;
    resumed: string[];
  };
  assets: { updated: string[]; removed: string[] };
  /** Tables that stay in their warehouse (never downloaded): query them with `da query --remote`. */
  remote_tables?: string[];
  uploads: { sessions: string[]; artifacts: string[]; local_md: boolean; skipped: { name: string; reason: string }[] };
  bytes_downloaded: number;
  /** Bytes the downloads needed and the free space they were checked against (null: nothing to download). */
  disk: { needed_bytes: number; free_bytes: number } | null;
  /** `moved_aside`: where a local database that could not be opened was moved before the rebuild. */
  /** `repaired`: what was wrong with the views when the table set had not changed (a dropped view, a moved workspace). */
  views: { rebuilt: boolean; count: number; skipped: string[]; moved_aside: string | null; repaired: string[] };
  errors: SyncError[];
  elapsed_ms: number;
  /** Files an earlier sync wrote that did not survive a restart of the machine (removed, then fetched again). */
  lost?: string[];
}

/** One thing that failed: the table or file, a line in our words, and the runtime's own text. */
export interface SyncError {
  id: string;
  message: string;
  /** `disk_full`, `unreachable`, `hash_mismatch`, `damaged_db`, … when known. */
  reason?: string;
  /** The underlying error as the runtime put it (shown with --verbose). */
  detail?: string;
}

const ASSET_SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}$/;
/** A manifest asset path mapped under ./server/, or undefined when it could escape. */
export function assetTarget(ws: WorkspacePaths, path: string): string | undefined {
  const segs = path.split('/');
  // Mandatory corporate memory rules go where Claude Code reads project rules.
  if (segs[0] === 'rules') return segs.length === 2 && RULE_FILE.test(segs[1]!) ? join(claudeRulesDir(ws), segs[1]!) : undefined;
  if (segs.length < 2 || segs.length > 10 || !['docs', 'profiles', 'metrics'].includes(segs[0]!)) return undefined;
  if (!segs.every((s) => ASSET_SEGMENT.test(s) && s !== '..')) return undefined;
  return join(ws.serverDir, ...segs);
}

function statOrUndefined(path: string) {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** Lists files under `dir` (relative paths with `/`), skipping hidden ones. */
function listFiles(dir: string, filter: (name: string) => boolean, rel = ''): string[] {
  let entries;
  try {
    entries = readdirSync(join(dir, rel), { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(dir, filter, r));
    else if (e.isFile() && filter(e.name)) out.push(r);
  }
  return out;
}

/** Claude Code's transcript folder for a project directory (`/a/b.c` → `-a-b-c`). */
export function claudeProjectDir(claudeDir: string, workspace: string): string {
  return join(claudeDir, 'projects', workspace.replace(/[^A-Za-z0-9]/g, '-'));
}

/** Takes the workspace's sync lock, or fails when another live `da sync` holds it. */
export function acquireLock(ws: WorkspacePaths): () => void {
  mkdirSync(dirname(ws.lock), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(ws.lock, 'wx');
    } catch {
      const pid = Number(readFileSync(ws.lock, 'utf8'));
      let alive = false;
      try {
        alive = pid > 0 && process.kill(pid, 0);
      } catch {
        alive = false;
      }
      if (alive) throw new CliError(`another da sync is running in this workspace (pid ${pid})`);
      rmSync(ws.lock, { force: true });
      continue;
    }
    try {
      writeSync(fd, String(process.pid));
    } catch (err) {
      rmSync(ws.lock, { force: true });
      if (isDiskFull(err)) throw new CliError(`cannot start da sync: ${diskFullMessage(ws.root, err)}`, 1, { reason: 'disk_full' }, { cause: err });
      throw err;
    } finally {
      closeSync(fd);
    }
    return () => rmSync(ws.lock, { force: true });
  }
  throw new CliError(`cannot take the sync lock ${ws.lock}`);
}

/** One sync's shared context; `halt` stops further downloads once the disk is full or the server is gone. */
interface SyncRun {
  client: Client;
  ws: WorkspacePaths;
  state: LocalSyncState;
  opts: SyncOptions;
  report: SyncReport;
  save: () => void;
  policy: RetryPolicy;
  /** How downloads run (threads, and the journal that stands in for flushing each file). */
  download: DownloadOptions;
  /** Sizes of the table files syncTables found in place and left alone, so refreshViews need not stat them again. */
  sizes: Map<string, number>;
  halt?: SyncError;
}

/** A failure as the report shows it: our words first, the runtime's words as `detail`. */
function describeFailure(err: unknown, ws: WorkspacePaths): Omit<SyncError, 'id'> {
  const raw = (e: unknown) => oneLine(e instanceof Error ? e.message : String(e));
  const cause = err instanceof Error && err.cause !== undefined ? err.cause : err;
  if (isDiskFull(err)) return { message: diskFullMessage(ws.parquetDir, err), reason: 'disk_full', detail: raw(err) };
  if (err instanceof CliError) {
    const reason = typeof err.details.reason === 'string' ? err.details.reason : undefined;
    return { message: oneLine(err.message), ...(reason ? { reason } : {}), ...(cause !== err ? { detail: raw(cause) } : {}) };
  }
  return { message: raw(err), detail: err instanceof Error ? oneLine(err.stack ?? err.message) : String(err) };
}

/**
 * Records a failed download. A full disk or a server that stayed away past the retries halts
 * the rest of the downloads with the same message (one line on the terminal, not one per table).
 */
function recordFailure(run: SyncRun, id: string, err: unknown): void {
  const f = describeFailure(err, run.ws);
  const halting = f.reason === 'disk_full' || f.reason === 'unreachable';
  const halt = run.halt;
  if (halt && halting && halt.reason === f.reason) {
    run.report.errors.push({ ...halt, id });
    return;
  }
  const e = { id, ...f };
  run.report.errors.push(e);
  if (halting && !run.halt) run.halt = e;
}

/**
 * One `da sync` run: manifest diff by hash, parallel verified downloads, removals,
 * assets, local views, uploads, local state. Returns the change report.
 */
export async function runSync(client: Client, configDir: string, cwd: string, opts: SyncOptions = {}): Promise<SyncReport> {
  const started = performance.now();
  const ws = workspacePaths(cwd);
  const report: SyncReport = {
    server: client.server!,
    workspace: ws.root,
    dry_run: Boolean(opts.dryRun),
    manifest: 'skipped',
    tables: { added: [], changed: [], removed: [], unchanged: 0, resumed: [] },
    assets: { updated: [], removed: [] },
    uploads: { sessions: [], artifacts: [], local_md: false, skipped: [] },
    bytes_downloaded: 0,
    disk: null,
    views: { rebuilt: false, count: 0, skipped: [], moved_aside: null, repaired: [] },
    errors: [],
    elapsed_ms: 0,
  };
  const release = opts.dryRun ? () => {} : acquireLock(ws);
  try {
    let state = readSyncState(configDir, ws.root);
    // The state as read: a save that would write the same text is skipped.
    let saved = serializeSyncState(state);
    if (state.server !== client.server) {
      // Another server's hashes mean nothing here; files are re-verified against the new manifest.
      state = { ...state, server: client.server!, manifest_etag: null, assets: {}, uploads: {} };
    }
    // Files an earlier sync renamed without waiting for the disk: flushed, or checked after a restart.
    if (!opts.dryRun) {
      const { lost } = await settleFlushJournal(ws, opts.env);
      if (lost.length) report.lost = lost;
    }
    const run: SyncRun = {
      client, ws, state, opts, report, policy: opts.retry ?? DEFAULT_RETRY, sizes: new Map(),
      download: { journal: opts.dryRun ? undefined : openFlushJournal(ws, opts.env) },
      save: () => {
        if (opts.dryRun) return;
        const text = serializeSyncState(state);
        if (text !== saved) writeSyncState(configDir, state, text);
        saved = text;
      },
    };

    if (!opts.uploadOnly) await syncDownloads(run);
    if (!opts.docsOnly) await syncUploads(client, ws, state, opts, report, run.save);
    // A sync that failed anywhere is not a sync the workspace can be trusted to match.
    if (!opts.dryRun && !opts.uploadOnly && report.errors.length === 0) state.last_sync = new Date().toISOString();
    run.save();
  } finally {
    release();
  }
  report.elapsed_ms = Math.round(performance.now() - started);
  return report;
}

// The manifest is one small request: a server that is down is reported sooner than for a table.
const MANIFEST_RETRY_CAP_MS = 15_000;

async function fetchManifest(run: SyncRun, headers: Record<string, string>): Promise<Response> {
  const policy = { ...run.policy, budgetMs: Math.min(run.policy.budgetMs, MANIFEST_RETRY_CAP_MS) };
  return withRetry(
    policy,
    () => run.client.request('GET', '/api/sync/manifest', { headers, accept: [304] }),
    (err, tries, elapsed) => unreachableError(run.client.server!, 'the manifest', err, tries, elapsed),
  );
}

async function syncDownloads(run: SyncRun) {
  const { ws, state, opts, report } = run;
  const filtered = Boolean(opts.tables?.length);
  const headers: Record<string, string> = {};
  if (state.manifest_etag && !filtered && !opts.verify && existsSync(ws.db)) headers['if-none-match'] = state.manifest_etag;
  const res = await fetchManifest(run, headers);
  let manifest: Manifest;
  if (res.status === 304) {
    await res.body?.cancel();
    report.manifest = 'unchanged';
    // Nothing changed on the server: only check that the local files are still the ones we wrote.
    manifest = {
      manifest_version: 1, generated_at: '', server_version: '',
      tables: Object.fromEntries(Object.entries(state.tables).map(([id, t]) => [id, { ...t, url: `/api/data/${id}/download` }])),
      assets: Object.fromEntries(Object.entries(state.assets).map(([p, a]) => [p, { ...a, url: `/api/assets/${p}` }])),
    };
  } else {
    report.manifest = 'updated';
    manifest = await readManifest(res);
    // Remote tables have no file: they are listed, never downloaded.
    if (!filtered) state.remote_tables = Object.keys(manifest.remote_tables ?? {}).sort();
    // Dataset and table names become paths and schema names: anything but a plain name is refused.
    for (const [id, m] of Object.entries(manifest.tables)) {
      if (NAME_PATTERN.test(m.dataset) && NAME_PATTERN.test(m.name) && id === `${m.dataset}.${m.name}`) continue;
      report.errors.push({ id, message: 'refused: the manifest gives this table an invalid dataset or name' });
      delete manifest.tables[id];
    }
  }
  const etag = res.status === 304 ? state.manifest_etag : res.headers.get('etag');
  if (state.remote_tables?.length) report.remote_tables = state.remote_tables;

  if (!opts.docsOnly) await syncTables(run, manifest);
  if (!filtered) await syncAssets(run, manifest);
  if (!opts.dryRun && !filtered && report.errors.length === 0) state.manifest_etag = etag;
}

type Job = { id: string; reason: string; kind: 'added' | 'changed'; delta?: DeltaPlan };

/** Downloads one table (a second, fresh try when the first file did not verify) and records it. */
async function downloadTable(run: SyncRun, manifest: Manifest, j: Job, progress: () => void): Promise<void> {
  const m = manifest.tables[j.id]!;
  const path = localParquetPath(run.ws, m.dataset, m.name);
  if (j.delta) {
    try {
      await applyDelta(run, m, j, j.delta, progress);
      return;
    } catch (err) {
      // A part that does not verify is an error (the previous file stays; the next sync retries);
      // a merge that does not come out as the manifest says falls back to the full file.
      // A part the server no longer has (compacted since the manifest was read) also means the full file.
      const gone = err instanceof CliError && err.details.status === 404;
      if (!(err instanceof CliError) || (err.details.reason !== 'delta_mismatch' && !gone)) throw err;
      j = { id: j.id, kind: j.kind, reason: `${j.reason}; ${oneLine(err.message)}: downloaded the full file` };
    }
  }
  const prev = run.state.tables[j.id];
  // Without a new manifest (304) the table's facts come from the state, whose size is the local
  // file's when that file has its own hash (a base under kept parts, a merged file): the hash decides.
  const size = run.report.manifest === 'unchanged' && prev?.file_hash ? null : m.size_bytes;
  const get = () =>
    downloadVerified(run.client, m.url, path, { hash: m.hash, size }, (n) => {
      run.report.bytes_downloaded += n;
      progress();
    }, run.policy, j.id, run.download);
  let r;
  try {
    r = await get();
  } catch (err) {
    if (!(err instanceof CliError) || err.details.reason !== 'hash_mismatch') throw err;
    r = await get();
  }
  if (r.resumed) run.report.tables.resumed.push(j.id);
  const st = statSync(path);
  recordJob(run.report, run.state, manifest, j, st.size);
  // The file of the hash the state already had equals the chain recorded for it (a 304 manifest lists no parts).
  const chain = chainOfFull(m) ?? (prev?.hash === m.hash ? prev.chain : undefined);
  run.state.tables[j.id] = { ...tableRecord(m), size_bytes: st.size, file_mtime_ms: st.mtimeMs, ...(chain ? { chain } : {}) };
  run.save();
}

/**
 * Downloads the deltas the local data lacks (each verified against its hash, through a
 * `.part` file) into the table's parts folder, checks the merge of the file and all its
 * parts (columns, and rows against the manifest) and records the new parts and chain. Nothing
 * is rewritten: the views, rebuilt at the end of the sync, merge the parts at query time, and
 * until then the old views read the old files, which stay as they were.
 */
async function applyDelta(run: SyncRun, m: Manifest['tables'][string], j: Job, plan: DeltaPlan, progress: () => void): Promise<void> {
  const local = run.state.tables[j.id]!;
  const fresh: LocalPart[] = [];
  let bytes = 0;
  let resumed = false;
  const drop = () => {
    for (const p of fresh) rmSync(localPartPath(run.ws, m.dataset, m.name, p.seq), { force: true });
  };
  try {
    for (const d of plan.missing) {
      const file = localPartPath(run.ws, m.dataset, m.name, d.seq);
      const r = await downloadVerified(run.client, d.url, file, { hash: d.hash, size: d.size_bytes }, (n) => {
        bytes += n;
        run.report.bytes_downloaded += n;
        progress();
      }, run.policy, `${j.id} part ${d.seq}`, run.download);
      resumed ||= r.resumed;
      const st = statSync(file);
      fresh.push({ seq: d.seq, hash: d.hash, size_bytes: st.size, mtime_ms: st.mtimeMs });
    }
    const delta_parts = { primary_key: plan.parts.primary_key, parts: [...(local.delta_parts?.parts ?? []), ...fresh] };
    await checkMerged(viewTableOf(run.ws, { dataset: m.dataset, name: m.name, delta_parts, size_bytes: local.size_bytes }), m.rows);
    const before = local.rows;
    if (resumed) run.report.tables.resumed.push(j.id);
    run.report.tables.changed.push({
      id: j.id, bytes, rows_before: before, rows_after: m.rows, row_delta: before !== null && m.rows !== null ? m.rows - before : null,
      reason: j.reason, via: 'delta', rows_added: plan.rows_added, rows_changed: plan.rows_changed, rows_removed: plan.rows_removed,
    });
    // The base file is the one last downloaded whole (or merged by an older da): its own facts stay.
    run.state.tables[j.id] = {
      ...tableRecord(m), size_bytes: local.size_bytes, file_mtime_ms: local.file_mtime_ms, file_hash: local.file_hash ?? local.hash,
      chain: { base: plan.parts.base.hash, deltas: plan.parts.deltas.map((d) => ({ seq: d.seq, hash: d.hash })) },
      delta_parts,
    };
    run.save();
  } catch (err) {
    // The parts of a delta that is not applied are not kept (a resumable `.part` of a cut download is).
    drop();
    throw err;
  }
}

/** Whether a table's kept delta parts are all there as recorded (size and mtime). */
function partsIntact(ws: WorkspacePaths, t: LocalTable): boolean {
  // Most tables keep no parts: the no-op sync of every table passes here, so skip the paths.
  if (!t.delta_parts?.parts.length) return true;
  return localTableFiles(ws, t).slice(1).every((f) => {
    const st = statOrUndefined(f.path);
    return st?.size === f.size && st.mtimeMs === f.mtime;
  });
}

/** Hashes every file of a table (its file and kept parts); when all match, records their new mtimes. */
async function verifyTableFiles(ws: WorkspacePaths, t: LocalTable, m: Manifest['tables'][string]): Promise<boolean> {
  const files = localTableFiles(ws, t);
  // A file downloaded whole is the manifest's file; one merged or kept under parts has its own hash.
  if (!t.file_hash && !t.delta_parts?.parts.length) files[0] = { ...files[0]!, size: m.size_bytes ?? files[0]!.size, hash: m.hash };
  const stats: { mtimeMs: number }[] = [];
  for (const f of files) {
    const st = statOrUndefined(f.path);
    if (st?.size !== f.size || (await sha256File(f.path)) !== f.hash) return false;
    stats.push(st);
  }
  t.file_mtime_ms = stats[0]!.mtimeMs;
  t.delta_parts?.parts.forEach((p, i) => (p.mtime_ms = stats[i + 1]!.mtimeMs));
  return true;
}

async function syncTables(run: SyncRun, manifest: Manifest) {
  const { ws, state, opts, report } = run;
  let ids = Object.keys(manifest.tables).sort();
  const filtered = Boolean(opts.tables?.length);
  if (filtered) {
    const wanted = new Set<string>();
    for (const t of opts.tables!) {
      // `sales.*`, `*_daily`: a glob matches table ids and plain names like an exact name does.
      const glob = /[*?[]/.test(t) ? new Bun.Glob(t) : null;
      const hits = ids.filter((id) => (glob ? glob.match(id) || glob.match(manifest.tables[id]!.name) : id === t || manifest.tables[id]!.name === t));
      if (!hits.length) {
        const what = glob ? `no table matches ${t}` : `no table ${t}`;
        throw new CliError(`${what} in the manifest (you may not have access); run \`da status\` to list tables`);
      }
      hits.forEach((h) => wanted.add(h));
    }
    ids = [...wanted];
  }

  const jobs: Job[] = [];
  for (const id of ids) {
    const m = manifest.tables[id]!;
    const local = state.tables[id];
    const path = localParquetPath(ws, m.dataset, m.name);
    const st = statOrUndefined(path);
    if (!st) {
      jobs.push({ id, reason: local ? 'missing locally' : 'new', kind: local ? 'changed' : 'added' });
    } else if (!local || local.hash !== m.hash) {
      // A file already on disk may be the right one (state lost): check before downloading.
      if (!local && st.size === m.size_bytes && (await sha256File(path)) === m.hash) {
        state.tables[id] = { ...tableRecord(m), size_bytes: st.size, file_mtime_ms: st.mtimeMs };
        report.tables.unchanged++;
      } else {
        // The local file as we left it, and the server's parts extend the ones it holds: fetch only those.
        const intact = local && !opts.verify && st.size === local.size_bytes && st.mtimeMs === local.file_mtime_ms && partsIntact(ws, local);
        // Parts merged on another key than the manifest's cannot be extended.
        const sameKey = !local?.delta_parts || JSON.stringify(local.delta_parts.primary_key) === JSON.stringify(m.parts?.primary_key);
        const plan = intact && sameKey && opts.parts !== false ? planDelta(local.chain, m) : undefined;
        const delta = plan && 'missing' in plan ? plan : undefined;
        jobs.push({ id, reason: 'changed on the server', kind: local ? 'changed' : 'added', ...(delta ? { delta } : {}) });
      }
    } else if (opts.verify || st.size !== local.size_bytes || st.mtimeMs !== local.file_mtime_ms || !partsIntact(ws, local)) {
      // A damaged file or kept part: the full file again (its parts go once the views no longer read them).
      if (await verifyTableFiles(ws, local, m)) report.tables.unchanged++;
      else jobs.push({ id, reason: 'local file corrupt', kind: 'changed' });
    } else {
      report.tables.unchanged++;
      run.sizes.set(path, st.size);
    }
  }

  // Tables no longer in the manifest (revoked or dropped) leave the workspace.
  const removals: { id: string; path: string; rows: number | null }[] = [];
  if (!filtered) {
    for (const [id, t] of Object.entries(state.tables)) {
      if (!manifest.tables[id]) removals.push({ id, path: localParquetPath(ws, t.dataset, t.name), rows: t.rows });
    }
    const expected = new Set(Object.values(manifest.tables).map((m) => localParquetPath(ws, m.dataset, m.name)));
    for (const rel of listFiles(ws.parquetDir, (n) => n.endsWith('.parquet'))) {
      const path = join(ws.parquetDir, ...rel.split('/'));
      if (!expected.has(path) && !removals.some((r) => r.path === path)) {
        removals.push({ id: rel.replace(/\.parquet$/, '').split('/').join('.'), path, rows: null });
      }
    }
  }

  const jobBytes = (j: Job) => j.delta?.bytes ?? manifest.tables[j.id]!.size_bytes ?? 0;
  const totalBytes = jobs.reduce((s, j) => s + jobBytes(j), 0);
  let doneCount = 0;
  const progress = () => opts.onProgress?.({ done: doneCount, total: jobs.length, bytes: report.bytes_downloaded, totalBytes });
  if (opts.dryRun) {
    for (const j of jobs) recordJob(report, state, manifest, j, jobBytes(j));
  } else {
    if (jobs.length) {
      // Before anything is written: what is still missing (a resumable part counts as there).
      const needs = jobs.map((j) => {
        const m = manifest.tables[j.id]!;
        // A delta only adds its parts (nothing is rewritten).
        if (j.delta) return { id: j.id, bytes: j.delta.bytes };
        const have = resumableBytes(localParquetPath(ws, m.dataset, m.name), { hash: m.hash, size: m.size_bytes });
        return { id: j.id, bytes: Math.max(0, (m.size_bytes ?? 0) - have) };
      });
      const room = assertRoomFor(ws.parquetDir, needs);
      if (room) report.disk = { needed_bytes: room.needed, free_bytes: room.free };
    }
    await pool(jobs, opts.concurrency ?? 4, async (j) => {
      if (run.halt) report.errors.push({ ...run.halt, id: j.id });
      else {
        try {
          await downloadTable(run, manifest, j, progress);
        } catch (err) {
          recordFailure(run, j.id, err);
        }
      }
      doneCount++;
      progress();
    });
  }
  for (const r of removals) {
    report.tables.removed.push({ id: r.id, rows: r.rows });
    if (opts.dryRun) continue;
    rmSync(r.path, { force: true });
    rmSync(`${r.path}.part`, { force: true });
    rmSync(`${r.path}.part.json`, { force: true });
    if (r.id.includes('.')) {
      const [dataset, name] = r.id.split('.') as [string, string];
      rmSync(localPartsDir(ws, dataset, name), { recursive: true, force: true });
    }
    rmSync(join(ws.profilesDir, `${r.id}.json`), { force: true });
    delete state.tables[r.id];
  }
  report.tables.added.sort((a, b) => a.id.localeCompare(b.id));
  report.tables.changed.sort((a, b) => a.id.localeCompare(b.id));
  // Part files go only once the views no longer read them: a failed rebuild keeps the old views working.
  if (!opts.dryRun && (await refreshViews(run))) pruneParts(run);
}

function tableRecord(m: Manifest['tables'][string]) {
  return {
    dataset: m.dataset, name: m.name, hash: m.hash, size_bytes: m.size_bytes ?? 0, rows: m.rows, columns: m.columns,
    updated_at: m.updated_at, synced_at: new Date().toISOString(),
  };
}

function recordJob(report: SyncReport, state: LocalSyncState, manifest: Manifest, j: Job, bytes: number) {
  const m = manifest.tables[j.id]!;
  if (j.kind === 'added') report.tables.added.push({ id: j.id, bytes, rows: m.rows, via: 'full' });
  else {
    const before = state.tables[j.id]?.rows ?? null;
    const d = j.delta;
    report.tables.changed.push({
      id: j.id, bytes, rows_before: before, rows_after: m.rows,
      row_delta: before !== null && m.rows !== null ? m.rows - before : null, reason: j.reason,
      via: d ? 'delta' : 'full', rows_added: d?.rows_added ?? null, rows_changed: d?.rows_changed ?? null, rows_removed: d?.rows_removed ?? null,
    });
  }
}

/**
 * Rebuilds the local views when the synced table set changed, or the database is missing or
 * does not look like one (a cut-off file is moved aside and rebuilt). Only files that are the
 * size the state recorded get a view: a view over a damaged file would break the rebuild.
 */
async function refreshViews(run: SyncRun): Promise<boolean> {
  const { ws, state, report } = run;
  // A delta-synced table's view also reads its kept parts: they must all be there too.
  const tables = Object.values(state.tables)
    .filter((t) => localTableFiles(ws, t).every((f) => (run.sizes.get(f.path) ?? statOrUndefined(f.path)?.size) === f.size))
    .map((t) => viewTableOf(ws, t))
    .sort((a, b) => a.path.localeCompare(b.path));
  const changed = report.tables.added.length + report.tables.changed.length + report.tables.removed.length > 0;
  const signature = new Bun.CryptoHasher('sha256').update(JSON.stringify(tables)).digest('hex');
  let repaired: string[] = [];
  if (!changed && state.views_signature === signature && looksLikeDuckDb(ws.db)) {
    // Nothing downloaded, but the views may still be wrong: one dropped by hand, a moved folder.
    // A database nobody wrote to since the views were last built or checked (same size and
    // mtime, no WAL) holds them as they were: no need to open DuckDB.
    const stamp = dbFileStamp(ws.db);
    repaired = sameStamp(stamp, state.views_db) ? [] : await checkViews(ws.db, tables);
    if (!repaired.length) {
      report.views.count = tables.length;
      state.views_db = stamp;
      markViewsRoot(ws);
      return true;
    }
  }
  try {
    const r = await writeViews(ws.db, tables);
    report.views = { rebuilt: true, count: r.views, skipped: r.skipped, moved_aside: r.moved_aside, repaired };
    state.views_signature = signature;
    state.views_db = dbFileStamp(ws.db);
    markViewsRoot(ws);
    return true;
  } catch (err) {
    const f = describeFailure(err, ws);
    const message = isDiskFull(err)
      ? `local views not rebuilt: ${diskFullMessage(dirname(ws.db), err, 'the database was left as it was — free some space and run da sync again')}`
      : f.message;
    report.errors.push({ id: relative(ws.root, ws.db), ...f, message });
    return false;
  }
}

/**
 * Removes the delta part files no view reads any more: parts of a table downloaded whole
 * again (after a compaction, a broken chain or a damaged file), of a table gone, or of a delta
 * that was not applied. A table that failed this time keeps its resumable `.part` downloads.
 */
function pruneParts(run: SyncRun): void {
  const root = join(run.ws.serverDir, 'parts');
  const failed = new Set(run.report.errors.map((e) => e.id));
  const list = (dir: string) => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  };
  for (const dataset of list(root)) {
    for (const name of list(join(root, dataset))) {
      const id = `${dataset}.${name}`;
      const dir = join(root, dataset, name);
      const t = run.state.tables[id];
      const keep = new Set((t?.delta_parts?.parts ?? []).map((p) => `${p.seq}.parquet`));
      for (const f of list(dir)) {
        if (keep.has(f) || (failed.has(id) && !f.endsWith('.parquet'))) continue;
        rmSync(join(dir, f), { recursive: true, force: true });
      }
      if (!list(dir).length) rmSync(dir, { recursive: true, force: true });
    }
    if (!list(join(root, dataset)).length) rmSync(join(root, dataset), { recursive: true, force: true });
  }
}

/** The problems of the views in the database at `db` (a database that cannot be opened is one). */
async function checkViews(db: string, tables: ViewTable[]): Promise<string[]> {
  let local;
  try {
    local = await openLocalDb(db, { readOnly: true });
  } catch (err) {
    return [`the database cannot be opened (${oneLine((err as Error).message).slice(0, 120)})`];
  }
  try {
    return await viewProblems(local.conn, tables);
  } finally {
    local.close();
  }
}

/** Records which folder the views were built for, so a moved workspace is noticed (cli/workspace-repair.ts). */
export function markViewsRoot(ws: WorkspacePaths): void {
  try {
    writeFileSync(viewsRootFile(ws.db), ws.root + '\n');
  } catch {
    // only a hint: without it the next command checks the views itself
  }
}

async function syncAssets(run: SyncRun, manifest: Manifest) {
  const { ws, state, opts, report } = run;
  const todo: string[] = [];
  for (const [path, a] of Object.entries(manifest.assets)) {
    const target = assetTarget(ws, path);
    if (!target) continue;
    const st = statOrUndefined(target);
    if (state.assets[path]?.hash !== a.hash || !st || (a.size_bytes !== null && st.size !== a.size_bytes)) todo.push(path);
  }
  await pool(todo.sort(), 4, async (path) => {
    const a = manifest.assets[path]!;
    report.assets.updated.push(path);
    if (opts.dryRun) return;
    if (run.halt) {
      report.errors.push({ ...run.halt, id: path });
      return;
    }
    try {
      const r = await downloadVerified(run.client, a.url, assetTarget(ws, path)!, { hash: a.hash, size: a.size_bytes }, () => {}, run.policy, path, run.download);
      report.bytes_downloaded += r.bytes;
      state.assets[path] = { hash: a.hash, size_bytes: a.size_bytes };
    } catch (err) {
      recordFailure(run, path, err);
    }
  });
  report.assets.updated.sort();
  for (const path of Object.keys(state.assets)) {
    if (manifest.assets[path]) continue;
    report.assets.removed.push(path);
    if (opts.dryRun) continue;
    const target = assetTarget(ws, path);
    if (target) rmSync(target, { force: true });
    delete state.assets[path];
  }
  // A km_*.md rule the server no longer delivers goes, even when the local state lost track of it.
  if (!opts.dryRun && !run.halt) {
    for (const name of listFiles(claudeRulesDir(ws), (n) => RULE_FILE.test(n))) {
      if (name.includes('/') || manifest.assets[`rules/${name}`]) continue;
      rmSync(join(claudeRulesDir(ws), name), { force: true });
      if (!report.assets.removed.includes(`rules/${name}`)) report.assets.removed.push(`rules/${name}`);
    }
  }
  run.save();
}

async function syncUploads(client: Client, ws: WorkspacePaths, state: LocalSyncState, opts: SyncOptions, report: SyncReport, save: () => void) {
  type Item = { key: string; kind: 'sessions' | 'artifacts' | 'local-md'; name: string; file: string };
  const items: Item[] = [];
  for (const rel of listFiles(ws.sessions, (n) => n.endsWith('.jsonl'))) {
    items.push({ key: `sessions/${rel}`, kind: 'sessions', name: rel, file: join(ws.sessions, ...rel.split('/')) });
  }
  const claude = claudeProjectDir(opts.claudeDir ?? join(process.env.HOME || homedir(), '.claude'), ws.root);
  for (const rel of listFiles(claude, (n) => n.endsWith('.jsonl'))) {
    if (rel.includes('/')) continue;
    items.push({ key: `claude/${rel}`, kind: 'sessions', name: `claude/${rel}`, file: join(claude, rel) });
  }
  for (const rel of listFiles(ws.artifacts, () => true)) {
    items.push({ key: `artifacts/${rel}`, kind: 'artifacts', name: rel, file: join(ws.artifacts, ...rel.split('/')) });
  }
  if (existsSync(ws.localMd)) items.push({ key: 'CLAUDE.local.md', kind: 'local-md', name: 'CLAUDE.local.md', file: ws.localMd });

  const realRoot = realpathSync(ws.root);
  const realClaude = existsSync(claude) ? realpathSync(claude) : undefined;
  for (const it of items) {
    const st = statOrUndefined(it.file);
    if (!st) continue;
    // A symbolic link (the file or a folder on the way) must not carry a file from elsewhere to the server.
    const real = realpathSync(it.file);
    const home = it.key.startsWith('claude/') ? realClaude : realRoot;
    if (!home || !real.startsWith(home + sep)) {
      report.uploads.skipped.push({ name: it.key, reason: 'a symbolic link to a file outside the workspace' });
      continue;
    }
    const prev = state.uploads[it.key];
    if (prev && prev.size === st.size && prev.mtime_ms === st.mtimeMs) continue;
    if (it.kind !== 'local-md' && !parseUploadName(it.name, it.kind)) {
      report.uploads.skipped.push({ name: it.key, reason: 'name not accepted by the server: use letters, digits, . _ - and at most 6 folders' });
      continue;
    }
    if (st.size > UPLOAD_LIMITS[it.kind]) {
      report.uploads.skipped.push({ name: it.key, reason: `larger than ${formatBytes(UPLOAD_LIMITS[it.kind])}` });
      continue;
    }
    if (!opts.dryRun) {
      try {
        await client.request('POST', `/api/upload/${it.kind}`, {
          query: it.kind === 'local-md' ? {} : { name: it.name },
          body: Bun.file(it.file),
          headers: { 'content-type': it.kind === 'local-md' ? 'text/markdown; charset=utf-8' : 'application/octet-stream' },
        });
      } catch (err) {
        report.errors.push({ id: it.key, message: (err as Error).message });
        continue;
      }
      state.uploads[it.key] = { size: st.size, mtime_ms: st.mtimeMs, uploaded_at: new Date().toISOString() };
      save();
    }
    if (it.kind === 'sessions') report.uploads.sessions.push(it.name);
    else if (it.kind === 'artifacts') report.uploads.artifacts.push(it.name);
    else report.uploads.local_md = true;
  }
}
