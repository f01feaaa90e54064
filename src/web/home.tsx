import { csrf } from 'hono/csrf';
import { jsxRenderer } from 'hono/jsx-renderer';
import type { AppDeps } from '../context.ts';
import { clearSessionCookie } from '../auth/session-cookie.ts';
import { logout } from '../auth/service.ts';
import { createRouter, defineRoute } from '../api/router.ts';
import { publicOrigin } from '../api/http.ts';
import type { AccessCache, TableCatalog } from '../sync/catalog.ts';
import { isServed, visibleTables } from '../sync/catalog.ts';
import { AppLayout } from '../../views/layout.tsx';
import { HomePage } from '../../views/home.tsx';

const html = { 200: { description: 'HTML page' }, 302: { description: 'Redirect to /login when not signed in' } };

// Public so that an anonymous visitor is sent to the sign-in page rather than shown a 401.
const homeRoute = defineRoute({
  access: 'public', method: 'get', path: '/', operationId: 'web.home', tags: ['web'], hide: true,
  summary: 'Start page: how to install da, and the tables the user may read', responses: html,
});
const logoutRoute = defineRoute({
  access: 'public', method: 'post', path: '/logout', operationId: 'web.logout', tags: ['web'], hide: true,
  summary: 'Sign out of the web session (revokes its token) and go to /login', responses: { 302: { description: 'To /login' } },
  extraMiddleware: [csrf()],
});

/** GET / and POST /logout. */
export function createHomeRouter(deps: AppDeps, { access, catalog }: { access: AccessCache; catalog: TableCatalog }) {
  const router = createRouter();
  router.use('/', jsxRenderer(({ children }, c) => <AppLayout user={c.get('user')}>{children}</AppLayout>, { docType: true }));
  return router
    .openapi(homeRoute, async (c) => {
      const user = c.get('user');
      if (!user) return c.redirect('/login', 302) as never;
      const { tables } = await visibleTables(access, catalog, user);
      const served = tables.filter(isServed);
      const origin = publicOrigin(c, deps.config);
      if (!origin) {
        c.status(400);
        return c.render(<main><h1>Bad request</h1><p class="error">The address this page was requested at is not a plausible host name.</p></main>) as never;
      }
      return c.render(<HomePage origin={origin} tables={served} />) as never;
    })
    .openapi(logoutRoute, async (c) => {
      const user = c.get('user');
      if (user) await logout(deps, user);
      clearSessionCookie(c, deps.config.server.trust_proxy);
      return c.redirect('/login', 302) as never;
    });
}
