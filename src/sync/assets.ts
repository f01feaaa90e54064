import { lstatSync, readdirSync, readFileSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { NAME_PATTERN } from './paths.ts';

/**
 * Documents shipped to analysts with `da sync`, kept under `$DA_DATA_DIR/docs/`:
 *
 * - `docs/rules/**`               organisation rules, for every caller
 * - `docs/<file>` (top level)     organisation-wide notes, for every caller
 * - `docs/datasets/<dataset>/**`  a dataset's documentation, for callers who may read it
 *
 * Anything else (other top-level folders, hidden files, symlinks, names outside
 * `[A-Za-z0-9._-]`) is not served, so a misplaced file is never published by accident.
 * In the manifest and under `/api/assets/`, a document's path is its path below the
 * data directory (`docs/rules/sql-style.md`).
 */
export interface DocAsset {
  /** `docs/…`, the manifest key and the tail of its URL. */
  path: string;
  /** Absolute file path. */
  file: string;
  hash: string;
  size_bytes: number;
  /** The dataset whose readers may see it; null for organisation-wide documents. */
  dataset: string | null;
}

const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}$/;
const MAX_DEPTH = 8;

/**
 * Splits an asset path into safe segments, or undefined when it could escape or is not
 * one the layout serves. Used before any file system access.
 */
export function parseDocPath(path: string): { segments: string[]; dataset: string | null } | undefined {
  const segments = path.split('/');
  if (segments[0] !== 'docs' || segments.length < 2 || segments.length > MAX_DEPTH + 1) return undefined;
  if (!segments.slice(1).every((s) => SEGMENT.test(s) && s !== '..' && !s.startsWith('.'))) return undefined;
  if (segments.length === 2) return { segments, dataset: null };
  if (segments[1] === 'rules') return { segments, dataset: null };
  if (segments[1] === 'datasets' && segments.length >= 4 && NAME_PATTERN.test(segments[2]!)) {
    return { segments, dataset: segments[2]! };
  }
  return undefined;
}

/** The documents index: a directory scan at most every `ttlMs`, hashes reused while a file is unchanged. */
export interface DocsIndex {
  /** All documents; `version` changes when any document appears, changes or goes. */
  list(): { version: number; assets: DocAsset[] };
  /** One document by asset path (checked on disk now, not from the cached scan). */
  get(path: string): DocAsset | undefined;
}

export function createDocsIndex(dataDir: string, { ttlMs = 1000 }: { ttlMs?: number } = {}): DocsIndex {
  const root = join(dataDir, 'docs');
  const hashes = new Map<string, { key: string; hash: string }>();
  let scannedAt = -Infinity;
  let version = 0;
  let signature = '';
  let assets: DocAsset[] = [];

  function describe(path: string, file: string, st: Stats, dataset: string | null): DocAsset {
    const key = `${st.size}:${st.mtimeMs}:${st.ino}`;
    let entry = hashes.get(file);
    if (entry?.key !== key) {
      entry = { key, hash: new Bun.CryptoHasher('sha256').update(readFileSync(file)).digest('hex') };
      hashes.set(file, entry);
    }
    return { path, file, hash: entry.hash, size_bytes: st.size, dataset };
  }

  function walk(dir: string, rel: string[], depth: number, out: DocAsset[]) {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const name of names) {
      const segments = [...rel, name];
      const file = join(dir, name);
      let st: Stats;
      try {
        st = lstatSync(file);
      } catch {
        continue;
      }
      if (st.isDirectory() && depth < MAX_DEPTH && SEGMENT.test(name) && !name.startsWith('.')) {
        walk(file, segments, depth + 1, out);
      } else if (st.isFile()) {
        const parsed = parseDocPath(segments.join('/'));
        if (parsed) out.push(describe(segments.join('/'), file, st, parsed.dataset));
      }
    }
  }

  return {
    list() {
      const now = performance.now();
      if (now - scannedAt >= ttlMs) {
        scannedAt = now;
        const found: DocAsset[] = [];
        walk(root, ['docs'], 0, found);
        const sig = found.map((a) => `${a.path}#${a.hash}`).join('\n');
        if (sig !== signature) {
          signature = sig;
          version++;
          assets = found;
        }
      }
      return { version, assets };
    },

    get(path) {
      const parsed = parseDocPath(path);
      if (!parsed) return undefined;
      const file = join(root, ...parsed.segments.slice(1));
      // Every directory on the way must be a real directory, not a symlink out of docs/.
      for (let i = 1; i < parsed.segments.length; i++) {
        try {
          const st = lstatSync(join(root, ...parsed.segments.slice(1, i + 1)));
          const last = i === parsed.segments.length - 1;
          if (last ? !st.isFile() : !st.isDirectory()) return undefined;
          if (last) return describe(path, file, st, parsed.dataset);
        } catch {
          return undefined;
        }
      }
      return undefined;
    },
  };
}
