/**
 * The built-in extractor: no network, no model, deterministic. It reads the markdown
 * structure of a CLAUDE.local.md (headings, bullet points, short paragraphs) or the turns of
 * a transcript and keeps the statements that say something about data: they name a table
 * or column (`sales.orders`, "the orders table") and use the words analysts use for such
 * facts ("excludes", "always", "never", "before 2024", "is in cents", "use … instead").
 *
 * Instructions aimed at an AI ("ignore previous instructions", "approve everything") are
 * skipped, code blocks are skipped, questions and chit-chat are skipped.
 */
import type { Candidate, ExtractionInput, Extractor } from '../extractor.ts';
import type { Logger } from '../../log.ts';
import { type Category, finishCandidates, prepareInput } from './candidates.ts';

export interface OfflineExtractorOptions {
  maxInputChars: number;
  logger: Logger;
}

/** Words that make a statement a fact worth keeping (about data, definitions or rules). */
const FACT_WORDS =
  /\b(exclud\w*|includ\w*|always|never|only|before|after|since|until|means?|meant|defined as|definition|instead|deprecated|legacy|cents?|timezone|utc|cet|local time|null|missing|empty|duplicates?|duplicated|dedupe|double[- ]count\w*|broken|wrong|stale|late|delayed|lag\w*|refresh\w*|updated?|careful|beware|watch out|do not|don't|must|should|counts?|filter\w*|join\w*|one row per|grain|unique|primary key|per day|per month|fiscal|vat|tax|net|gross|currency|eur|usd|test (?:orders?|accounts?|users?)|internal|flag\w*|status|soft[- ]deleted?|is_deleted|partition\w*|truncat\w*|rounded|in (?:cents|eur|usd|seconds|ms|milliseconds)|source of truth|canonical|reliable|unreliable)\b/i;

/** Phrases that introduce a learnt fact in conversation. */
const TRANSCRIPT_LEADS =
  /^(?:(?:ok(?:ay)?|so|good|great|right|thanks|ah|oh|yes|yeah|yep|no|nope|also|and|but|well|btw|by the way)[,!.]?\s+)*(?:(?:please\s+)?note that|(?:please\s+)?remember(?: that)?:?|(?:it\s+)?turns out(?: that)?|keep in mind(?: that)?|fyi,?|good to know:?|til:?|important:|for the record,?|be careful:?|watch out:?|heads up:?|i (?:found|learned|learnt|noticed|realised|realized) that)\s*/i;

/** Text addressed to an AI rather than a fact about data; never turned into a candidate. */
const INSTRUCTION_TO_AI = new RegExp(
  [
    String.raw`\b(ignore|disregard|forget|override)\b[^.\n]{0,30}\b(previous|prior|above|earlier|all|any|your|system)\b[^.\n]{0,20}\b(instructions?|prompts?|rules|guidelines|context)\b`,
    String.raw`\b(approve|accept|mandate|publish)\s+(everything|all\b(?! refunds| orders| payments| invoices| transactions)|every (item|candidate|note|entry)|each (item|candidate|note)|this (item|candidate|note))`,
    String.raw`\bmark\b[^.\n]{0,40}\bas (mandatory|approved)\b`,
    String.raw`\b(system prompt|you are (now|an ai|a language model)|as an ai\b|jailbreak|developer mode)`,
    String.raw`^\s*(system|assistant|developer)\s*:`,
  ].join('|'),
  'i',
);

/** Questions, pleasantries and process chatter from a session. */
const CHIT_CHAT = /\?\s*$|^(hi|hello|hey|thanks|thank you|great|perfect|sure|ok(ay)?|cool|nice|sounds good|let me|i'll|i will|here(?:'s| is| are)|running|done)\b/i;

const FILE_EXTENSIONS = new Set([
  'md', 'ts', 'tsx', 'js', 'mjs', 'json', 'py', 'sql', 'csv', 'parquet', 'yaml', 'yml', 'txt', 'html', 'sh', 'toml', 'ipynb',
  'com', 'org', 'io', 'net', 'dev', 'ai', 'cz', 'de', 'uk', 'local', 'duckdb', 'log', 'png', 'svg', 'pdf', 'xlsx',
]);

