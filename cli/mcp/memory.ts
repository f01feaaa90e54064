import { closeSync, lstatSync, openSync, readdirSync, readFileSync, readSync, type Stats } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { WorkspacePaths } from '../workspace.ts';

/**
 * Where the knowledge documents are, relative to the workspace: what `da sync` brings under
 * `./server/docs/` (organisation notes such as `knowledge.md`, `rules/`, `datasets/<dataset>/`)
 * and Claude Code rules in `./.claude/rules/`.
 */
export const MEMORY_ROOTS = ['server/docs', '.claude/rules'] as const;

const MAX_FILE_BYTES = 2 * 1024 * 1024;
const MAX_FILES = 5000;
const MAX_DEPTH = 10;
const SNIPPET_CHARS = 600;

/** One passage that matched. */
export interface MemoryMatch {
  /** Path relative to the workspace (`server/docs/rules/metrics.md`). */
  file: string;
  /** First line of the passage (1-based). */
  line: number;
  /** The nearest Markdown heading above the passage, if any. */
  heading: string | null;
  text: string;
  /** The query words found in the passage (or its heading). */
  matched: string[];
}

/** What `search_memory` answers: what was searched, how, and the best passages first. */
export interface MemorySearchResult {
  query: string;
  searched: { roots: string[]; present: string[]; files: string[]; files_count: number; skipped: { file: string; reason: string }[] };
  method: string;
  matches: MemoryMatch[];
}

/** Text files under `dir` (relative to the workspace), symbolic links and hidden files skipped. */
function listDocs(ws: WorkspacePaths, dir: string, depth: number, out: string[], skipped: MemorySearchResult['searched']['skipped']): void {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return;
  }
  for (const name of names) {
    if (name.startsWith('.') || out.length >= MAX_FILES) continue;
    const path = join(dir, name);
    let st: Stats;
    try {
      st = lstatSync(path);
    } catch {
      continue;
    }
    const rel = relative(ws.root, path).split(sep).join('/');
    if (st.isSymbolicLink()) skipped.push({ file: rel, reason: 'a symbolic link (not followed)' });
    else if (st.isDirectory() && depth < MAX_DEPTH) listDocs(ws, path, depth + 1, out, skipped);
    else if (st.isFile()) {
      if (st.size > MAX_FILE_BYTES) skipped.push({ file: rel, reason: `larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB` });
      else if (!looksLikeText(path)) skipped.push({ file: rel, reason: 'not a text file' });
      else out.push(rel);
    }
  }
}

/** A file is text when its first 8 KiB hold no NUL byte. */
function looksLikeText(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(8192);
    const n = readSync(fd, head, 0, head.length, 0);
    return !head.subarray(0, n).includes(0);
  } finally {
    closeSync(fd);
  }
}

/** The words of a query, lower-cased, each once (`"net revenue"` → `net`, `revenue`). */
export function queryTerms(query: string): string[] {
  return [...new Set(query.toLowerCase().split(/[^\p{L}\p{N}_]+/u).filter((w) => w.length > 0))];
}

interface Passage {
  line: number;
  heading: string | null;
  text: string;
}

/** Splits a document into passages: blocks between blank lines, each with the heading above it. */
function passages(text: string): Passage[] {
  const out: Passage[] = [];
  let heading: string | null = null;
  let block: string[] = [];
  let start = 0;
  const flush = () => {
    if (block.some((l) => l.trim())) out.push({ line: start + 1, heading, text: block.join('\n').trim() });
    block = [];
  };
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    const h = /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (h) {
      flush();
      heading = h[1]!;
      return;
    }
    if (!line.trim()) {
      flush();
      return;
    }
    if (!block.length) start = i;
    block.push(line);
  });
  flush();
  return out;
}

/**
 * Plain-text search of the workspace's knowledge documents (see MEMORY_ROOTS): every passage
 * holding at least one of the query's words, case-insensitive, ranked by how many different
 * words it holds (the whole query as a phrase counts extra), then by how often they occur.
 */
export function searchMemory(ws: WorkspacePaths, query: string, limit = 10): MemorySearchResult {
  const terms = queryTerms(query);
  const phrase = query.trim().toLowerCase().replace(/\s+/g, ' ');
  const files: string[] = [];
  const skipped: MemorySearchResult['searched']['skipped'] = [];
  const present: string[] = [];
  for (const root of MEMORY_ROOTS) {
    const dir = join(ws.root, ...root.split('/'));
    let st: Stats | undefined;
    try {
      st = lstatSync(dir);
    } catch {
      st = undefined;
    }
    if (!st?.isDirectory()) continue;
    present.push(root);
    listDocs(ws, dir, 0, files, skipped);
  }
  const scored: { match: MemoryMatch; distinct: number; score: number }[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(join(ws.root, ...file.split('/')), 'utf8');
    } catch {
      continue;
    }
    for (const p of passages(text)) {
      const haystack = `${p.heading ?? ''}\n${p.text}`.toLowerCase();
      const matched = terms.filter((t) => haystack.includes(t));
      if (!matched.length) continue;
      let occurrences = 0;
      for (const t of matched) occurrences += Math.min(10, haystack.split(t).length - 1);
      const phraseBonus = terms.length > 1 && haystack.replace(/\s+/g, ' ').includes(phrase) ? terms.length : 0;
      const snippet = p.text.length > SNIPPET_CHARS ? `${p.text.slice(0, SNIPPET_CHARS)}…` : p.text;
      scored.push({ match: { file, line: p.line, heading: p.heading, text: snippet, matched }, distinct: matched.length + phraseBonus, score: occurrences });
    }
  }
  scored.sort((a, b) => b.distinct - a.distinct || b.score - a.score || a.match.file.localeCompare(b.match.file) || a.match.line - b.match.line);
  return {
    query,
    searched: { roots: [...MEMORY_ROOTS], present, files: files.slice(0, 200), files_count: files.length, skipped },
    method: `case-insensitive plain-text search for the words ${terms.map((t) => `"${t}"`).join(', ') || '(none)'} in every passage (block between blank lines) of the text files under ${MEMORY_ROOTS.map((r) => `./${r}/`).join(' and ')}; passages with more of the words rank first`,
    matches: scored.slice(0, limit).map((s) => s.match),
  };
}
