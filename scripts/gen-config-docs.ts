/**
 * Writes docs/configuration.md, the reference of every instance.yaml key, from the zod
 * schema in src/config.ts (types, defaults, limits) and the doc comments beside its keys.
 * tests/ops-docs.test.ts fails when the committed file differs, so it cannot drift:
 *
 *   bun scripts/gen-config-docs.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from '@hono/zod-openapi';
import { ConfigSchema, SourceSchema } from '../src/config.ts';

const root = resolve(import.meta.dir, '..');

/** Doc comments of src/config.ts by dotted key path (`auth.google.client_id`, `sources.*.path`). */
export function configComments(source = readFileSync(join(root, 'src', 'config.ts'), 'utf8')): Map<string, string> {
  const out = new Map<string, string>();
  // Where each separately defined schema is used in the config.
  const mounts: Record<string, string> = {
    LocalTableOptionsSchema: 'sources.*.tables.*', LocalSourceSchema: 'sources.*', KeboolaSourceSchema: 'sources.*',
    BigQueryTableOptionsSchema: 'sources.*.tables.*', BigQuerySourceSchema: 'sources.*',
    GoogleSignInSchema: 'auth.google', EmailSchema: 'email', ConfigSchema: '',
  };
  let base: string | undefined;
  let baseIndent = 0;
  const stack: Array<{ indent: number; key: string }> = [];
  let comment: string[] = [];
  let inComment = false;
  for (const line of source.split('\n')) {
    const decl = /^(?:export )?const (\w+) = z/.exec(line);
    if (decl) {
      base = decl[1]! in mounts ? mounts[decl[1]!] : undefined;
      baseIndent = decl[1] === 'ConfigSchema' ? 4 : 2;
      stack.length = 0;
      comment = [];
      continue;
    }
    const trimmed = line.trim();
    if (trimmed.startsWith('/**')) {
      comment = [];
      inComment = !trimmed.endsWith('*/');
      comment.push(trimmed.replace(/^\/\*\*\s?/, '').replace(/\s*\*\/$/, ''));
      continue;
    }
    if (inComment) {
      inComment = !trimmed.endsWith('*/');
      comment.push(trimmed.replace(/^\*\/?\s?/, '').replace(/\s*\*\/$/, ''));
      continue;
    }
    const key = /^(\s*)(\w+): /.exec(line);
    if (base === undefined || !key) {
      if (trimmed && !trimmed.startsWith('//')) comment = [];
      continue;
    }
    const indent = key[1]!.length;
    if (indent < baseIndent) continue;
    while (stack.length && stack.at(-1)!.indent >= indent) stack.pop();
    stack.push({ indent, key: key[2]! });
    // Keys of a section are two levels (`.object({` and the key) below it.
    const path = [base, ...stack.filter((s, i) => i === 0 || s.indent > stack[i - 1]!.indent).map((s) => s.key)].filter(Boolean).join('.');
    const text = comment.join(' ').replace(/\s+/g, ' ').trim();
    if (text && !out.has(path)) out.set(path, text);
    comment = [];
  }
  return out;
}

type Json = { type?: string | string[]; default?: unknown; properties?: Record<string, Json>; additionalProperties?: Json | boolean; anyOf?: Json[]; oneOf?: Json[]; enum?: unknown[]; items?: Json; minimum?: number; maximum?: number; exclusiveMinimum?: number; minLength?: number; format?: string; pattern?: string; const?: unknown };

function typeOf(s: Json): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((e) => JSON.stringify(e)).join(' \\| ');
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return alts.map(typeOf).join(' \\| ');
  if (s.type === 'array') return `list of ${s.items ? typeOf(s.items) : 'any'}`;
  if (s.type === 'object' && !s.properties) return 'mapping';
  const t = Array.isArray(s.type) ? s.type.join(' \\| ') : (s.type ?? 'any');
  return s.format ? `${t} (${s.format})` : t;
}

