import { hasRole } from '../auth/roles.ts';
import { ServiceUnavailableError } from '../errors.ts';
import { ScriptPage, ScriptsListPage } from '../../views/scripts/scripts.tsx';
import { definePage, type AnyPage } from './router.ts';
import { pathParam } from './admin/common.ts';

/**
 * /scripts and /scripts/<id>: the caller's scripts (every one for admins), one script with
 * its source and runs, and its run-now and undeploy forms, which call the same service as
 * POST /api/scripts/{id}/run and DELETE /api/scripts/{id} (audited under those operationIds).
 */

/** Runs shown on a script's page. */
const RUNS_SHOWN = 20;

export const scriptsPage = definePage({
  path: '/scripts',
  access: 'analyst',
  async get(c, { deps, services, user }) {
    const scripts = await services.scripts.list(user);
    const showOwner = hasRole(user.role, 'admin');
    const owners: Record<string, string> = {};
    if (showOwner) for (const u of await deps.repos.users.list()) owners[u.id] = u.email;
    const sandbox = services.scripts.sandbox();
    return c.render(<ScriptsListPage scripts={scripts} showOwner={showOwner} owners={owners} sandboxProblem={sandbox.available ? null : sandbox.detail} />, {
      title: 'Scripts',
    });
  },
});

export const scriptPage = definePage({
  path: '/scripts/:id',
  access: 'analyst',
  async get(c, { deps, services, user, csrf }) {
    const script = await services.scripts.get(user, pathParam(c, 'id'));
    const [runs, owner] = await Promise.all([services.scripts.runs(user, script.id, RUNS_SHOWN), deps.repos.users.get(script.owner)]);
    const sandbox = services.scripts.sandbox();
    return c.render(
      <ScriptPage script={script} owner={owner?.email ?? script.owner} runs={runs} csrf={csrf} sandboxProblem={sandbox.available ? null : sandbox.detail} />,
      { title: script.name },
    );
  },
});

export const scriptRunAction = definePage({
  path: '/scripts/:id/run',
  access: 'analyst',
  action: 'scripts.run',
  async post(c, { services, user, redirect }) {
    const id = pathParam(c, 'id');
    try {
      const { runId } = await services.scripts.run(user, id);
      return redirect(`/scripts/${encodeURIComponent(id)}`, { kind: 'ok', message: `Run ${runId} started; reload to see its output.` });
    } catch (err) {
      if (err instanceof ServiceUnavailableError) return redirect(`/scripts/${encodeURIComponent(id)}`, { kind: 'error', message: err.message });
      throw err;
    }
  },
});

export const scriptUndeployAction = definePage({
  path: '/scripts/:id/undeploy',
  access: 'analyst',
  action: 'scripts.delete',
  async post(c, { services, user, redirect }) {
    const script = await services.scripts.get(user, pathParam(c, 'id'));
    await services.scripts.remove(user, script.id);
    return redirect('/scripts', { kind: 'ok', message: `Undeployed ${script.name}.` });
  },
});

/** The script pages, as src/web/pages.ts registers them. */
export const SCRIPT_PAGES: AnyPage[] = [scriptsPage, scriptPage, scriptRunAction, scriptUndeployAction];
