import { Command, Option, UsageError } from 'clipanion';
import { accessSync, constants, existsSync, mkdirSync, statfsSync, statSync } from 'node:fs';
import { BaseCommand } from '../base.ts';
import { createClient } from '../client.ts';
import { formatBytes } from '../format.ts';
import { isDamagedDbError, looksLikeDuckDb, openLocalDb } from '../local-db.ts';
import { readSyncState } from '../sync-state.ts';
import { localTableFiles, workspacePaths } from '../workspace.ts';

/** One diagnostic check. */
export interface Check {
  component: Component;
  name: string;
  status: 'ok' | 'warn' | 'fail' | 'skipped';
  detail: string;
  fix: string | null;
}

const COMPONENTS = ['config', 'auth', 'server', 'clock', 'local_db', 'disk'] as const;
type Component = (typeof COMPONENTS)[number];

/** Which components a free-text symptom points at. */
export function componentsForSymptom(symptom: string): Component[] {
  const s = symptom.toLowerCase();
  const hits = new Set<Component>();
  if (/401|403|login|token|auth|unauthori|forbidden|expired|revoked|sign/.test(s)) hits.add('auth').add('clock').add('config');
  if (/reach|connect|timeout|network|server|5\d\d|refused|dns|offline/.test(s)) hits.add('server').add('config');
  if (/sync|download|slow|hash|sha256|resume/.test(s)) hits.add('server').add('disk').add('local_db');
  if (/query|sql|table|view|duckdb|lock|missing|explore|damaged|corrupt|magic bytes|enough bytes/.test(s)) hits.add('local_db');
  if (/disk|space|full|enospc|efbig|write/.test(s)) hits.add('disk');
  if (/econnreset|econnrefused|reset|dropped/.test(s)) hits.add('server');
  if (/clock|time|skew|nbf|exp/.test(s)) hits.add('clock');
  return hits.size ? [...hits] : [...COMPONENTS];
}

/** `da diagnose`: checks config, token, server, clock, local database and disk. */
export class DiagnoseCommand extends BaseCommand {
  static paths = [['diagnose']];
  static usage = Command.Usage({
    category: 'Help',
    description: 'Check config, token, server health, clock skew, local database and disk; each with a fix',
    details: `
      Components: \`config\`, \`auth\`, \`server\`, \`clock\`, \`local_db\`, \`disk\`. \`--symptom\` picks the components that fit a description (e.g. "401", "sync is slow", "table missing"); \`--component\` picks them by name. Exit 1 when any check fails.
    `,
    examples: [
      ['Everything', '$0 diagnose'],
      ['For an error message', '$0 diagnose --symptom "401 unauthorized" --json'],
      ['Only the local database', '$0 diagnose --component local_db'],
    ],
  });

  symptom = Option.String('--symptom', { description: 'What goes wrong, in words or an error message' });
  component = Option.Array('--component', [], { description: `Only these: ${COMPONENTS.join(', ')}; repeatable` });

  async run() {
    for (const c of this.component) if (!(COMPONENTS as readonly string[]).includes(c)) throw new UsageError(`--component must be one of ${COMPONENTS.join(', ')}`);
    const wanted = new Set<Component>([...(this.component as Component[]), ...(this.symptom ? componentsForSymptom(this.symptom) : [])]);
    const want = (c: Component) => wanted.size === 0 || wanted.has(c);
    const checks: Check[] = [];
    const add = (c: Check) => checks.push(c);
    const ws = workspacePaths(this.context.cwd);
    const server = (() => {
      try {
        return this.serverUrl();
      } catch {
        return undefined;
      }
    })();
    const token = this.store.resolveToken(server);

    if (want('config')) {
      const dir = this.store.paths.dir;
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        accessSync(dir, constants.W_OK);
        add({ component: 'config', name: 'config_dir', status: 'ok', detail: dir, fix: null });
      } catch {
        add({ component: 'config', name: 'config_dir', status: 'fail', detail: `${dir} is not writable`, fix: 'set DA_CONFIG_DIR to a writable directory' });
      }
      add(server
        ? { component: 'config', name: 'server', status: 'ok', detail: server, fix: null }
        : { component: 'config', name: 'server', status: 'fail', detail: 'no server configured', fix: 'da login --server URL (or set DA_SERVER)' });
    }

    let dateHeader: string | null = null;
    let reachable = false;
    if (want('server') || want('clock') || want('auth')) {
      if (!server) {
        if (want('server')) add({ component: 'server', name: 'health', status: 'skipped', detail: 'no server configured', fix: 'da login --server URL' });
      } else {
        const started = performance.now();
        try {
          const res = await createClient(server, undefined).request('GET', '/api/health', { accept: [503] });
          dateHeader = res.headers.get('date');
          const body = (await res.json()) as { status: string; version: string; checks?: Record<string, { status: string; detail: string }> };
          reachable = true;
          const ms = Math.round(performance.now() - started);
          const bad = Object.entries(body.checks ?? {}).filter(([, c]) => c.status !== 'ok').map(([k, c]) => `${k}: ${c.detail}`);
          if (want('server')) {
            add({
              component: 'server', name: 'health', status: res.status === 503 ? 'fail' : bad.length ? 'warn' : 'ok',
              detail: `${server} answered in ${ms} ms, version ${body.version}${bad.length ? `; ${bad.join('; ')}` : ''}`,
              fix: res.status === 503 || bad.length ? 'tell the server administrator (the server reports a failing check)' : null,
            });
          }
        } catch (err) {
          if (want('server')) add({ component: 'server', name: 'health', status: 'fail', detail: (err as Error).message, fix: 'check the URL and your network; local queries keep working offline' });
        }
      }
    }

