import { z } from '@hono/zod-openapi';
import type { JobRunner } from '../../jobs/runner.ts';
import { createRouter, defineRoute, errorResponse } from './router.ts';
import { jsonResponse } from './schemas.ts';

export const JobInfoSchema = z
  .object({
    name: z.string(),
    schedule: z.string().nullable().openapi({ description: 'Cron pattern; null when the job only runs on demand' }),
    next_run: z.string().nullable(),
    last_run: z.string().nullable().openapi({ description: 'When the newest run started' }),
    last_status: z.enum(['running', 'succeeded', 'failed']).nullable(),
    busy: z.boolean(),
  })
  .openapi('JobInfo');

const JobNameSchema = z.object({ name: z.string().regex(/^[a-z0-9][a-z0-9._:-]{0,127}$/, 'not a job name') });

const listJobs = defineRoute({
  access: 'admin', method: 'get', path: '/api/jobs', operationId: 'jobs.list', tags: ['jobs'],
  summary: 'Every job of the server: schedule, next and last run, whether it runs now',
  responses: { 200: jsonResponse(z.array(JobInfoSchema), 'The jobs, by name') },
});

const runJob = defineRoute({
  access: 'admin', method: 'post', path: '/api/jobs/{name}/run', operationId: 'jobs.run', tags: ['jobs'],
  summary: 'Run a job now',
  request: { params: JobNameSchema },
  responses: {
    202: jsonResponse(z.object({ run_id: z.string() }).openapi('JobStarted'), 'The run started'),
    404: errorResponse('No job of that name'),
    409: errorResponse('The job is running'),
  },
});

/** `GET /api/jobs`, `POST /api/jobs/{name}/run` (admin). */
export function createJobsRouter(jobs: JobRunner) {
  return createRouter()
    .openapi(listJobs, async (c) => c.json(await jobs.list(), 200))
    .openapi(runJob, async (c) => {
      const { runId } = await jobs.runNow(c.req.valid('param').name);
      return c.json({ run_id: runId }, 202);
    });
}
