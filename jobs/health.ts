import { mkdirSync, statfsSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HealthFinding } from '../src/repositories/health-checks.ts';
import type { JobContext, JobDefinition } from './types.ts';

/** Free space below this on the data directory's file system fails the check. */
export const MIN_FREE_BYTES = 1024 ** 3;

type Finding = Omit<HealthFinding, 'checked_at'>;

async function check(name: string, fn: () => Promise<string>): Promise<Finding> {
  try {
    return { name, ok: true, detail: await fn() };
  } catch (err) {
    return { name, ok: false, detail: err instanceof Error ? err.message : String(err) };
  }
}

const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;

/**
 * The server's self-check, every 5 minutes: the state database answers, the data directory
 * takes a write and has free space (above `minFreeBytes`), the query pool runs `SELECT 1`,
 * and whether the script sandbox can run scripts (informational, as the script registry sees it). The findings
 * are kept (health_checks, shown on /admin/jobs); any failed check fails the run, with the
 * failed checks as its reason.
 */
export async function runHealthChecks({ deps, services }: JobContext, { minFreeBytes = MIN_FREE_BYTES } = {}): Promise<Finding[]> {
  const { config } = deps;
  const findings = await Promise.all([
    check('state_db', async () => {
      return `answers (${await deps.repos.healthChecks.ping()} migrations applied)`;
    }),
    check('data_dir', async () => {
      const dir = join(config.dataDir, 'tmp');
      mkdirSync(dir, { recursive: true });
      const probe = join(dir, `health-${process.pid}-${Date.now()}`);
      writeFileSync(probe, 'ok');
      unlinkSync(probe);
      const fs = statfsSync(config.dataDir);
      const free = Number(fs.bavail) * Number(fs.bsize);
      if (free < minFreeBytes) throw new Error(`only ${gib(free)} free on the data directory (below ${gib(minFreeBytes)})`);
      return `writable, ${gib(free)} free`;
    }),
    check('query_pool', async () => {
      const r = await services.queryPool.run({ tables: [] }, { owner: 'da-health', sql: 'SELECT 1 AS ok', limit: 1, maxBytes: 1024, timeoutMs: 10_000 });
      if (r.row_count !== 1) throw new Error(`SELECT 1 returned ${r.row_count} rows`);
      return `answers SELECT 1 in ${r.elapsed_ms} ms`;
    }),
  ]);
  // Informational: a server without bubblewrap works, it only refuses to run scripts.
  const sandbox = services.scripts.sandbox();
  findings.push({
    name: 'sandbox', ok: true,
    detail: sandbox.available ? sandbox.detail : `scripts cannot run on this server: ${sandbox.detail}`,
  });
  await deps.repos.healthChecks.record(findings);
  const failed = findings.filter((f) => !f.ok);
  for (const f of failed) deps.logger.warn('health check failed', { check: f.name, detail: f.detail });
  if (failed.length) throw new Error(failed.map((f) => `${f.name}: ${f.detail}`).join('; '));
  return findings;
}

export const healthJob = {
  name: 'health',
  schedule: () => '*/5 * * * *',
  run: (ctx: JobContext) => runHealthChecks(ctx),
} satisfies JobDefinition;
