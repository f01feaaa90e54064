import { z } from '@hono/zod-openapi';
import { accessRequestDeps } from '../../api/access-requests.ts';
import { approveRequest, denyRequest, listRequests } from '../../auth/access-requests.ts';
import { ConflictError } from '../../errors.ts';
import { AccessPage } from '../../../views/admin/access.tsx';
import { definePage, type AnyPage } from '../router.ts';
import { adminPage, pathParam } from './common.ts';

/**
 * /admin/access: pending access requests, approved or denied with the code of
 * POST /api/access-requests/{id}/approve|deny (audited under those operationIds).
 */
const DECIDED_SHOWN = 50;

export const adminAccessPage = definePage({
  path: '/admin/access',
  access: 'admin',
  async get(c, { deps, csrf }) {
    const [pending, all] = await Promise.all([listRequests(deps.repos, 'pending'), listRequests(deps.repos)]);
    adminPage(c);
    return c.render(
      <AccessPage pending={pending.toReversed()} decided={all.filter((r) => r.status !== 'pending').slice(0, DECIDED_SHOWN)} csrf={csrf} />,
      { title: 'Access requests' },
    );
  },
});

export const adminApproveAction = definePage({
  path: '/admin/access/:id/approve',
  access: 'admin',
  action: 'accessRequests.approve',
  async post(c, { deps, services, user, redirect }) {
    try {
      const r = await approveRequest(accessRequestDeps(deps, services), user, pathParam(c, 'id'));
      return redirect('/admin/access', { kind: 'ok', message: `Approved: ${r.user} may now read ${r.dataset}.` });
    } catch (err) {
      if (err instanceof ConflictError) return redirect('/admin/access', { kind: 'error', message: err.message });
      throw err;
    }
  },
});

export const adminDenyAction = definePage({
  path: '/admin/access/:id/deny',
  access: 'admin',
  action: 'accessRequests.deny',
  form: z.object({ note: z.string().trim().max(2000).optional() }),
  async post(c, { deps, services, user, form, redirect }) {
    try {
      const r = await denyRequest(accessRequestDeps(deps, services), user, pathParam(c, 'id'), form.note || null);
      return redirect('/admin/access', { kind: 'ok', message: `Denied ${r.user}'s request for ${r.dataset}.` });
    } catch (err) {
      if (err instanceof ConflictError) return redirect('/admin/access', { kind: 'error', message: err.message });
      throw err;
    }
  },
});

/** The access-request pages, as src/web/pages.ts registers them. */
export const ADMIN_ACCESS_PAGES: AnyPage[] = [adminAccessPage, adminApproveAction, adminDenyAction];
