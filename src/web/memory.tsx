import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppDeps, AppEnv, AuthUser } from '../context.ts';
import type { Services } from '../boot.ts';
import { hasRole, ROLES, type Role } from '../auth/roles.ts';
import { ConflictError, ForbiddenError } from '../errors.ts';
import { MEMORY_STATUSES } from '../repositories/memory.ts';
import { MemoryItemPage, MemoryListPage, MemoryReviewPage, type FieldErrors, type MemoryRights } from '../../views/memory/pages.tsx';
import { definePage, type AnyPage, type FieldError, type Flash } from './router.ts';
import { pathParam } from './admin/common.ts';

/**
 * Corporate memory in the browser: /memory (browse, search, vote, propose), /memory/<id>
 * (the item; edit; for admins history and review, for km_admins audience and category) and
 * /memory/review (the queue, one by one or ticked together). Every form post calls the
 * memory service as the API route of the same operationId does.
 */

function rightsOf(user: AuthUser): MemoryRights {
  return { contribute: hasRole(user.role, 'analyst'), review: hasRole(user.role, 'admin'), govern: hasRole(user.role, 'km_admin') };
}

async function emails(deps: AppDeps): Promise<Record<string, string>> {
  return Object.fromEntries((await deps.repos.users.list({ includeInactive: true })).map((u) => [u.id, u.email]));
}

const tagList = (s: string | undefined) => (s ?? '').split(',').map((t) => t.trim()).filter(Boolean);
const errorMap = (errors: FieldError[]): FieldErrors => Object.fromEntries(errors.map((e) => [e.path.split('.')[0]!, e.message]));
/** A page-local path to come back to (never another site). */
const backTo = (back: string | undefined, fallback: string) => (back && /^\/memory(?:[/?]|$)/.test(back) ? back : fallback);

/** Refusals a reviewer can cause by pressing an outdated button: said on the page, not as an error page. */
async function orFlash(redirect: (to: string, f: Flash) => Response, to: string, work: () => Promise<Flash>): Promise<Response> {
  try {
    return redirect(to, await work());
  } catch (err) {
    if (err instanceof ConflictError || err instanceof ForbiddenError) return redirect(to, { kind: 'error', message: err.message });
    throw err;
  }
}

const ListQuery = z.object({
  q: z.string().max(500).optional(),
  status: z.enum(MEMORY_STATUSES).or(z.literal('')).optional(),
  category: z.string().max(64).optional(),
  tag: z.string().max(64).optional(),
  cursor: z.string().max(500).optional(),
});
type ListQuery = z.infer<typeof ListQuery>;

const ProposeForm = z.object({
  title: z.string().trim().min(1, 'a title is needed').max(200),
  content: z.string().trim().min(1, 'say what is true about the data').max(20_000),
  category: z.string().trim().max(64).regex(/^[\p{L}\p{N} _.-]*$/u, 'letters, digits, spaces and . _ -').optional(),
  tags: z.string().max(500).optional(),
});

async function renderList(c: Context<AppEnv>, services: Services, user: AuthUser, query: ListQuery, csrf: string, draft?: { values: Record<string, string>; errors: FieldErrors }) {
  const filters = Object.fromEntries(Object.entries({ q: query.q, status: query.status, category: query.category, tag: query.tag }).filter(([, v]) => v)) as Record<string, string>;
  const [page, categories] = await Promise.all([
    services.memory.list(user, { ...filters, status: (filters.status || undefined) as never, cursor: query.cursor || undefined }),
    services.memory.categories(),
  ]);
  return c.render(
    <MemoryListPage items={page.items} nextCursor={page.next_cursor} query={filters} categories={categories} rights={rightsOf(user)} csrf={csrf} draft={draft} />,
    { title: 'Corporate memory' },
  );
}

export const memoryPage = definePage({
  path: '/memory',
  access: 'viewer',
  query: ListQuery,
  form: ProposeForm,
  action: 'memory.create',
  get: (c, { services, user, query, csrf }) => renderList(c, services, user, query, csrf),
  async post(c, { services, user, form, redirect }) {
    if (!hasRole(user.role, 'analyst')) throw new ForbiddenError('proposing knowledge needs the analyst role');
    const item = await services.memory.create(user, { title: form.title, content: form.content, category: form.category || undefined, tags: tagList(form.tags) }, 'web');
    return redirect(`/memory/${item.id}`, { kind: 'ok', message: 'Proposed: an admin reviews it before anyone else sees it.' });
  },
  invalid: (c, { services, user, query, csrf, errors, values }) =>
    renderList(c, services, user, query, csrf, { values: values as Record<string, string>, errors: errorMap(errors) }),
});

const ReviewForm = z.object({
  'ids[]': z.union([z.string(), z.array(z.string())]).optional(),
  status: z.enum(['approved', 'rejected', 'mandatory', 'revoked']),
  note: z.string().max(2000).optional(),
});

export const memoryReviewPage = definePage({
  path: '/memory/review',
  access: 'admin',
  form: ReviewForm,
  action: 'memory.batch',
  async get(c, { deps, services, user, csrf }) {
    const [pending, approved, mandatory, names] = await Promise.all([
      services.memory.list(user, { status: 'pending', limit: 200 }),
      services.memory.list(user, { status: 'approved', limit: 200 }),
      services.memory.list(user, { status: 'mandatory', limit: 200 }),
      emails(deps),
    ]);
    c.header('cache-control', 'no-store');
    return c.render(
      <MemoryReviewPage pending={pending.items.toReversed()} published={[...mandatory.items, ...approved.items]} rights={rightsOf(user)} names={names} csrf={csrf} />,
      { title: 'Review corporate memory' },
    );
  },
  async post(_c, { services, user, form, redirect }) {
    const ids = [form['ids[]'] ?? []].flat();
    if (!ids.length) return redirect('/memory/review', { kind: 'error', message: 'Tick the items first.' });
    return orFlash(redirect, '/memory/review', async () => {
      const items = await services.memory.batch(user, ids, form.status, form.note || null);
      return { kind: 'ok', message: `${items.length} ${items.length === 1 ? 'item' : 'items'} now ${form.status}.` };
    });
  },
});

