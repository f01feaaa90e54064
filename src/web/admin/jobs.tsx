import { ConflictError } from '../../errors.ts';
import { JobsPage } from '../../../views/admin/jobs.tsx';
import { definePage, type AnyPage } from '../router.ts';
import { adminPage, pathParam } from './common.ts';

/** GET /admin/jobs: the jobs (as GET /api/jobs) and the health job's last findings. */
export const adminJobsPage = definePage({
  path: '/admin/jobs',
  access: 'admin',
  async get(c, { deps, services, csrf }) {
    const [jobs, health] = await Promise.all([services.jobs.list(), deps.repos.healthChecks.list()]);
    adminPage(c);
    return c.render(<JobsPage jobs={jobs} health={health} csrf={csrf} />, { title: 'Jobs' });
  },
});

/** POST /admin/jobs/<name>/run: as POST /api/jobs/{name}/run; a running job is said so, an unknown one is the 404 page. */
export const runJobAction = definePage({
  path: '/admin/jobs/:name/run',
  access: 'admin',
  action: 'jobs.run',
  async post(c, { services, redirect }) {
    const name = pathParam(c, 'name').slice(0, 128);
    try {
      const { runId } = await services.jobs.runNow(name);
      return redirect('/admin/jobs', { message: `Started ${name} (run ${runId}).` });
    } catch (err) {
      if (err instanceof ConflictError) return redirect('/admin/jobs', { kind: 'error', message: `${name} is running already; it can run again once it has finished.` });
      throw err;
    }
  },
});

/** The jobs page, as src/web/pages.ts registers it. */
export const ADMIN_JOB_PAGES: AnyPage[] = [adminJobsPage, runJobAction];
