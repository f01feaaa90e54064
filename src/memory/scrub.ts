/**
 * Removes secrets and personal data from analysts' text before it is sent to an LLM or
 * stored as a memory candidate. Each find is replaced by a visible marker
 * (`[secret removed]`, `[email removed]`, …) so a reader sees that something was there.
 *
 * Errs on the side of removing: a false positive costs a word in a note, a false negative
 * leaks a credential into a prompt or into every analyst's agent.
 */
import type { Candidate } from './extractor.ts';

export type ScrubKind = 'secret' | 'connection_string' | 'email' | 'phone' | 'iban' | 'card';

export const MARKERS: Record<ScrubKind, string> = {
  secret: '[secret removed]',
  connection_string: '[connection string removed]',
  email: '[email removed]',
  phone: '[phone removed]',
  iban: '[iban removed]',
  card: '[card number removed]',
};

export interface ScrubResult {
  text: string;
  /** How many finds of each kind were replaced. */
  found: Partial<Record<ScrubKind, number>>;
}

type Rule = { kind: ScrubKind; pattern: RegExp; replace?: (match: string, ...groups: string[]) => string | null };

/** Words after which `=`/`:` introduces a secret value (`password=…`, `token: …`, `API_KEY="…"`). */
const SECRET_KEYS = String.raw`(?:[A-Za-z0-9_.-]*?(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|client[_-]?secret|credentials?|auth[_-]?key|session[_-]?key))`;

