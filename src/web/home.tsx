import { clearSessionCookie } from '../auth/session-cookie.ts';
import { logout } from '../auth/service.ts';
import { publicOrigin } from '../api/http.ts';
import { BadRequestError } from '../errors.ts';
import { isServed, visibleTables } from '../sync/catalog.ts';
import { HomePage } from '../../views/home.tsx';
import { definePage } from './router.ts';

/** GET /: how to install da, and the tables the user may read. */
export const homePage = definePage({
  path: '/',
  access: 'viewer',
  async get(c, { deps, services, user }) {
    const origin = publicOrigin(c, deps.config);
    if (!origin) throw new BadRequestError('The address this page was requested at is not a plausible host name.');
    const { tables } = await visibleTables(services.access, services.catalog, user);
    return c.render(<HomePage origin={origin} tables={tables.filter(isServed)} />, { title: 'Your data' });
  },
});

/** POST /logout: ends the web session (revokes its token) and goes to /login. */
export const logoutAction = definePage({
  path: '/logout',
  access: 'public',
  async post(c, { deps, user }) {
    if (user) await logout(deps, user);
    clearSessionCookie(c, deps.config.server.trust_proxy);
    return c.redirect('/login', 302);
  },
});