function limits(s: Json): string {
  const parts: string[] = [];
  if (s.minimum !== undefined && s.minimum !== 0) parts.push(`≥ ${s.minimum}`);
  if (s.minimum === 0 && s.maximum !== undefined && s.maximum < 1e9) parts.push(`0–${s.maximum}`);
  else if (s.maximum !== undefined && s.maximum < 1e9) parts.push(`≤ ${s.maximum}`);
  if (s.exclusiveMinimum === 0) parts.push('> 0');
  if (s.minLength) parts.push(s.minLength === 1 ? 'not empty' : `at least ${s.minLength} characters`);
  return parts.join(', ');
}

function rows(schema: Json, path: string, comments: Map<string, string>, commentPath: string, out: string[]) {
  for (const [key, s] of Object.entries(schema.properties ?? {})) {
    const p = path ? `${path}.${key}` : key;
    const cp = commentPath ? `${commentPath}.${key}` : key;
    const isSection = s.type === 'object' && s.properties;
    const def = s.default !== undefined && !(isSection && typeof s.default === 'object') ? `\`${JSON.stringify(s.default)}\`` : '';
    const desc = [comments.get(cp) ?? '', limits(s)].filter(Boolean).join(' ');
    if (!isSection || !Object.keys(s.properties!).length) out.push(`| \`${p}\` | ${typeOf(s)} | ${def} | ${desc.replace(/\|/g, '\\|')} |`);
    else if (desc) out.push(`| \`${p}\` | section | | ${desc.replace(/\|/g, '\\|')} |`);
    if (isSection) rows(s, p, comments, cp, out);
    if (s.type === 'object' && typeof s.additionalProperties === 'object' && s.additionalProperties.properties) {
      rows(s.additionalProperties, `${p}.<name>`, comments, `${cp}.*`, out);
    }
  }
}

/** The Markdown of docs/configuration.md. */
export function configReference(): string {
  const comments = configComments();
  const schema = z.toJSONSchema(ConfigSchema, { io: 'input', unrepresentable: 'any' }) as Json;
  const header = '| key | type | default | what it does |\n| --- | --- | --- | --- |';
  const main: string[] = [];
  const { sources: _sources, ...rest } = schema.properties!;
  rows({ properties: rest }, '', comments, '', main);
  const sourceSchema = z.toJSONSchema(SourceSchema, { io: 'input', unrepresentable: 'any' }) as Json;
  const sourceSections = (sourceSchema.oneOf ?? sourceSchema.anyOf ?? []).map((variant) => {
    const type = String(variant.properties?.type?.const ?? variant.properties?.type?.enum?.[0]);
    const out: string[] = [];
    const { type: _t, ...props } = variant.properties ?? {};
    rows({ properties: props }, `sources.<dataset>`, comments, 'sources.*', out);
    return `### \`type: ${type}\`\n\n${header}\n${out.join('\n')}\n`;
  });
  return `# Configuration reference

Generated from the schema in \`src/config.ts\` by \`bun scripts/gen-config-docs.ts\`; a test
fails when this file and the schema disagree. The server reads \`instance.yaml\` from
\`DA_CONFIG\` (none: every default below). \`\${NAME}\` (or \`\${NAME:-fallback}\`) in any
string is replaced by the environment variable; an unknown key is an error.

Environment variables that override keys: \`DA_DATA_DIR\` → \`server.data_dir\`, \`PORT\` →
\`server.port\`, \`DA_SECRET\` → \`auth.secret\`, \`DA_ADMIN_EMAIL\` / \`DA_ADMIN_PASSWORD\` →
\`auth.admin_email\` / \`auth.admin_password\` (first admin, on first start only),
\`DA_BASE_URL\` → \`instance.base_url\`, \`DA_LOG_FORMAT\` → \`log.format\`.

${header}
${main.join('\n')}

## Sources

\`sources\` maps a dataset name (\`^[a-z_][a-z0-9_]{0,63}$\`) to one source; table ids are
\`<dataset>.<table>\`.

${sourceSections.join('\n')}`;
}

if (import.meta.main) {
  writeFileSync(join(root, 'docs', 'configuration.md'), configReference());
  console.error('wrote docs/configuration.md');
}
