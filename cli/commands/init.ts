import { Command, Option } from 'clipanion';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { BaseCommand } from '../base.ts';
import { extractDataSection, localDataSection, MARKER, renderDataSection, type DataSection } from '../claude-md.ts';
import { CliError } from '../errors.ts';
import type { Manifest } from '../workspace-sync.ts';
import { workspacePaths } from '../workspace.ts';

/** Claude Code runs the session-start hook on these session starts only (not after /clear or a compaction). */
export const SESSION_START_MATCHER = 'startup|resume';
/** Permission entries that let the agent run `da` without asking each time. */
export const DA_PERMISSION = 'Bash(da:*)';

/**
 * How hooks call `da`: the absolute path of this executable when it is the compiled `da`
 * (hooks run with Claude Code's PATH, which may not have it); else `da` from PATH, and why.
 */
export function daExecutable(): { command: string; absolute: boolean; why?: string } {
  const exe = process.execPath;
  const compiled = Bun.main.startsWith('/$bunfs/') || /^[A-Z]:\\~BUN\\/.test(Bun.main);
  if (compiled && basename(exe).replace(/\.exe$/, '') === 'da') return { command: shellQuote(exe), absolute: true };
  return { command: 'da', absolute: false, why: `not running as the compiled da (${basename(exe)}), so hooks call \`da\` from PATH` };
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

interface HookEntry {
  matcher?: string;
  hooks: { type: string; command: string; timeout?: number }[];
}

/**
 * Adds `command` (`<da> sync --quiet`) to a Claude Code hook event unless it is there. A hook
 * an earlier `da init` wrote (the same `da` arguments, another path to `da`) is updated in place.
 */
export function addHook(settings: Record<string, unknown>, event: string, command: string, matcher?: string): boolean {
  const hooks = (settings.hooks ??= {}) as Record<string, HookEntry[]>;
  const list = (hooks[event] ??= []);
  const args = command.replace(/^('[^']*'|\S+)\s+/, '');
  const isDa = (c: string) => {
    const m = /^('([^']*)'|\S+)\s+(.*)$/.exec(c);
    return Boolean(m && basename(m[2] ?? m[1]!) === 'da' && m[3] === args);
  };
  for (const e of list) {
    const h = e.hooks?.find((h) => isDa(h.command));
    if (!h) continue;
    if (h.command === command && e.matcher === matcher) return false;
    h.command = command;
    if (matcher === undefined) delete e.matcher;
    else e.matcher = matcher;
    return true;
  }
  list.push({ ...(matcher !== undefined ? { matcher } : {}), hooks: [{ type: 'command', command, timeout: 600 }] });
  return true;
}

/** Adds `entries` to `permissions.allow` (those missing), keeping everything else. */
export function addPermissions(settings: Record<string, unknown>, entries: string[]): boolean {
  const perms = (settings.permissions ??= {}) as Record<string, unknown>;
  if (typeof perms !== 'object' || perms === null || Array.isArray(perms)) throw new CliError('.claude/settings.json: permissions is not an object; fix it and run da init again');
  const allow = (perms.allow ??= []) as unknown[];
  if (!Array.isArray(allow)) throw new CliError('.claude/settings.json: permissions.allow is not a list; fix it and run da init again');
  const missing = entries.filter((e) => !allow.includes(e));
  allow.push(...missing);
  return missing.length > 0;
}

/** The name and entry of `da mcp` in a workspace's `.mcp.json` (Claude Code's project MCP servers). */
export const MCP_SERVER_NAME = 'da';
export const MCP_SERVER_ENTRY = { type: 'stdio', command: 'da', args: ['mcp'] };

/**
 * Adds the `da` MCP server to a `.mcp.json` document unless a server of that name is there
 * (an entry the analyst changed is theirs); other servers are never touched.
 */
export function addMcpServer(config: Record<string, unknown>): boolean {
  const servers = (config.mcpServers ??= {}) as Record<string, unknown>;
  if (typeof servers !== 'object' || servers === null || Array.isArray(servers)) throw new CliError('.mcp.json: mcpServers is not an object; fix it and run da init again');
  if (MCP_SERVER_NAME in servers) return false;
  servers[MCP_SERVER_NAME] = MCP_SERVER_ENTRY;
  return true;
}

/** Reads a JSON object file, or {} when it is missing; a file that is not a JSON object fails with `what` to fix. */
function readJsonObject(path: string): Record<string, unknown> {
  if (!existsSync(path)) return {};
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new CliError(`${path} is not valid JSON; fix it and run da init again`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CliError(`${path} is not a JSON object; fix it and run da init again`);
  return value as Record<string, unknown>;
}

/** `da init [DIR]`: an analyst workspace for Claude Code. */
export class InitCommand extends BaseCommand {
  static paths = [['init']];
  static usage = Command.Usage({
    category: 'Setup',
    description: 'Set up an analyst workspace: CLAUDE.md, Claude Code hooks, folders',
    details: `
      In DIR (default: the current directory) writes:

      - \`CLAUDE.md\`: how to use \`da\` and a data section: the tables you may read and the server's mandatory rules (\`docs/rules/\`). Offline or signed out, an existing data section is kept as it is (else it is filled from the last sync); \`da sync\` refreshes it later;
      - \`.claude/settings.json\`, merged into an existing file: hooks that run \`da sync --quiet\` when a session starts or resumes (matcher \`${SESSION_START_MATCHER}\`, not after a compaction) and \`da sync --upload-only --quiet\` at session end, calling \`da\` by its absolute path; and \`${DA_PERMISSION}\` in \`permissions.allow\`, so Claude Code runs \`da\` commands without asking each time;
      - \`.mcp.json\`: the MCP server \`${MCP_SERVER_NAME}\` (\`da mcp\`: tables, queries, knowledge search and sync as tools for Claude Code), added beside the servers already there (an existing \`${MCP_SERVER_NAME}\` entry is kept);
      - \`user/sessions/\`, \`user/artifacts/\`, \`user/duckdb/\` and a starter \`CLAUDE.local.md\` only when there is none (never overwritten).

      A CLAUDE.md that \`da init\` did not write is kept unless \`--force\`.
    `,
    examples: [
      ['Here', '$0 init'],
      ['In a new folder, as JSON', '$0 init analysis --json'],
    ],
  });

  dir = Option.String({ required: false, name: 'dir' });
  force = Option.Boolean('--force', false, { description: 'Replace a CLAUDE.md that da init did not write' });

  async run() {
    const root = resolve(this.context.cwd, this.dir ?? '.');
    mkdirSync(root, { recursive: true });
    const written: string[] = [];
    const kept: string[] = [];
    for (const d of ['user/sessions', 'user/artifacts', 'user/duckdb']) mkdirSync(join(root, d), { recursive: true });

    // What the server offers: tables and rules (best effort; init works offline too).
    let data: DataSection | undefined;
    let offline: string | undefined;
    const client = this.client();
    if (client.server && client.token) {
      try {
        const manifest = await client.get<Manifest>('/api/sync/manifest');
        const tables = Object.entries(manifest.tables).map(([id, t]) => ({ id, rows: t.rows })).sort((a, b) => a.id.localeCompare(b.id));
        const rules: DataSection['rules'] = [];
        for (const path of Object.keys(manifest.assets).filter((p) => p.startsWith('docs/rules/')).sort()) {
          const res = await client.request('GET', manifest.assets[path]!.url);
          rules.push({ path, text: (await res.text()).trim() });
        }
        data = { tables, rules, source: `from ${client.server}` };
      } catch (err) {
        // The reason goes to the terminal, never into CLAUDE.md.
        offline = `${client.server} not reachable (${(err as Error).message})`;
      }
    } else offline = client.server ? `not logged in to ${client.server}` : 'not logged in';

    const claudeMd = join(root, 'CLAUDE.md');
    const previous = existsSync(claudeMd) ? readFileSync(claudeMd, 'utf8') : undefined;
    let keptData = false;
    if (previous !== undefined && !previous.includes(MARKER) && !this.force) {
      kept.push('CLAUDE.md');
    } else {
      // Offline: the data section written before stays as it was; a first one comes from the last sync.
      const old = previous !== undefined && previous.includes(MARKER) ? extractDataSection(previous) : undefined;
      keptData = !data && old !== undefined;
      const section = data
        ? renderDataSection(data)
        : (old ?? renderDataSection(localDataSection(this.store.paths.dir, workspacePaths(root), 'as of the last `da sync` here; `da sync` refreshes this list')));
      writeFileSync(claudeMd, renderClaudeMd(section));
      written.push('CLAUDE.md');
    }
    if (offline) this.context.stderr.write(`da: ${offline}; ${keptData ? 'kept the data section of CLAUDE.md as it was' : 'listed the data from the last sync'} — \`da sync\` refreshes it\n`);
    const tables = data?.tables ?? localDataSection(this.store.paths.dir, workspacePaths(root), '').tables;
    const rules = data?.rules ?? [];

    const settingsPath = join(root, '.claude', 'settings.json');
    const settings = readJsonObject(settingsPath);
    const mcpPath = join(root, '.mcp.json');
    const mcpConfig = readJsonObject(mcpPath);
    const da = daExecutable();
    if (!da.absolute) this.context.stderr.write(`da: ${da.why}\n`);
    const added = [
      addHook(settings, 'SessionStart', `${da.command} sync --quiet`, SESSION_START_MATCHER),
      addHook(settings, 'SessionEnd', `${da.command} sync --upload-only --quiet`),
      addPermissions(settings, da.absolute ? [DA_PERMISSION, `Bash(${da.command}:*)`] : [DA_PERMISSION]),
    ].some(Boolean);
    if (added) {
      mkdirSync(join(root, '.claude'), { recursive: true });
      writeFileSync(settingsPath, JSON.stringify(settings, null, 2) + '\n');
      written.push('.claude/settings.json');
    } else kept.push('.claude/settings.json');

    if (addMcpServer(mcpConfig)) {
      writeFileSync(mcpPath, JSON.stringify(mcpConfig, null, 2) + '\n');
      written.push('.mcp.json');
    } else kept.push('.mcp.json');

    const localMd = join(root, 'CLAUDE.local.md');
    if (existsSync(localMd)) kept.push('CLAUDE.local.md');
    else {
      writeFileSync(localMd, '# My notes\n\nWhat I learned about the data, for myself and my AI agent. `da sync` uploads this file.\n');
      written.push('CLAUDE.local.md');
    }

    this.emit({ dir: root, written, kept, tables: tables.length, rules: rules.map((r) => r.path), offline: offline ?? null, data_section_kept: keptData, da_command: da.command }, () => [
      `workspace ready in ${root}`,
      ...written.map((w) => `  wrote ${w}`),
      ...kept.map((k) => `  kept  ${k}`),
      `next: cd ${root} && da sync`,
    ]);
  }
}

function renderClaudeMd(dataSection: string): string {
  const lines = [
    MARKER,
    '',
    '# Data analysis workspace (da)',
    '',
    "This folder is a `da` workspace. Data comes from the organisation's da server and is queried locally with DuckDB.",
    '',
    '## How to work here',
    '',
    '- `da sync` brings the data up to date (a hook runs it when a session starts or resumes). `da status --json` shows what is stale.',
    '- `da explore <table> --json` shows columns, types, statistics and sample rows. Look before you write SQL.',
    '- `da query --json "SQL"` runs SQL locally (offline) on `./user/duckdb/analytics.duckdb`. Tables are `<dataset>.<table>`; a unique table name alone works too.',
    '- `da query --remote --json "SQL"` runs on the server (read-only) when a table is not synced.',
    '- Save intermediate results as your own tables (`CREATE TABLE my_… AS …`); they survive `da sync`. Never modify `./server/`.',
    "- What the organisation knows about this data (corporate memory) is in `./server/docs/knowledge.md`, by category: read it before you analyse. Mandatory rules of it are in `.claude/rules/km_*.md`. `da memory search WORDS --json` searches it (offline too); `da memory add TITLE --content TEXT` proposes what you learned for review.",
    '- Put findings worth keeping in `CLAUDE.local.md`; `da sync` uploads it, and `./user/artifacts/`. Claude Code keeps the transcripts of this folder under `~/.claude/projects/`; `da sync` uploads them (at session end through a hook), as it does files you put in `./user/sessions/`.',
    '- `da skills list` and `da skills show <name>` explain every task in detail; `da diagnose --json` finds problems.',
    '- The `da` MCP server (`da mcp`, registered in `.mcp.json`) offers the same as tools: list_tables, describe_table, query (read-only), search_memory, sync.',
    '- Every command takes `--json`; exit codes: 0 ok, 1 failure, 2 usage error.',
    '',
    dataSection,
    '',
    'After a sync, the documentation of each dataset is under `./server/docs/` and table profiles under `./server/profiles/`.',
    '',
  ];
  return lines.join('\n');
}