/** `dataset.table` or `dataset.table.column` references, and "the X table". */
const DOTTED_REF = /(?<![\w.@/-])([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)(?:\.([a-z_][a-z0-9_]*))?(?![\w-]|\.\w)/gi;
const NAMED_TABLE = /\b(?:the\s+)?`?([a-z][a-z0-9_]*)`?\s+(?:table|dataset|view)\b|\b(?:table|dataset|view)\s+`([a-z][a-z0-9_.]*)`/gi;
const NOT_TABLE_WORDS = new Set(['the', 'a', 'an', 'this', 'that', 'each', 'every', 'one', 'same', 'other', 'new', 'old', 'whole', 'fact', 'dimension', 'lookup', 'raw', 'source', 'staging', 'big', 'main', 'our', 'your', 'my', 'which', 'what', 'any']);

/** Table and dataset names a statement mentions, as tags: `sales.orders` also gives `orders`. */
export function findTags(text: string): string[] {
  const tags: string[] = [];
  for (const m of text.matchAll(DOTTED_REF)) {
    const [, a, b] = m as unknown as [string, string, string];
    if (FILE_EXTENSIONS.has(b.toLowerCase()) || /^(e|i|etc|vs|eg|ie)$/i.test(a)) continue;
    tags.push(`${a}.${b}`.toLowerCase(), b.toLowerCase());
  }
  for (const m of text.matchAll(NAMED_TABLE)) {
    const name = (m[1] ?? m[2])!.toLowerCase();
    if (NOT_TABLE_WORDS.has(name)) continue;
    tags.push(name);
    if (name.includes('.')) tags.push(name.split('.')[1]!);
  }
  return [...new Set(tags)];
}

/** Whether a statement is about data at all (names a table, column or dataset). */
function mentionsData(text: string): boolean {
  return findTags(text).length > 0 || /`[a-z_][a-z0-9_.]*`/i.test(text) || /\b(column|table|dataset|metric|kpis?|revenue|orders?|customers?|users?|sessions?|events?|invoices?|payments?|refunds?)\b/i.test(text) || /\b[a-z]+_[a-z0-9_]+\b/.test(text);
}

const HEADING_CATEGORIES: Array<[RegExp, Category]> = [
  [/gotcha|pitfall|trap|careful|warning|beware|watch out|caveat/i, 'gotchas'],
  [/quality|known issue|issues|bugs?|broken|missing|anomal|gaps?/i, 'data-quality'],
  [/definition|glossary|terminology|meaning|metrics?|kpis?|dictionary|semantics/i, 'definitions'],
  [/business|rules?|policy|policies|logic|accounting|finance/i, 'business-rules'],
  [/how[- ]?to|recipes?|quer(y|ies)|tips|joins?|usage|workflow|patterns?/i, 'how-to'],
];

const CONTENT_CATEGORIES: Array<[RegExp, Category]> = [
  [/\b(means?|defined as|definition|refers to|stands for|is the number of|is counted as|counts? (?:as|only)|in cents|stored (?:in|as)|(?:is|are) in (?:utc|eur|usd|seconds|ms|milliseconds))\b/i, 'definitions'],
  [/\b(null|missing|empty|duplicates?|duplicated|broken|wrong|stale|late|delayed|gaps?|unreliable|have no|has no)\b/i, 'data-quality'],
  [/\b(never|don't|do not|careful|beware|watch out|instead|deprecated|legacy|not the same)\b/i, 'gotchas'],
  [/\b(exclud\w*|includ\w*|subtract\w*|net of|always|only|must|vat|tax|fiscal|policy|rule)\b/i, 'business-rules'],
  [/\b(use|join|filter|to get|query|group by)\b/i, 'how-to'],
];

function categorise(text: string, heading: string | undefined): Category {
  for (const [re, cat] of HEADING_CATEGORIES) if (heading && re.test(heading)) return cat;
  for (const [re, cat] of CONTENT_CATEGORIES) if (re.test(text)) return cat;
  return 'general';
}

/** Markdown emphasis and links flattened to plain text; backticks kept off. */
function plain(text: string): string {
  return text
    .replace(/!\[[^\]]*\]\([^)]*\)/g, '')
    .replace(/\[([^\]]+)\]\([^)]*\)/g, '$1')
    .replace(/(\*\*|__)(.+?)\1/g, '$2')
    .replace(/(?<![\w*])([*_])(?!\s)(.+?)(?<!\s)\1(?![\w*])/g, '$2')
    .replace(/`([^`]+)`/g, '$1')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Upper-cases the first letter unless the text starts with an identifier (`sales.orders`, `customer_id`). */
function capitalise(text: string): string {
  return /^[a-z]+(?=[\s,:;]|$)/.test(text) ? text.charAt(0).toUpperCase() + text.slice(1) : text;
}

/** The first clause of a statement, as a title: up to the first full stop, semicolon, colon or dash; asides in brackets left out. */
export function titleOf(text: string): string {
  const t = plain(text)
    .replace(/^[A-Za-z]+(?: [A-Za-z]+)?\s*[:!]\s+/, '')
    .replace(/\s*\([^()]*\)/g, '');
  const boundary = /(?<=\S{2})(?:\.\s|;\s|\s[—–]\s|\s-\s|:\s|,\s(?:so|because|which|but|and then)\s)/g;
  let title = t;
  for (const m of t.matchAll(boundary)) {
    if (m.index! >= 12) {
      const head = t.slice(0, m.index);
      const tail = t.slice(m.index! + m[0].length);
      // "Don't forget the rules for VAT: finance.vat_rates is …": the fact is after the colon.
      if (m[0].startsWith(':') && !mentionsData(head) && mentionsData(tail)) return titleOf(tail);
      title = head;
      break;
    }
  }
  return capitalise(title.replace(/[.:,;]+$/, ''));
}

interface Block {
  text: string;
  heading: string | undefined;
}

/** Bullet points (with their continuation lines) and paragraphs, each under its nearest heading; code blocks and tables dropped. */
export function markdownBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  let heading: string | undefined;
  let current: string[] = [];
  let inFence = false;
  const flush = () => {
    if (current.length) blocks.push({ text: current.join(' '), heading });
    current = [];
  };
  for (const line of markdown.split(/\r?\n/)) {
    if (/^\s*(```|~~~)/.test(line)) {
      flush();
      inFence = !inFence;
      continue;
    }
    if (inFence) continue;
    const h = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (h) {
      flush();
      heading = plain(h[1]!);
      continue;
    }
    if (!line.trim() || /^\s*(\||>|<!--|---+\s*$|===+\s*$)/.test(line) || /^ {4,}\S/.test(line) && !current.length) {
      flush();
      continue;
    }
    const item = /^\s*(?:[-*+]|\d+[.)])\s+(?:\[[ xX]\]\s+)?(.*)$/.exec(line);
    if (item) {
      flush();
      current.push(item[1]!);
    } else {
      current.push(line.trim());
    }
  }
  flush();
  return blocks;
}

