import { z } from '@hono/zod-openapi';
import { currentUser } from '../auth/middleware.ts';
import { RUN_STATUSES, SCRIPT_LANGUAGES, type ScriptRun } from '../repositories/scripts.ts';
import type { ScriptsService, ScriptView } from '../scripts/service.ts';
import { SCRIPT_NAME } from '../scripts/service.ts';
import { createRouter, defineRoute, errorResponse } from './router.ts';
import { IdParamSchema, jsonBody, jsonResponse } from './schemas.ts';

const tags = ['scripts'];
/** Every route below is for the script's owner, or an admin: published as `x-owner-or`. */
const ownerOr = { 'x-owner-or': 'admin' } as const;

const ScheduleSchema = z
  .string()
  .min(1)
  .max(200)
  .nullable()
  .openapi({ description: 'Cron pattern (5 fields, or 6 with seconds first); null: only on demand', example: '0 7 * * 1-5' });

const fields = {
  name: z.string().regex(SCRIPT_NAME, `script names match ${SCRIPT_NAME.source}`).openapi({ example: 'daily-revenue' }),
  language: z.enum(SCRIPT_LANGUAGES),
  source: z.string().openapi({ description: 'The program text; larger than scripts.max_source_bytes is a 422', example: 'SELECT sum(amount) FROM sales.orders' }),
  schedule: ScheduleSchema,
  enabled: z.boolean().openapi({ description: 'A disabled script keeps its schedule but is not run on it' }),
};

const LastRunSchema = z.object({ run_id: z.string(), status: z.enum(RUN_STATUSES), queued_at: z.string(), finished_at: z.string().nullable() });

export const ScriptSchema = z
  .object({
    id: z.string(),
    ...fields,
    owner: z.string().openapi({ description: "The owner's user id: the run sees this user's permitted tables" }),
    created_at: z.string(),
    updated_at: z.string(),
    last_run: LastRunSchema.nullable(),
  })
  .openapi('Script');

const CreateScriptSchema = z
  .object({ ...fields, schedule: fields.schedule.default(null), enabled: fields.enabled.default(true) })
  .openapi('ScriptCreate');
const PatchScriptSchema = z.object(fields).partial().openapi('ScriptPatch');

const ArtifactSchema = z.object({ name: z.string(), size_bytes: z.number().int(), url: z.string() }).openapi('ScriptArtifact');

export const ScriptRunSchema = z
  .object({
    run_id: z.string(),
    script_id: z.string(),
    trigger: z.enum(['manual', 'schedule']),
    status: z.enum(RUN_STATUSES),
    exit_code: z.number().int().nullable(),
    reason: z.string().nullable().openapi({ description: 'Why the run did not succeed (timed out, out of memory, exit code …)' }),
    stdout: z.string(),
    stderr: z.string(),
    truncated: z.boolean().openapi({ description: 'stdout or stderr was cut at scripts.max_output_bytes' }),
    duration_ms: z.number().int().nullable(),
    artifacts: z.array(ArtifactSchema).openapi({ description: 'The files the run wrote to $DA_OUT' }),
    queued_at: z.string(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
  })
  .openapi('ScriptRun');

const RunParamsSchema = IdParamSchema.extend({
  run_id: z.string().min(1).max(64).openapi({ param: { name: 'run_id', in: 'path' } }),
});
const ArtifactParamsSchema = RunParamsSchema.extend({
  name: z.string().min(1).max(255).openapi({ param: { name: 'name', in: 'path' }, example: 'result.csv' }),
});

const notFound = { 404: errorResponse('No such script, or not yours') };

const listScripts = defineRoute({
  access: 'analyst', method: 'get', path: '/api/scripts', operationId: 'scripts.list', tags,
  summary: 'Your scripts (every script for admins)',
  responses: { 200: jsonResponse(z.array(ScriptSchema), 'The scripts, by name') },
});
const createScript = defineRoute({
  access: 'analyst', method: 'post', path: '/api/scripts', operationId: 'scripts.create', tags,
  summary: 'Deploy a script (sql, typescript, javascript or python), on a cron schedule or on demand',
  request: jsonBody(CreateScriptSchema),
  responses: { 201: jsonResponse(ScriptSchema, 'The script'), 409: errorResponse('You already have a script of that name') },
});
const getScript = defineRoute({
  access: 'analyst', ...ownerOr, method: 'get', path: '/api/scripts/{id}', operationId: 'scripts.get', tags,
  summary: 'One script',
  request: { params: IdParamSchema },
  responses: { 200: jsonResponse(ScriptSchema, 'The script'), ...notFound },
});
const patchScript = defineRoute({
  access: 'analyst', ...ownerOr, method: 'patch', path: '/api/scripts/{id}', operationId: 'scripts.update', tags,
  summary: 'Change a script: source, language, name, schedule, enabled',
  request: { params: IdParamSchema, ...jsonBody(PatchScriptSchema) },
  responses: { 200: jsonResponse(ScriptSchema, 'The script'), ...notFound, 409: errorResponse('You already have a script of that name') },
});
const deleteScript = defineRoute({
  access: 'analyst', ...ownerOr, method: 'delete', path: '/api/scripts/{id}', operationId: 'scripts.delete', tags,
  summary: 'Undeploy a script: its schedule, runs and artifacts go too',
  request: { params: IdParamSchema },
  responses: { 204: { description: 'Undeployed' }, ...notFound },
});
const runScript = defineRoute({
  access: 'analyst', ...ownerOr, method: 'post', path: '/api/scripts/{id}/run', operationId: 'scripts.run', tags,
  summary: 'Run a script now in the sandbox; with wait=true, answer when it has ended',
  request: {
    params: IdParamSchema,
    query: z.object({ wait: z.enum(['true', 'false']).optional().openapi({ description: 'Wait for the run to end and return it' }) }),
  },
  responses: {
    200: jsonResponse(ScriptRunSchema, 'The finished run (wait=true)'),
    202: jsonResponse(z.object({ run_id: z.string() }).openapi('ScriptRunStarted'), 'The run is queued'),
    ...notFound,
    503: errorResponse('The server has no script sandbox (bubblewrap missing): scripts never run unconfined'),
  },
});
const listRuns = defineRoute({
  access: 'analyst', ...ownerOr, method: 'get', path: '/api/scripts/{id}/runs', operationId: 'scripts.runs.list', tags,
  summary: 'The runs of a script, newest first',
  request: { params: IdParamSchema, query: z.object({ limit: z.coerce.number().int().min(1).max(500).optional() }) },
  responses: { 200: jsonResponse(z.array(ScriptRunSchema), 'The runs'), ...notFound },
});
const getRun = defineRoute({
  access: 'analyst', ...ownerOr, method: 'get', path: '/api/scripts/{id}/runs/{run_id}', operationId: 'scripts.runs.get', tags,
  summary: 'One run: status, exit code, output, artifacts',
  request: { params: RunParamsSchema },
  responses: { 200: jsonResponse(ScriptRunSchema, 'The run'), 404: errorResponse('No such script or run, or not yours') },
});
const getArtifact = defineRoute({
  access: 'analyst', ...ownerOr, method: 'get', path: '/api/scripts/{id}/runs/{run_id}/artifacts/{name}', operationId: 'scripts.artifacts.get', tags,
  summary: 'A file a run wrote to $DA_OUT',
  request: { params: ArtifactParamsSchema },
  responses: {
    200: { description: 'The file', content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } } },
    404: errorResponse('No such script, run or artifact, or not yours'),
  },
});

