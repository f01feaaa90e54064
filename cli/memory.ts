import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BaseCommand } from './base.ts';
import { CliError } from './errors.ts';
import { formatTable } from './format.ts';
import { ITEM_MARK } from '../src/memory/digest.ts';
import type { WorkspacePaths } from './workspace.ts';

/** An item as `da memory` prints it: the server's MemoryItem, or what the synced digest holds of it. */
export interface CliMemoryItem {
  id: string;
  title: string;
  content: string;
  category: string;
  tags: string[];
  status: string;
  score: number;
  my_vote?: number;
  audience?: unknown;
  contributors?: string[];
  source?: string | null;
  created_at?: string;
  updated_at?: string;
}

/** Where `da sync` puts the digest of the corporate memory. */
export function digestFile(ws: WorkspacePaths): string {
  return join(ws.serverDir, 'docs', 'knowledge.md');
}

/**
 * The items of the synced digest (`./server/docs/knowledge.md`): each `### title` heading, the
 * `da:item` line under it, and its text up to the next heading. Empty before the first sync.
 */
export function localMemory(ws: WorkspacePaths): CliMemoryItem[] {
  let text: string;
  try {
    text = readFileSync(digestFile(ws), 'utf8');
  } catch {
    return [];
  }
  const items: CliMemoryItem[] = [];
  let current: (CliMemoryItem & { lines: string[] }) | undefined;
  let title = '';
  const finish = () => {
    if (!current) return;
    const { lines, ...item } = current;
    while (lines.length && (!lines.at(-1)!.trim() || /^Tags: /.test(lines.at(-1)!))) lines.pop();
    items.push({ ...item, content: lines.join('\n').trim() });
    current = undefined;
  };
  for (const line of text.split('\n')) {
    if (/^#{2,3} /.test(line)) {
      finish();
      title = line.startsWith('### ') ? line.slice(4).replace(/ \(mandatory\)$/, '') : '';
      continue;
    }
    const mark = ITEM_MARK.exec(line);
    if (mark && title) {
      try {
        const m = JSON.parse(mark[1]!) as Omit<CliMemoryItem, 'title' | 'content'>;
        current = { id: String(m.id), title, category: String(m.category), tags: Array.isArray(m.tags) ? m.tags.map(String) : [], status: String(m.status), score: Number(m.score) || 0, content: '', lines: [] };
      } catch {
        current = undefined; // a damaged line: the next da sync replaces the file
      }
      continue;
    }
    current?.lines.push(line);
  }
  finish();
  return items;
}

/** The words of `q` all occur in the item (title, content, tags, category), case-insensitively. */
export function matchesQuery(item: CliMemoryItem, q: string): boolean {
  const hay = `${item.title}\n${item.content}\n${item.tags.join(' ')}\n${item.category}`.toLowerCase();
  return q.toLowerCase().split(/\s+/).filter(Boolean).every((w) => hay.includes(w));
}

/** A list of items as a table. */
export function itemsTable(items: CliMemoryItem[]): string {
  return formatTable(['id', 'status', 'score', 'category', 'title'], items.map((i) => [i.id, i.status, i.score, i.category, i.title]));
}

/** One item for reading. */
export function itemText(i: CliMemoryItem): string {
  return [`${i.title}`, `${i.status} · ${i.category} · score ${i.score}${i.tags.length ? ` · tags ${i.tags.join(', ')}` : ''} · id ${i.id}`, '', i.content].join('\n');
}

/**
 * Runs `online` against the server when `da` is signed in and `offline` is not forced; else
 * (or when the server cannot be reached) `local` on the synced digest, with a note on stderr
 * that it is offline. Returns the result and whether it came from the workspace.
 */
export async function onlineOrLocal<T>(
  cmd: BaseCommand,
  forceOffline: boolean,
  online: () => Promise<T>,
  local: () => T,
): Promise<{ result: T; offline: boolean }> {
  const client = cmd.client();
  let why: string;
  if (forceOffline) why = '--offline';
  else if (!client.server || !client.token) why = client.server ? `not logged in to ${client.server}` : 'no server configured';
  else {
    try {
      return { result: await online(), offline: false };
    } catch (err) {
      if (!(err instanceof CliError) || err.details.reason !== 'unreachable') throw err;
      why = err.message;
    }
  }
  cmd.context.stderr.write(`da: offline (${why}): reading the knowledge synced into this workspace by the last \`da sync\`\n`);
  return { result: local(), offline: true };
}
