import { clearSessionCookie } from '../auth/session-cookie.ts';
import { logout } from '../auth/service.ts';
import { hasRole, seesAllDatasets } from '../auth/roles.ts';
import { publicOrigin } from '../api/http.ts';
import { installerOrigin } from '../api/cli.ts';
import { BadRequestError } from '../errors.ts';
import { visibleTables } from '../sync/catalog.ts';
import { durationWords, freshnessJudge, staleAfterMs, type Freshness } from '../sync/freshness.ts';
import { HomePage, type HomeTable } from '../../views/home.tsx';
import { definePage } from './router.ts';

/** Tables the dashboard lists (the rest are in the catalog). */
const LISTED = 10;
/** Order of the list: what needs attention first. */
const URGENCY: Record<Freshness, number> = { failed: 0, stale: 1, never: 2, fresh: 3, remote: 4 };

/**
 * GET /: the dashboard. How current my tables are (stale ones flagged), how to install
 * `da` for this server, the server's last syncs of my tables, my uploads, the mandatory
 * knowledge count and whether Telegram is linked.
 */
export const homePage = definePage({
  path: '/',
  access: 'viewer',
  async get(c, { deps, services, user }) {
    const origin = publicOrigin(c, deps.config);
    if (!origin) throw new BadRequestError('The address this page was requested at is not a plausible host name.');
    const { repos, config } = deps;
    let installerOk = true;
    try {
      installerOrigin(c, config);
    } catch {
      installerOk = false;
    }
    const { tables } = await visibleTables(services.access, services.catalog, user);
    const now = Date.now();
    const staleMs = staleAfterMs(config.sync);
    const judge = freshnessJudge(config, now);
    const counts: Record<Freshness, number> = { fresh: 0, stale: 0, failed: 0, never: 0, remote: 0 };
    const rows: HomeTable[] = tables.map((t) => {
      const freshness = judge(t);
      counts[freshness]++;
      return { id: t.id, description: t.description, rows: t.rows, size_bytes: t.size_bytes, last_sync: t.last_sync, freshness };
    });
    rows.sort((a, b) => URGENCY[a.freshness] - URGENCY[b.freshness] || (b.last_sync ?? '').localeCompare(a.last_sync ?? '') || a.id.localeCompare(b.id));

    const admin = seesAllDatasets(user.role);
    const [history, mandatory, link] = await Promise.all([
      repos.syncState.recentHistory(admin ? null : tables.map((t) => t.id), 10),
      services.memory.list(user, { status: 'mandatory', limit: 200 }).then((r) => r.items),
      repos.notifications.linkFor(user.id),
    ]);
    return c.render(
      <HomePage
        origin={origin}
        installerOk={installerOk}
        now={now}
        counts={counts}
        total={tables.length}
        staleAfter={durationWords(staleMs)}
        tables={rows.slice(0, LISTED)}
        syncs={history.map((h) => ({
          table_id: h.table_id, synced_at: h.synced_at, status: h.status, rows: h.rows, duration_ms: h.duration_ms,
          // Source errors can name hosts and buckets: for the people who run the server (as the API).
          error: admin ? h.error : null,
        }))}
        uploads={hasRole(user.role, 'analyst') ? services.uploads.list(user.id) : undefined}
        mandatoryKnowledge={mandatory.length}
        telegram={{ linked: !!link, linked_at: link?.linked_at ?? null }}
      />,
      { title: 'Dashboard' },
    );
  },
});

/** POST /logout: ends the web session (revokes its token) and goes to /login. */
export const logoutAction = definePage({
  path: '/logout',
  access: 'public',
  action: 'auth.logout',
  async post(c, { deps, user }) {
    if (user) await logout(deps, user);
    clearSessionCookie(c, deps.config.server.trust_proxy);
    return c.redirect('/login', 302);
  },
});