/** A run as the API shows it, with the download path of each artifact. */
export function runBody(scriptId: string, r: ScriptRun) {
  const { id, requested_by: _, ...rest } = r;
  return {
    ...rest,
    run_id: id,
    artifacts: r.artifacts.map((a) => ({ ...a, url: `/api/scripts/${scriptId}/runs/${id}/artifacts/${encodeURIComponent(a.name)}` })),
  };
}

const scriptBody = (s: ScriptView) => s;

/** The script registry: `/api/scripts…` (analysts; their own scripts, admins any). */
export function createScriptsRouter(scripts: ScriptsService) {
  return createRouter()
    .openapi(listScripts, async (c) => c.json((await scripts.list(currentUser(c))).map(scriptBody), 200))
    .openapi(createScript, async (c) => c.json(scriptBody(await scripts.create(currentUser(c), c.req.valid('json'))), 201))
    .openapi(getScript, async (c) => c.json(scriptBody(await scripts.get(currentUser(c), c.req.valid('param').id)), 200))
    .openapi(patchScript, async (c) => c.json(scriptBody(await scripts.update(currentUser(c), c.req.valid('param').id, c.req.valid('json'))), 200))
    .openapi(deleteScript, async (c) => {
      await scripts.remove(currentUser(c), c.req.valid('param').id);
      return c.body(null, 204);
    })
    .openapi(runScript, async (c) => {
      const { id } = c.req.valid('param');
      const started = await scripts.run(currentUser(c), id);
      if (c.req.valid('query').wait === 'true') return c.json(runBody(id, await started.done), 200);
      return c.json({ run_id: started.runId }, 202);
    })
    .openapi(listRuns, async (c) => {
      const { id } = c.req.valid('param');
      const runs = await scripts.runs(currentUser(c), id, c.req.valid('query').limit);
      return c.json(runs.map((r) => runBody(id, r)), 200);
    })
    .openapi(getRun, async (c) => {
      const { id, run_id } = c.req.valid('param');
      return c.json(runBody(id, await scripts.getRun(currentUser(c), id, run_id)), 200);
    })
    .openapi(getArtifact, async (c) => {
      const { id, run_id, name } = c.req.valid('param');
      const path = await scripts.artifactPath(currentUser(c), id, run_id, name);
      return new Response(Bun.file(path), {
        headers: {
          'content-type': 'application/octet-stream',
          'content-disposition': `attachment; filename="${name}"`,
          'x-content-type-options': 'nosniff',
        },
      }) as never;
    });
}