    if (want('clock')) {
      if (dateHeader) {
        const skew = Math.round((Date.now() - Date.parse(dateHeader)) / 1000);
        const bad = Math.abs(skew) > 60;
        add({ component: 'clock', name: 'skew', status: bad ? 'warn' : 'ok', detail: `local clock is ${Math.abs(skew)} s ${skew >= 0 ? 'ahead of' : 'behind'} the server`, fix: bad ? 'sync the system clock (NTP); sign-in tokens depend on it' : null });
      } else add({ component: 'clock', name: 'skew', status: 'skipped', detail: 'server not reachable', fix: null });
    }

    if (want('auth')) {
      if (!token) add({ component: 'auth', name: 'token', status: 'fail', detail: 'not logged in', fix: 'da login' });
      else if (!reachable) add({ component: 'auth', name: 'token', status: 'skipped', detail: 'server not reachable; cannot check the token', fix: null });
      else {
        try {
          const me = await createClient(server, token).get<{ email: string; role: string }>('/api/me');
          add({ component: 'auth', name: 'token', status: 'ok', detail: `valid for ${me.email} (${me.role})`, fix: null });
        } catch (err) {
          add({ component: 'auth', name: 'token', status: 'fail', detail: (err as Error).message, fix: 'da login (the token is expired, revoked or for another server)' });
        }
      }
    }

    if (want('local_db')) {
      const state = readSyncState(this.store.paths.dir, ws.root);
      const sizeOf = (p: string) => (existsSync(p) ? statSync(p).size : undefined);
      // A delta-synced table is its file and the parts kept beside it: a part gone or cut off damages the table.
      const files = Object.entries(state.tables).map(([id, t]) => {
        const [base, ...parts] = localTableFiles(ws, t);
        return { id, size: sizeOf(base!.path), want: base!.size, partsOk: parts.every((p) => sizeOf(p.path) === p.size) };
      });
      const missing = files.filter((f) => f.size === undefined).map((f) => f.id);
      const damaged = files.filter((f) => f.size !== undefined && (f.size !== f.want || !f.partsOk)).map((f) => f.id);
      const repair = 'da sync: it moves the file aside to analytics.duckdb.damaged-<time> (never deletes it: your own tables stay in that copy) and rebuilds the views';
      if (!existsSync(ws.db)) {
        add({ component: 'local_db', name: 'database', status: 'warn', detail: `no ${ws.db} yet`, fix: 'da sync (in the workspace directory)' });
      } else if (!looksLikeDuckDb(ws.db)) {
        add({
          component: 'local_db', name: 'database', status: 'fail',
          detail: `${ws.db} is damaged: ${formatBytes(statSync(ws.db).size)}, cut off or overwritten (a full disk can do this), so DuckDB cannot open it`,
          fix: repair,
        });
      } else {
        try {
          const db = await openLocalDb(ws.db);
          try {
            const views = (await db.conn.runAndReadAll(`SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal AND comment = 'da:sync'`)).getRowObjectsJson() as { schema_name: string; view_name: string }[];
            const broken: string[] = [];
            for (const v of views) {
              try {
                await db.conn.run(`SELECT * FROM "${v.schema_name.replace(/"/g, '""')}"."${v.view_name.replace(/"/g, '""')}" LIMIT 0`);
              } catch {
                broken.push(`${v.schema_name}.${v.view_name}`);
              }
            }
            add({
              component: 'local_db', name: 'database', status: broken.length ? 'fail' : 'ok',
              detail: broken.length ? `views over missing or damaged files: ${broken.join(', ')}` : `${views.length} views readable in ${ws.db}`,
              fix: broken.length ? 'da sync --verify' : null,
            });
          } finally {
            db.close();
          }
        } catch (err) {
          const isDamaged = isDamagedDbError(err);
          add({
            component: 'local_db', name: 'database', status: 'fail', detail: (err as Error).message,
            fix: isDamaged ? repair : 'close other programs using the file (another da query, a DuckDB shell), then retry',
          });
        }
      }
      const bad = [...damaged.map((id) => `${id} (damaged: not the size that was synced)`), ...missing.map((id) => `${id} (missing)`)];
      add(bad.length
        ? { component: 'local_db', name: 'files', status: 'fail', detail: `synced files not as synced: ${bad.join(', ')}`, fix: 'da sync (it downloads them again)' }
        : { component: 'local_db', name: 'files', status: 'ok', detail: `${files.length} synced tables present`, fix: null });
    }

    if (want('disk')) {
      try {
        const fs = statfsSync(ws.root);
        const free = fs.bavail * fs.bsize;
        add({ component: 'disk', name: 'free_space', status: free < 1024 ** 3 ? 'warn' : 'ok', detail: `${formatBytes(free)} free in ${ws.root}`, fix: free < 1024 ** 3 ? 'free disk space, or sync fewer tables with --table' : null });
      } catch (err) {
        add({ component: 'disk', name: 'free_space', status: 'warn', detail: (err as Error).message, fix: null });
      }
    }

    const ok = !checks.some((c) => c.status === 'fail');
    this.emit({ ok, checks }, () => [
      ...checks.map((c) => `${c.status.toUpperCase().padEnd(7)} ${c.component}/${c.name}: ${c.detail}${c.fix ? `\n        fix: ${c.fix}` : ''}`),
      ok ? 'no failures' : 'some checks failed',
    ]);
    return ok ? 0 : 1;
  }
}