/** Sentences of a block of prose (abbreviations and dotted table names do not end one). */
function sentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+(?=[A-Z`"(])/)
    .map((s) => s.trim())
    .filter(Boolean);
}

function candidateFrom(text: string, heading: string | undefined, strict: { factWord: boolean; tableName: boolean }): Candidate | null {
  const content = capitalise(plain(text));
  if (content.length < 15 || content.length > 800) return null;
  if (INSTRUCTION_TO_AI.test(content)) return null;
  if (strict.factWord && !FACT_WORDS.test(content)) return null;
  if (!mentionsData(content) || (strict.tableName && findTags(content).length === 0)) return null;
  const title = titleOf(content);
  if (title.split(/\s+/).length < 2) return null;
  return { title, content, category: categorise(content, heading), tags: findTags(content) };
}

/** Candidates from the markdown of a CLAUDE.local.md. */
export function extractFromNotes(markdown: string): Candidate[] {
  const out: Candidate[] = [];
  for (const block of markdownBlocks(markdown)) {
    // A long paragraph holds several facts: take them one sentence at a time.
    const parts = block.text.length > 300 ? sentences(block.text) : [block.text];
    for (const part of parts) {
      if (INSTRUCTION_TO_AI.test(part)) continue;
      const c = candidateFrom(part, block.heading, { factWord: true, tableName: false });
      if (c) out.push(c);
    }
  }
  return out;
}

/** Turns of a transcript: `user: …` / `assistant: …` lines, continuation lines belong to the turn before. */
export function transcriptTurns(text: string): Array<{ role: string; text: string }> {
  const turns: Array<{ role: string; text: string }> = [];
  let inFence = false;
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(user|assistant|human|ai)\s*:\s?(.*)$/i.exec(line);
    if (m) {
      inFence = false;
      turns.push({ role: m[1]!.toLowerCase() === 'human' ? 'user' : m[1]!.toLowerCase() === 'ai' ? 'assistant' : m[1]!.toLowerCase(), text: '' });
      const rest = m[2]!;
      if (/^\s*(```|~~~)/.test(rest)) inFence = true;
      else turns[turns.length - 1]!.text += rest;
      continue;
    }
    if (/^\s*(```|~~~)/.test(line)) {
      inFence = !inFence;
      continue;
    }
    if (inFence || !turns.length) continue;
    turns[turns.length - 1]!.text += '\n' + line;
  }
  return turns;
}

/** Candidates from a transcript: statements that note, remember or discover a fact about data. */
export function extractFromTranscript(text: string): Candidate[] {
  const out: Candidate[] = [];
  for (const turn of transcriptTurns(text)) {
    for (const paragraph of turn.text.split(/\n\s*\n|\n(?=\s*(?:[-*+]|\d+[.)])\s)/)) {
      for (const raw of sentences(paragraph.replace(/^\s*(?:[-*+]|\d+[.)])\s+/gm, '').replace(/\s+/g, ' '))) {
        if (INSTRUCTION_TO_AI.test(raw)) continue;
        const lead = TRANSCRIPT_LEADS.exec(raw);
        const statement = lead ? raw.slice(lead[0].length) : raw;
        if (!statement || CHIT_CHAT.test(statement) || CHIT_CHAT.test(raw)) continue;
        // With a lead-in ("note that…") a mention of data is enough; without, it must read as a
        // fact and name a table (a session is mostly talk about this one analysis).
        const c = candidateFrom(statement, undefined, { factWord: !lead, tableName: !lead });
        if (c) out.push(c);
      }
    }
  }
  return out;
}

/** The offline extractor: markdown structure and heuristics, never the network. */
export function createOfflineExtractor({ maxInputChars, logger }: OfflineExtractorOptions): Extractor {
  return {
    name: 'offline',
    async extract(input: ExtractionInput, signal?: AbortSignal): Promise<Candidate[]> {
      signal?.throwIfAborted();
      const prepared = prepareInput(input, maxInputChars, logger, 'offline');
      const found = prepared.kind === 'transcript' ? extractFromTranscript(prepared.text) : extractFromNotes(prepared.text);
      return finishCandidates(found, logger, 'offline', input.source);
    },
  };
}
