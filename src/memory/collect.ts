import { readdirSync, readFileSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log.ts';
import { newId } from '../auth/secrets.ts';
import type { Candidate, ExtractionInput, Extractor } from './extractor.ts';
import type { MemoryRepository, NewMemoryItem, StoredMemoryItem } from '../repositories/memory.ts';
import { findTwin, fingerprint } from './dedup.ts';
import { transcriptFromJsonl } from './llm/transcript.ts';
import { DEFAULT_CATEGORY } from './service.ts';

/** What one collection run did. */
export interface CollectReport {
  extractor: string;
  /** Uploads read (new or changed since the last run). */
  read: number;
  /** Uploads left alone because their content hash is the one read before. */
  unchanged: number;
  /** New pending items. */
  created: number;
  /** Candidates that were already items: their uploader became a contributor instead. */
  merged: number;
  /** Uploads the extractor failed on: logged, skipped, read again next run. */
  failed: Array<{ source: string; error: string }>;
}

export interface CollectDeps {
  dataDir: string;
  repo: MemoryRepository;
  extractor: Extractor;
  logger: Logger;
  /** Every item as stored now (the dedup base). */
  items(): Promise<StoredMemoryItem[]>;
  /** Called after anything was stored. */
  onChange(): void;
}

/** One upload the collection reads. */
interface Upload {
  /** Path below the data directory: `uploads/<user>/CLAUDE.local.md`. */
  path: string;
  file: string;
  userId: string;
  kind: ExtractionInput['kind'];
}

const USER_DIR = /^[A-Za-z0-9_-]{1,64}$/;
const MAX = { title: 200, content: 20_000, category: 64, tags: 20, tag: 64 };

function entries(dir: string): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

/** Every user's CLAUDE.local.md and session transcripts under `<dataDir>/uploads/`, in a stable order. */
export function listUploads(dataDir: string): Upload[] {
  const root = join(dataDir, 'uploads');
  const out: Upload[] = [];
  for (const u of entries(root).filter((e) => e.isDirectory() && USER_DIR.test(e.name)).sort((a, b) => a.name.localeCompare(b.name))) {
    const dir = join(root, u.name);
    if (entries(dir).some((e) => e.isFile() && e.name === 'CLAUDE.local.md')) {
      out.push({ path: `uploads/${u.name}/CLAUDE.local.md`, file: join(dir, 'CLAUDE.local.md'), userId: u.name, kind: 'notes' });
    }
    let sessions: Dirent[] = [];
    try {
      sessions = readdirSync(join(dir, 'sessions'), { withFileTypes: true, recursive: true });
    } catch {
      // no transcripts uploaded
    }
    const files = sessions.filter((e) => e.isFile() && e.name.endsWith('.jsonl')).map((e) => join(e.parentPath, e.name)).sort();
    for (const file of files) out.push({ path: `uploads/${u.name}/${file.slice(dir.length + 1).split(/[\\/]/).join('/')}`, file, userId: u.name, kind: 'transcript' });
  }
  return out;
}

/** A candidate cut to the limits and trimmed, or undefined when nothing usable is left. */
function clean(c: Candidate): Candidate | undefined {
  if (!c || typeof c.title !== 'string' || typeof c.content !== 'string') return undefined;
  const title = c.title.replace(/\s+/g, ' ').trim().slice(0, MAX.title);
  const content = c.content.trim().slice(0, MAX.content);
  if (!title || !content) return undefined;
  const category = (typeof c.category === 'string' ? c.category.trim().toLowerCase().slice(0, MAX.category) : '') || DEFAULT_CATEGORY;
  const tags = [...new Set((Array.isArray(c.tags) ? c.tags : []).filter((t): t is string => typeof t === 'string').map((t) => t.trim().toLowerCase().slice(0, MAX.tag)).filter(Boolean))].slice(0, MAX.tags);
  return { title, content, category, tags };
}

/**
 * The extraction run: reads every new or changed upload (CLAUDE.local.md, session
 * transcripts as the text of their messages), asks the extractor for candidates, and stores
 * each upload's outcome in one transaction: new `pending` items, the uploader added as a
 * contributor where a candidate repeats an existing item (whatever its status, so a rejected
 * one is not proposed again), and the upload's content hash. An upload the extractor fails
 * on is logged and skipped, with nothing stored for it; it is read again next run. Uploaded
 * text only ever becomes pending items: nothing here approves, changes or deletes anything.
 */
export async function collectMemory(deps: CollectDeps, signal?: AbortSignal): Promise<CollectReport> {
  const { repo, extractor, logger } = deps;
  const report: CollectReport = { extractor: extractor.name, read: 0, unchanged: 0, created: 0, merged: 0, failed: [] };
  const seen = await repo.sourceHashes();
  let known = [...(await deps.items())];
  for (const upload of listUploads(deps.dataDir)) {
    if (signal?.aborted) break;
    let bytes: Buffer;
    try {
      bytes = readFileSync(upload.file);
    } catch {
      continue; // replaced or removed meanwhile: the next run sees it
    }
    const sha256 = new Bun.CryptoHasher('sha256').update(bytes).digest('hex');
    if (seen.get(upload.path) === sha256) {
      report.unchanged++;
      continue;
    }
    report.read++;
    const raw = bytes.toString('utf8');
    const text = upload.kind === 'transcript' ? transcriptFromJsonl(raw) : raw;
    let candidates: Candidate[] = [];
    try {
      if (text.trim()) candidates = await extractor.extract({ kind: upload.kind, text, source: upload.path, contributor: upload.userId }, signal);
      if (!Array.isArray(candidates)) throw new Error('the extractor returned something other than a list of candidates');
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      logger.warn('memory extraction failed; the upload is skipped until the next run', { source: upload.path, extractor: extractor.name, error });
      report.failed.push({ source: upload.path, error });
      continue;
    }
    const created: NewMemoryItem[] = [];
    const merged = new Map<string, { itemId: string; userId: string }>();
    for (const c of candidates.map(clean)) {
      if (!c) continue;
      const twin = findTwin(c, [...known, ...created]);
      if (twin) {
        if (!twin.contributors.includes(upload.userId)) merged.set(twin.id, { itemId: twin.id, userId: upload.userId });
        continue;
      }
      created.push({
        id: newId(), title: c.title, content: c.content, category: c.category, tags: c.tags, status: 'pending', audience: null,
        source: upload.path, fingerprint: fingerprint(c.title), created_by: null, contributors: [upload.userId],
      });
    }
    await repo.recordExtraction({ path: upload.path, sha256, userId: upload.userId, created, merged: [...merged.values()] });
    deps.onChange();
    report.created += created.length;
    report.merged += merged.size;
    known = [...(await deps.items())];
    logger.info('memory extracted', { source: upload.path, extractor: extractor.name, created: created.length, merged: merged.size });
  }
  return report;
}