function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/** Order matters: whole blocks and connection strings first, so their parts are not found again piecemeal. */
const RULES: Rule[] = [
  // PEM private keys (also a block cut off before its END line).
  { kind: 'secret', pattern: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g },
  // scheme://user:password@host… (postgres, mysql, mongodb+srv, redis, amqp, https, …)
  { kind: 'connection_string', pattern: /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@'"`<>]+:[^\s@'"`<>]+@[^\s'"`<>]+/gi },
  // JDBC URLs that carry a password anywhere in them.
  { kind: 'connection_string', pattern: /\bjdbc:[a-z0-9]+:[^\s'"`<>]*?(?:password|pwd)=[^\s'"`<>]*/gi },
  // ADO.NET / ODBC style: Server=…;User Id=…;Password=…;
  {
    kind: 'connection_string',
    pattern: /(?:\b[A-Za-z][A-Za-z0-9 ]{0,30}=[^;\n]*;[ \t]*){1,}[A-Za-z][A-Za-z0-9 ]{0,30}=[^;\n]*;?/g,
    replace: (m) => (/\b(?:password|pwd)\s*=/i.test(m) ? null : m),
  },
  { kind: 'secret', pattern: /\bsk-(?:proj-|ant-(?:api\d+-)?|live-)?[A-Za-z0-9_-]{20,}/g },
  { kind: 'secret', pattern: /\b[rsp]k_(?:live|test)_[A-Za-z0-9]{16,}\b/g },
  { kind: 'secret', pattern: /\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[A-Z0-9]{16}\b/g },
  { kind: 'secret', pattern: /\bgh[pousr]_[A-Za-z0-9]{30,}\b/g },
  { kind: 'secret', pattern: /\bgithub_pat_[A-Za-z0-9_]{22,}\b/g },
  { kind: 'secret', pattern: /\bglpat-[A-Za-z0-9_-]{20,}\b/g },
  { kind: 'secret', pattern: /\bxox[abposre]-[A-Za-z0-9-]{10,}/g },
  { kind: 'secret', pattern: /\bAIza[0-9A-Za-z_-]{35}\b/g },
  // JSON Web Tokens: header.payload.signature, base64url, header and payload start with {"
  { kind: 'secret', pattern: /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g },
  // Authorization header values.
  {
    kind: 'secret',
    pattern: /\b(Bearer|Basic)(\s+)([A-Za-z0-9._~+/=-]{12,})/g,
    replace: (_m, scheme, space, value) => (/\d/.test(value!) ? `${scheme}${space}${MARKERS.secret}` : _m),
  },
  // key = value / key: value for secret-looking keys (the key is kept, the value goes).
  {
    kind: 'secret',
    pattern: new RegExp(String.raw`\b(${SECRET_KEYS})(["']?\s*[:=]\s*)("[^"\n]*"|'[^'\n]*'|[^\s,;'"\[\]]+)`, 'gi'),
    replace: (m, key, sep, value) => (value!.length < 3 || value!.startsWith('[') ? m : `${key}${sep}${MARKERS.secret}`),
  },
  // "the password is hunter2"
  {
    kind: 'secret',
    pattern: /\b(password|passphrase|pwd)(\s+(?:is|was|=)\s+)(\S{4,})/gi,
    replace: (m, key, sep, value) => (value!.startsWith('[') ? m : `${key}${sep}${MARKERS.secret}`),
  },
  // Long random-looking strings (mixed case and digits): unnamed API keys and tokens.
  {
    kind: 'secret',
    pattern: /\b[A-Za-z0-9_+/-]{32,}={0,2}/g,
    replace: (m) => (/[a-z]/.test(m) && /[A-Z]/.test(m) && /\d/.test(m) ? null : m),
  },
  { kind: 'email', pattern: /\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b/g },
  { kind: 'iban', pattern: /\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b/g, replace: (m) => (/\d{4}/.test(m.slice(4).replace(/ /g, '')) ? null : m) },
  {
    kind: 'card',
    pattern: /\b\d(?:[ -]?\d){12,18}\b/g,
    replace: (m) => (luhnValid(m.replace(/[ -]/g, '')) ? null : m),
  },
  // Phone numbers: international (+…), (555) 123-4567, 555-123-4567.
  { kind: 'phone', pattern: /(?<![\w+])\+\d{1,3}(?:[ .-]\(?\d{1,4}\)?|[ ]?\(\d{1,4}\)){2,5}\d*(?!\w)/g },
  { kind: 'phone', pattern: /(?<![\w+])\+\d{10,14}\b/g },
  { kind: 'phone', pattern: /(?<!\w)\(\d{3}\)[ ]?\d{3}[-. ]\d{4}\b/g },
  { kind: 'phone', pattern: /\b\d{3}[-. ]\d{3}[-. ]\d{4}\b/g },
];

/**
 * Replaces every secret, credential, connection string and piece of personal data in `text`.
 *
 * @example scrubText('psql postgres://bi:hunter2@db/prod').text // 'psql [connection string removed]'
 */
export function scrubText(text: string): ScrubResult {
  const found: ScrubResult['found'] = {};
  let out = text;
  for (const rule of RULES) {
    out = out.replace(rule.pattern, (match: string, ...rest: unknown[]) => {
      const groups = rest.slice(0, -2).filter((g): g is string => typeof g === 'string' || g === undefined) as string[];
      let replacement: string | null = MARKERS[rule.kind];
      if (rule.replace) {
        const custom = rule.replace(match, ...groups);
        if (custom === match) return match;
        if (custom !== null) replacement = custom;
      }
      found[rule.kind] = (found[rule.kind] ?? 0) + 1;
      return replacement;
    });
  }
  return { text: out, found };
}

/** Total finds in a ScrubResult. */
export function countFound(found: ScrubResult['found']): number {
  return Object.values(found).reduce((a, b) => a + (b ?? 0), 0);
}

const ALL_MARKERS = new RegExp(Object.values(MARKERS).map((m) => m.replace(/[[\]]/g, '\\$&')).join('|'), 'g');

/** Words of real text left once markers are taken out. */
function wordsLeft(text: string): number {
  return text.replace(ALL_MARKERS, ' ').split(/\s+/).filter((w) => /[A-Za-z]{2,}/.test(w)).length;
}

/**
 * A candidate with its title, content and tags scrubbed, or null when it is mostly secret
 * (twice as much was removed as is left, more than one marker per two words left, or too
 * few words left to be worth reviewing). Input scrubbed earlier arrives with markers in it,
 * so markers count as removed text too.
 */
export function scrubCandidate(candidate: Candidate): Candidate | null {
  const title = scrubText(candidate.title).text;
  const content = scrubText(candidate.content).text;
  const tags = candidate.tags.filter((t) => scrubText(t).text === t);
  const removedChars = candidate.content.length - content.replace(ALL_MARKERS, '').length;
  const keptChars = content.replace(ALL_MARKERS, '').replace(/\s+/g, ' ').trim().length;
  const markers = (content.match(ALL_MARKERS) ?? []).length;
  const words = wordsLeft(content);
  if (removedChars > 2 * keptChars || words < 3 || markers * 2 > words || wordsLeft(title) < 1) return null;
  return { ...candidate, title, content, tags };
}
