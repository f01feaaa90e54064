/**
 * When two items say the same thing: extraction merges the contributors of a candidate into
 * an existing item (any status: a rejected one stays rejected, so what an admin rejected is
 * never proposed again) instead of adding a twin.
 */

const STOP = new Set(['the', 'a', 'an', 'and', 'or', 'of', 'in', 'on', 'for', 'to', 'is', 'are', 'be', 'with', 'by', 'at', 'as', 'it', 'its', 'from', 'that', 'this']);

/** The normalised title: lower case, letters and digits only, stop words dropped (`Revenue excludes VAT!` → `revenue excludes vat`). */
export function fingerprint(title: string): string {
  return words(title).join(' ');
}

function words(text: string): string[] {
  return text
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[\u0300-\u036f]/g, '')
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w && !STOP.has(w));
}

/** Jaccard similarity of the two texts' word sets (0..1). */
export function similarity(a: string, b: string): number {
  const x = new Set(words(a));
  const y = new Set(words(b));
  if (!x.size || !y.size) return 0;
  let both = 0;
  for (const w of x) if (y.has(w)) both++;
  return both / (x.size + y.size - both);
}

/** Content this similar (or more) is the same item. */
export const SAME_CONTENT = 0.6;

/** The first of `items` that says the same as the candidate: same fingerprint, or nearly the same content. */
export function findTwin<T extends { fingerprint: string; content: string }>(candidate: { title: string; content: string }, items: T[]): T | undefined {
  const fp = fingerprint(candidate.title);
  return items.find((i) => (fp && i.fingerprint === fp) || similarity(i.content, candidate.content) >= SAME_CONTENT);
}
