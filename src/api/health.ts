import { z } from '@hono/zod-openapi';
import { statfsSync, accessSync, constants, mkdirSync } from 'node:fs';
import type { AppDeps } from '../context.ts';
import { VERSION } from '../version.ts';
import { sandboxStatus } from '../scripts/sandbox.ts';
import { createRouter, defineRoute } from './router.ts';
import { jsonResponse } from './schemas.ts';
import { MIGRATIONS } from '../db/migrations.ts';
import { DATA_LAYOUT_VERSION } from '../ops/versions.ts';
import type { StateDbLiveness } from '../db/liveness.ts';

const LATEST_SCHEMA = Math.max(0, ...MIGRATIONS.map((m) => m.version));

const CheckSchema = z.object({ status: z.enum(['ok', 'degraded', 'failed']), detail: z.string() });
export const HealthSchema = z
  .object({
    status: z.enum(['ok', 'degraded']),
    version: z.string(),
    schema_version: z.number().int(),
    checks: z.record(z.string(), CheckSchema),
    script_sandbox: z
      .object({
        available: z.boolean().openapi({ description: 'False: bubblewrap is missing and scripts are refused (never run unconfined)' }),
        memory: z.enum(['cgroup-v1', 'cgroup-v2', 'rlimit']).openapi({ description: 'How a run\'s memory is capped' }),
        detail: z.string(),
      })
      .openapi({ description: 'Whether user scripts can run here, and how they are confined' }),
    schema_latest: z.number().int().openapi({ description: 'The newest state schema this server knows (schema_version equals it once migrated)' }),
    data_version: z.number().int().openapi({ description: 'Layout version of the data directory (state/, parquet/, uploads/, docs/)' }),
  })
  .openapi('Health');

/** Below this much free disk in the data directory, health reports degraded. */
const MIN_FREE_BYTES = 1024 ** 3;

const healthRoute = defineRoute({
  access: 'public',
  method: 'get',
  path: '/api/health',
  operationId: 'health.get',
  tags: ['health'],
  summary: 'Liveness and readiness: state database, data directory, free disk',
  responses: { 200: jsonResponse(HealthSchema, 'Healthy or degraded (see checks)'), 503: jsonResponse(HealthSchema, 'Failing') },
});

/**
 * Runs the health checks; each is cheap enough for a load balancer to poll. The state
 * database's answer comes from `liveness` (pinged on a timer), so a healthy server answers
 * without waiting for a query.
 */
export async function checkHealth(deps: AppDeps, liveness: StateDbLiveness): Promise<z.infer<typeof HealthSchema>> {
  const checks: Record<string, z.infer<typeof CheckSchema>> = {};
  checks.state_db = await liveness.check();
  try {
    mkdirSync(deps.config.dataDir, { recursive: true });
    accessSync(deps.config.dataDir, constants.W_OK);
    checks.data_dir = { status: 'ok', detail: deps.config.dataDir };
  } catch {
    checks.data_dir = { status: 'failed', detail: `${deps.config.dataDir} is not writable` };
  }
  try {
    const fs = statfsSync(deps.config.dataDir);
    const free = fs.bavail * fs.bsize;
    checks.disk = {
      status: free < MIN_FREE_BYTES ? 'degraded' : 'ok',
      detail: `${(free / 1024 ** 3).toFixed(1)} GiB free`,
    };
  } catch (err) {
    checks.disk = { status: 'degraded', detail: (err as Error).message };
  }
  // Reported beside the checks, not as one: a server without bubblewrap is healthy, it only refuses scripts.
  const sandbox = sandboxStatus(deps.config.scripts.bwrap);
  const all = Object.values(checks);
  return {
    status: all.every((c) => c.status === 'ok') ? 'ok' : 'degraded',
    version: VERSION,
    schema_version: deps.db.schemaVersion,
    checks,
    script_sandbox: { available: sandbox.available, memory: sandbox.memory, detail: sandbox.detail },
    schema_latest: LATEST_SCHEMA,
    data_version: DATA_LAYOUT_VERSION,
  };
}

/** GET /api/health (no auth). 503 when a check failed outright. */
export function createHealthRouter(deps: AppDeps, liveness: StateDbLiveness) {
  return createRouter().openapi(healthRoute, async (c) => {
    const health = await checkHealth(deps, liveness);
    const failed = Object.values(health.checks).some((ch) => ch.status === 'failed');
    return c.json(health, failed ? 503 : 200);
  });
}
