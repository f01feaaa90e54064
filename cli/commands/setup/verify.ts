import { Command, Option } from 'clipanion';
import { BaseCommand } from '../../base.ts';
import { createClient } from '../../client.ts';
import { EXIT } from '../../errors.ts';
import { formatChecks, registerAndSync, syncProblem, type Check } from './common.ts';

interface ManifestView {
  tables: Record<string, { dataset: string; name: string; hash: string; rows: number; url: string }>;
}

/** `da setup verify`: the end-to-end check before inviting users (admin). */
export class SetupVerifyCommand extends BaseCommand {
  static paths = [['setup', 'verify']];
  static usage = Command.Usage({
    category: 'Setup',
    description: 'Check the server end to end before inviting users: health, a sync, a query as an analyst, a download (admin)',
    details: `
      Over the API of the server you are logged in to: checks \`/api/health\`, runs a sync of every source (skip with \`--no-sync\`), then creates a temporary analyst, grants it the first table's dataset, runs a query as that analyst, downloads the table's file and checks its sha256 against the manifest, and deactivates the analyst again. Stops at the first failure and says why (exit 1).
    `,
    examples: [['After da setup first-sync', '$0 setup verify'], ['Without syncing again', '$0 setup verify --no-sync --json']],
  });
  sync = Option.Boolean('--sync', true, { description: 'Run a sync as part of the check (--no-sync: use the data as it is)' });

  async run() {
    const admin = this.authedClient();
    const checks: Check[] = [];
    const report = () => {
      const failed = checks.find((c) => c.status === 'failed');
      this.emit({ server: admin.server, ok: !failed, checks }, () => [...formatChecks(checks), failed ? `verify failed: ${failed.name}: ${failed.detail}` : 'the server is ready for users']);
      return failed ? EXIT.failure : EXIT.ok;
    };
    const step = async <T>(name: string, fn: () => Promise<{ detail: string; value?: T }>): Promise<T | undefined> => {
      try {
        const { detail, value } = await fn();
        checks.push({ name, status: 'ok', detail });
        return value ?? (true as T);
      } catch (err) {
        checks.push({ name, status: 'failed', detail: (err as Error).message });
        return undefined;
      }
    };

    const healthy = await step('health', async () => {
      const res = await admin.request('GET', '/api/health', { accept: [503] });
      const h = (await res.json()) as { status: string; version: string; schema_version: number; checks: Record<string, { status: string; detail: string }> };
      if (res.status !== 200) {
        const bad = Object.entries(h.checks).filter(([, c]) => c.status === 'failed').map(([k, c]) => `${k}: ${c.detail}`);
        throw new Error(`the server reports failing checks: ${bad.join('; ')}`);
      }
      return { detail: `${h.status} (da ${h.version}, schema ${h.schema_version})` };
    });
    if (!healthy) return report();

    if (this.sync) {
      const synced = await step('sync', async () => {
        const job = await registerAndSync(admin, () => {});
        const problem = syncProblem(job);
        if (problem) throw new Error(problem);
        return { detail: `${job.tables.length} tables synced (job ${job.job_id})` };
      });
      if (!synced) return report();
    } else {
      checks.push({ name: 'sync', status: 'skipped', detail: '--no-sync' });
    }

    const table = await step('manifest', async () => {
      const m = await admin.get<ManifestView>('/api/sync/manifest');
      const entries = Object.entries(m.tables);
      if (!entries.length) throw new Error('the server serves no tables: configure a source and run `da setup first-sync`');
      const [id, t] = entries.sort(([a], [b]) => a.localeCompare(b))[0]!;
      return { detail: `${entries.length} tables; checking ${id}`, value: { id, ...t } };
    });
    if (!table) return report();

    const email = `da-verify-${crypto.randomUUID().slice(0, 8)}@verify.example.com`;
    const password = `verify-${crypto.randomUUID()}`;
    let userId: string | undefined;
    try {
      const analyst = await step('analyst', async () => {
        const u = await admin.post<{ id: string }>('/api/users', { email, role: 'analyst', password, name: 'da setup verify (temporary)' });
        userId = u.id;
        await admin.put(`/api/users/${encodeURIComponent(u.id)}/permissions/${encodeURIComponent(table.dataset)}`, { access: 'read' });
        const res = await admin.request('POST', '/auth/token', { json: { email, password } });
        const { access_token } = (await res.json()) as { access_token: string };
        return { detail: `temporary analyst ${email} signed in with read on ${table.dataset}`, value: createClient(admin.server, access_token) };
      });
      if (!analyst) return report();

      const queried = await step('query', async () => {
        const r = await analyst.post<{ rows: unknown[][] }>('/api/query', { sql: `SELECT count(*) AS n FROM "${table.dataset}"."${table.name}"` });
        const n = Number(r.rows[0]?.[0]);
        if (n !== table.rows) throw new Error(`${table.id} has ${n} rows by query, but the manifest says ${table.rows}`);
        return { detail: `SELECT count(*) FROM ${table.id} as the analyst: ${n} rows` };
      });
      if (!queried) return report();

      await step('download', async () => {
        const res = await analyst.request('GET', `/api/data/${encodeURIComponent(table.id)}/download`);
        const hasher = new Bun.CryptoHasher('sha256');
        let bytes = 0;
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          hasher.update(chunk);
          bytes += chunk.length;
        }
        const hash = hasher.digest('hex');
        if (hash !== table.hash) throw new Error(`the download of ${table.id} has sha256 ${hash}, the manifest says ${table.hash}`);
        return { detail: `${table.id}: ${bytes} bytes, sha256 matches the manifest` };
      });
    } finally {
      if (userId) await admin.delete(`/api/users/${encodeURIComponent(userId)}`).catch(() => {});
    }
    return report();
  }
}
