import { Command, Option } from 'clipanion';
import { existsSync, statSync } from 'node:fs';
import { BaseCommand } from '../base.ts';
import { CliError } from '../errors.ts';
import { formatBytes } from '../format.ts';
import type { Manifest } from '../sync.ts';
import { readSyncState } from '../sync-state.ts';
import { localParquetPath, workspacePaths } from '../workspace.ts';

/** `da status`: server, user, last sync, stale tables, local database. */
export class StatusCommand extends BaseCommand {
  static paths = [['status']];
  static usage = Command.Usage({
    category: 'Data',
    description: 'Show the server, the user, the last sync, stale tables and the local database',
    details: `
      Without \`--local\` it also asks the server (health, who you are, the manifest) and lists tables that changed on the server since your last sync (\`stale\`) and tables you have not synced yet (\`not_synced\`). \`--local\` reads only local state and works offline. Exit 0 even when the server is unreachable (\`server.reachable\` is false).
    `,
    examples: [
      ['Full status', '$0 status'],
      ['Offline, as JSON', '$0 status --local --json'],
    ],
  });

  local = Option.Boolean('--local', false, { description: 'Only local state (no network)' });

  async run() {
    const ws = workspacePaths(this.context.cwd);
    const state = readSyncState(this.store.paths.dir, ws.root);
    const server = this.serverUrl() ?? null;
    const token = this.store.resolveToken(server ?? undefined);
    const tables = Object.entries(state.tables)
      .map(([id, t]) => {
        const path = localParquetPath(ws, t.dataset, t.name);
        return { id, rows: t.rows, size_bytes: t.size_bytes, synced_at: t.synced_at, updated_at: t.updated_at, present: existsSync(path) };
      })
      .sort((a, b) => a.id.localeCompare(b.id));
    const dbExists = existsSync(ws.db);
    const result: Record<string, unknown> = {
      workspace: ws.root,
      config_dir: this.store.paths.dir,
      server: { url: server, reachable: null as boolean | null, version: null as string | null, error: null as string | null },
      user: null as unknown,
      logged_in: Boolean(token),
      last_sync: state.last_sync,
      local_db: { path: ws.db, exists: dbExists, size_bytes: dbExists ? statSync(ws.db).size : 0 },
      tables,
      stale: [] as string[],
      not_synced: [] as string[],
      missing_files: tables.filter((t) => !t.present).map((t) => t.id),
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
        `local db:   ${dbExists ? `${ws.db} (${formatBytes(statSync(ws.db).size)})` : 'none (run da sync)'}`,
        `tables:     ${tables.length} synced, ${formatBytes(tables.reduce((n, t) => n + t.size_bytes, 0))}`,
      ];
      if ((result.stale as string[]).length) lines.push(`stale:      ${(result.stale as string[]).join(', ')} (run da sync)`);
      if ((result.not_synced as string[]).length) lines.push(`not synced: ${(result.not_synced as string[]).join(', ')}`);
      if (s.error) lines.push(`error:      ${s.error}`);
      return lines;
    });
  }
}
