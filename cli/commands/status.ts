import { Command, Option } from 'clipanion';
import { existsSync, statSync } from 'node:fs';
import { BaseCommand } from '../base.ts';
import { CliError } from '../errors.ts';
import { formatBytes } from '../format.ts';
import { fileHealth, type FileHealth } from '../local-catalog.ts';
import { looksLikeDuckDb } from '../local-db.ts';
import type { Manifest } from '../workspace-sync.ts';
import { readSyncState } from '../sync-state.ts';
import { workspacePaths } from '../workspace.ts';

/** `da status`: server, user, last sync, stale tables, local database. */
export class StatusCommand extends BaseCommand {
  static paths = [['status']];
  static usage = Command.Usage({
    category: 'Data',
    description: 'Show the server, the user, the last sync, stale tables and the local database',
    details: `
      Without \`--local\` it also asks the server (health, who you are, the manifest) and lists tables that changed on the server since your last sync (\`stale\`) and tables you have not synced yet (\`not_synced\`). \`--local\` reads only local state and works offline. Exit 0 even when the server is unreachable (\`server.reachable\` is false).

      Tables are reported as they are on disk: \`synced\`, \`missing\`, \`damaged\` (the file is not the size that was synced) or \`unverified\` (same size, but changed since the sync). Checking size and modification time is instant; \`--verify\` also hashes every file (slow for large tables) and calls any file whose sha256 differs \`damaged\`. \`da sync\` repairs damaged and missing files; a local database that cannot be opened is reported as damaged too.
    `,
    examples: [
      ['Full status', '$0 status'],
      ['Offline, as JSON', '$0 status --local --json'],
      ['Hash every local file', '$0 status --local --verify'],
    ],
  });

  local = Option.Boolean('--local', false, { description: 'Only local state (no network)' });
  verify = Option.Boolean('--verify', false, { description: 'Hash every synced file (slow for large tables) instead of checking size and mtime' });

  async run() {
    const ws = workspacePaths(this.context.cwd);
    await this.repairWorkspace(ws);
    const state = readSyncState(this.store.paths.dir, ws.root);
    const server = this.serverUrl() ?? null;
    const token = this.store.resolveToken(server ?? undefined);
    const tables = await Promise.all(
      Object.entries(state.tables)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(async ([id, t]) => {
          const { health, bytes } = await fileHealth(ws, t, this.verify);
          return { id, state: health, rows: t.rows, size_bytes: t.size_bytes, bytes_on_disk: bytes, synced_at: t.synced_at, updated_at: t.updated_at, present: health !== 'missing' };
        }),
    );
    const count = (h: FileHealth) => tables.filter((t) => t.state === h);
    const dbExists = existsSync(ws.db);
    const dbDamaged = dbExists && !looksLikeDuckDb(ws.db);
    const result: Record<string, unknown> = {
      workspace: ws.root,
      config_dir: this.store.paths.dir,
      server: { url: server, reachable: null as boolean | null, version: null as string | null, error: null as string | null },
      user: null as unknown,
      logged_in: Boolean(token),
      last_sync: state.last_sync,
      local_db: { path: ws.db, exists: dbExists, size_bytes: dbExists ? statSync(ws.db).size : 0, damaged: dbDamaged },
      tables,
      stale: [] as string[],
      not_synced: [] as string[],
      missing_files: count('missing').map((t) => t.id),
      damaged_files: count('damaged').map((t) => t.id),
      verified: this.verify,
    };
    if (!this.local && server) {
      const client = this.client();
      try {
        const health = await client.get<{ version: string }>('/api/health', { accept: [503] });
        (result.server as Record<string, unknown>).reachable = true;
        (result.server as Record<string, unknown>).version = health?.version ?? null;
        if (token) {
          result.user = await client.get('/api/me');
          const manifest = await client.get<Manifest>('/api/sync/manifest');
          result.stale = Object.entries(manifest.tables).filter(([id, m]) => state.tables[id] && state.tables[id]!.hash !== m.hash).map(([id]) => id).sort();
          result.not_synced = Object.keys(manifest.tables).filter((id) => !state.tables[id]).sort();
        }
      } catch (err) {
        const s = result.server as Record<string, unknown>;
        if (s.reachable === null) s.reachable = false;
        s.error = err instanceof CliError || err instanceof Error ? err.message : String(err);
      }
    }
    this.emit(result, () => {
      const s = result.server as { url: string | null; reachable: boolean | null; version: string | null; error: string | null };
      const u = result.user as { email: string; role: string } | null;
      const lines = [
        `workspace:  ${ws.root}`,
        `server:     ${s.url ?? 'not configured'}${s.reachable === null ? '' : s.reachable ? ` (up, ${s.version})` : ' (unreachable)'}`,
        `user:       ${u ? `${u.email} (${u.role})` : result.logged_in ? 'logged in' : 'not logged in'}`,
        `last sync:  ${state.last_sync ?? 'never'}`,
        `local db:   ${dbExists ? `${ws.db} (${formatBytes(statSync(ws.db).size)}${dbDamaged ? ', damaged: run da sync to move it aside and rebuild' : ''})` : 'none (run da sync)'}`,
        `tables:     ${tableSummary(tables)}`,
      ];
      for (const h of ['damaged', 'missing', 'unverified'] as const) {
        const ids = count(h).map((t) => t.id);
        if (!ids.length) continue;
        const fix = h === 'unverified' ? 'changed since the sync; da status --verify checks them' : 'run da sync to repair';
        lines.push(`${`${h}:`.padEnd(12)}${ids.join(', ')} (${fix})`);
      }
      if ((result.stale as string[]).length) lines.push(`stale:      ${(result.stale as string[]).join(', ')} (run da sync)`);
      if ((result.not_synced as string[]).length) lines.push(`not synced: ${(result.not_synced as string[]).join(', ')}`);
      if (s.error) lines.push(`error:      ${s.error}`);
      return lines;
    });
  }
}

/** `3 synced (1.2 GB), 1 damaged, 1 missing`: what is on disk, not what was once downloaded. */
function tableSummary(tables: { state: FileHealth; bytes_on_disk: number }[]): string {
  const synced = tables.filter((t) => t.state === 'synced');
  const parts = [`${synced.length} synced (${formatBytes(synced.reduce((n, t) => n + t.bytes_on_disk, 0))})`];
  for (const h of ['unverified', 'damaged', 'missing'] as const) {
    const n = tables.filter((t) => t.state === h).length;
    if (n) parts.push(`${n} ${h}`);
  }
  return parts.join(', ');
}
