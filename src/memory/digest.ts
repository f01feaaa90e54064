import type { StoredMemoryItem } from '../repositories/memory.ts';

/** One file corporate memory delivers with `da sync`: its manifest path, text and hash. */
export interface MemoryAsset {
  path: string;
  text: string;
  hash: string;
}

/** The digest's path in the manifest (`./server/docs/knowledge.md` in a workspace). */
export const DIGEST_PATH = 'docs/knowledge.md';
/** A mandatory item's rule in the manifest (`.claude/rules/km_<id>.md` in a workspace). */
export const rulePath = (id: string) => `rules/km_${id}.md`;
/** The rule file names `da sync` owns in `.claude/rules/`. */
export const RULE_FILE = /^km_[A-Za-z0-9_-]{1,64}\.md$/;

/**
 * The line before each item's text in the digest, which `da memory` reads back offline:
 * `<!-- da:item {"id":…,"status":…,"category":…,"tags":[…],"score":…} -->`.
 */
export const ITEM_MARK = /^<!-- da:item (\{.*\}) -->$/;

const sha256 = (text: string) => new Bun.CryptoHasher('sha256').update(text).digest('hex');

/** An item's text as Markdown that cannot end the digest's structure early (no headings of its own level). */
function body(content: string): string {
  return content.replace(/^(#{1,3})(\s)/gm, '####$2').trim();
}

function ruleText(i: StoredMemoryItem): string {
  return [
    `# ${i.title}`,
    '',
    body(i.content),
    '',
    `<!-- mandatory rule of the organisation's corporate memory (item ${i.id}, category ${i.category}); delivered by da sync, which replaces or removes this file -->`,
    '',
  ].join('\n');
}

function digestText(items: StoredMemoryItem[]): string {
  const lines = [
    '# What the organisation knows',
    '',
    'Approved items of the corporate memory that apply to you, by category. Mandatory ones are also rules in `.claude/rules/km_*.md`.',
    'Search them with `da memory search WORDS`; propose new knowledge with `da memory add`.',
    '',
  ];
  const byCategory = new Map<string, StoredMemoryItem[]>();
  for (const i of items) byCategory.set(i.category, [...(byCategory.get(i.category) ?? []), i]);
  for (const category of [...byCategory.keys()].sort()) {
    lines.push(`## ${category}`, '');
    const sorted = byCategory.get(category)!.sort(
      (a, b) => Number(b.status === 'mandatory') - Number(a.status === 'mandatory') || b.score - a.score || a.title.localeCompare(b.title) || a.id.localeCompare(b.id),
    );
    for (const i of sorted) {
      lines.push(`### ${i.title}${i.status === 'mandatory' ? ' (mandatory)' : ''}`, '');
      lines.push(`<!-- da:item ${JSON.stringify({ id: i.id, status: i.status, category: i.category, tags: i.tags, score: i.score })} -->`);
      lines.push(body(i.content), '');
      if (i.tags.length) lines.push(`Tags: ${i.tags.join(', ')}`, '');
    }
  }
  return lines.join('\n');
}

/**
 * The files of the items a reader gets (approved and mandatory ones of their audience): a
 * rule per mandatory item and the digest of all of them. Nothing when there are none, so a
 * `docs/knowledge.md` an admin put in the documents folder is still served then.
 */
export function memoryAssets(items: StoredMemoryItem[]): MemoryAsset[] {
  if (!items.length) return [];
  const out: MemoryAsset[] = [];
  for (const i of items.filter((x) => x.status === 'mandatory')) {
    const text = ruleText(i);
    out.push({ path: rulePath(i.id), text, hash: sha256(text) });
  }
  const digest = digestText(items);
  out.push({ path: DIGEST_PATH, text: digest, hash: sha256(digest) });
  return out;
}