export const memoryItemPage = definePage({
  path: '/memory/:id',
  access: 'viewer',
  async get(c, { deps, services, user, csrf }) {
    const item = await services.memory.get(user, pathParam(c, 'id'));
    const rights = rightsOf(user);
    const editable = (item.created_by === user.id && item.status === 'pending') || (rights.review && (item.status !== 'mandatory' || rights.govern));
    const history = rights.review ? await services.memory.history(user, item.id) : undefined;
    return c.render(
      <MemoryItemPage item={item} rights={rights} editable={editable} history={history} names={await emails(deps)} datasets={Object.keys(deps.config.sources).sort()} csrf={csrf} />,
      { title: item.title },
    );
  },
});

export const memoryVoteAction = definePage({
  path: '/memory/:id/vote',
  access: 'analyst',
  action: 'memory.vote',
  form: z.object({ vote: z.enum(['1', '-1', '0']), back: z.string().max(2000).optional() }),
  async post(c, { services, user, form, redirect }) {
    const id = pathParam(c, 'id');
    return orFlash(redirect, backTo(form.back, `/memory/${id}`), async () => {
      const item = await services.memory.vote(user, id, Number(form.vote) as -1 | 0 | 1);
      return { kind: 'ok', message: form.vote === '0' ? `Vote taken back: ${item.title}.` : `Voted on ${item.title}: score ${item.score}.` };
    });
  },
});

export const memoryStatusAction = definePage({
  path: '/memory/:id/status',
  access: 'admin',
  action: 'memory.status',
  form: z.object({ status: z.enum(['approved', 'rejected', 'mandatory', 'revoked']), note: z.string().max(2000).optional() }),
  async post(c, { services, user, form, redirect }) {
    const id = pathParam(c, 'id');
    const back = c.req.header('referer')?.includes('/memory/review') ? '/memory/review' : `/memory/${id}`;
    return orFlash(redirect, back, async () => {
      const item = await services.memory.setStatus(user, id, { status: form.status, note: form.note || null });
      return { kind: 'ok', message: `${item.title}: now ${item.status}.` };
    });
  },
});

const AudienceForm = z.object({
  'roles[]': z.union([z.enum(ROLES), z.array(z.enum(ROLES))]).optional(),
  'datasets[]': z.union([z.string(), z.array(z.string())]).optional(),
  users: z.string().max(10_000).optional(),
  category: z.string().trim().min(1).max(64).regex(/^[\p{L}\p{N} _.-]+$/u, 'letters, digits, spaces and . _ -'),
  note: z.string().max(2000).optional(),
});

export const memoryAudienceAction = definePage({
  path: '/memory/:id/audience',
  access: 'km_admin',
  action: 'memory.status',
  form: AudienceForm,
  async post(c, { services, user, form, redirect }) {
    const id = pathParam(c, 'id');
    const current = await services.memory.get(user, id);
    const audience = {
      roles: [form['roles[]'] ?? []].flat() as Role[],
      datasets: [form['datasets[]'] ?? []].flat(),
      users: tagList(form.users),
    };
    const empty = !audience.roles.length && !audience.datasets.length && !audience.users.length;
    return orFlash(redirect, `/memory/${id}`, async () => {
      const item = await services.memory.setStatus(user, id, {
        status: current.status === 'pending' ? 'approved' : (current.status as 'approved'),
        note: form.note || null,
        audience: empty ? null : audience,
        category: form.category,
      });
      return { kind: 'ok', message: `${item.title}: audience and category saved.` };
    });
  },
  invalid: async (c, { deps, services, user, csrf, errors }) => {
    const item = await services.memory.get(user, pathParam(c, 'id'));
    const history = await services.memory.history(user, item.id);
    return c.render(
      <MemoryItemPage item={item} rights={rightsOf(user)} editable history={history} names={await emails(deps)} datasets={Object.keys(deps.config.sources).sort()} csrf={csrf} errors={errorMap(errors)} />,
      { title: item.title },
    );
  },
});

export const memoryEditAction = definePage({
  path: '/memory/:id/edit',
  access: 'analyst',
  action: 'memory.update',
  form: z.object({ title: z.string().trim().min(1, 'a title is needed').max(200), content: z.string().trim().min(1, 'the text is needed').max(20_000), tags: z.string().max(500).optional() }),
  async post(c, { services, user, form, redirect }) {
    const id = pathParam(c, 'id');
    return orFlash(redirect, `/memory/${id}`, async () => {
      await services.memory.update(user, id, { title: form.title, content: form.content, tags: tagList(form.tags) });
      return { kind: 'ok', message: 'Saved.' };
    });
  },
});

/** The memory pages, as src/web/pages.ts registers them (the review queue before /memory/:id). */
export const MEMORY_PAGES: AnyPage[] = [memoryPage, memoryReviewPage, memoryItemPage, memoryVoteAction, memoryStatusAction, memoryAudienceAction, memoryEditAction];
