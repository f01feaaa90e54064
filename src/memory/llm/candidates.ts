/**
 * What every extractor's answer must look like, and the steps shared by all of them:
 * preparing the input (truncate, scrub) and finishing the output (clamp, scrub, dedupe).
 */
import { z } from '@hono/zod-openapi';
import type { Candidate, ExtractionInput } from '../extractor.ts';
import type { Logger } from '../../log.ts';
import { countFound, scrubCandidate, scrubText } from '../scrub.ts';

/** Categories an extractor files candidates under; anything else becomes `general`. */
export const CATEGORIES = ['data-quality', 'definitions', 'business-rules', 'gotchas', 'how-to', 'general'] as const;
export type Category = (typeof CATEGORIES)[number];

/** Bounds of one answer: more candidates are dropped, longer fields are cut. */
export const LIMITS = { candidates: 30, title: 120, content: 2000, tags: 8, tag: 64 } as const;

/**
 * The structured output asked of an LLM. Limits are stated in the prompt rather than in
 * the schema: an answer over them is clamped, while an answer of the wrong shape is invalid
 * and discarded whole.
 */
export const ExtractionOutputSchema = z.object({
  candidates: z.array(
    z.object({
      title: z.string().describe(`One line naming the fact, at most ${LIMITS.title} characters`),
      content: z.string().describe('The fact in one to three sentences, self-contained'),
      category: z.string().describe(`One of: ${CATEGORIES.join(', ')}`),
      tags: z.array(z.string()).describe('Tables and datasets the fact is about, e.g. sales.orders, orders'),
    }).strict(),
  ),
}).strict();
export type ExtractionOutput = z.infer<typeof ExtractionOutputSchema>;

/** A known category for whatever an extractor called it (`Data Quality` → `data-quality`). */
export function normaliseCategory(raw: string): Category {
  const slug = raw.trim().toLowerCase().replace(/[\s_]+/g, '-');
  return (CATEGORIES as readonly string[]).includes(slug) ? (slug as Category) : 'general';
}

function clip(text: string, max: number): string {
  const flat = text.trim();
  if (flat.length <= max) return flat;
  const cut = flat.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return (space > max * 0.6 ? cut.slice(0, space) : cut).replace(/[\s,;:.–—-]+$/, '') + '…';
}

function normaliseTag(tag: string): string {
  return tag.trim().toLowerCase().replace(/^[`'"]+|[`'"]+$/g, '').replace(/\s+/g, '_').slice(0, LIMITS.tag);
}

/** Cuts the upload to `maxChars` and removes secrets and personal data from it. */
export function prepareInput(input: ExtractionInput, maxChars: number, logger: Logger, extractor: string): ExtractionInput {
  let text = input.text;
  if (text.length > maxChars) {
    logger.info('memory extraction: input truncated', { extractor, source: input.source, chars: text.length, max_input_chars: maxChars });
    text = text.slice(0, maxChars);
  }
  const scrubbed = scrubText(text);
  const removed = countFound(scrubbed.found);
  if (removed > 0) {
    logger.info('memory extraction: removed secrets and personal data from input', { extractor, source: input.source, ...scrubbed.found });
  }
  return { ...input, text: scrubbed.text };
}

/**
 * Clamps, scrubs and dedupes what an extractor found: at most LIMITS.candidates, fields
 * cut to their limits, mostly-secret candidates and repeated titles dropped.
 */
export function finishCandidates(found: Candidate[], logger: Logger, extractor: string, source: string): Candidate[] {
  if (found.length > LIMITS.candidates) {
    logger.warn('memory extraction: too many candidates, keeping the first', { extractor, source, found: found.length, kept: LIMITS.candidates });
  }
  const out: Candidate[] = [];
  const seen = new Set<string>();
  let dropped = 0;
  for (const raw of found.slice(0, LIMITS.candidates)) {
    const clamped: Candidate = {
      title: clip(raw.title.replace(/\s+/g, ' '), LIMITS.title),
      content: clip(raw.content, LIMITS.content),
      category: normaliseCategory(raw.category),
      tags: [...new Set(raw.tags.map(normaliseTag).filter(Boolean))].slice(0, LIMITS.tags),
    };
    if (!clamped.title || !clamped.content) continue;
    const clean = scrubCandidate(clamped);
    if (!clean) {
      dropped++;
      continue;
    }
    const key = clean.title.toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(clean);
  }
  if (dropped > 0) logger.info('memory extraction: dropped candidates that were mostly secret', { extractor, source, dropped });
  return out;
}
