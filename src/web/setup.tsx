import { z } from '@hono/zod-openapi';
import { SETUP_PATH } from '../auth/first-run.ts';
import { startWebSession } from '../auth/web-session.ts';
import { NotFoundError } from '../errors.ts';
import { SetupPage } from '../../views/auth/setup.tsx';
import { definePage } from './router.ts';
import { countSignInPost, newPasswordProblem } from './password.tsx';

const EMAIL = z.string().email();
const FRAME = { title: 'Set up da', narrow: true };
const gone = () => new NotFoundError(`There is no page at ${SETUP_PATH}: this server is set up already. Sign in instead.`);

/**
 * GET /setup: on a server without users, the form that creates the first administrator
 * (with the setup code from the server log); POST creates them and signs them in. Once
 * anybody exists, both are 404.
 */
export const setupPage = definePage({
  path: SETUP_PATH,
  access: 'public',
  query: z.object({ code: z.string().max(100).optional() }),
  form: z.object({
    code: z.string().max(100).optional(),
    email: z.string().max(254).optional(),
    name: z.string().max(200).optional(),
    password: z.string().max(4096).optional(),
    password_confirm: z.string().max(4096).optional(),
  }),
  before: countSignInPost,
  async get(c, { deps, services, query, csrf }) {
    if (!(await services.firstRun.pending())) throw gone();
    return c.render(<SetupPage csrf={csrf} form={{ code: query.code }} askPassword={deps.config.auth.password} />, FRAME);
  },
  async post(c, { deps, services, form, csrf }) {
    const { firstRun } = services;
    if (!(await firstRun.pending())) throw gone();
    const askPassword = deps.config.auth.password;
    const email = (form.email ?? '').trim().toLowerCase();
    const again = (status: 403 | 422, error: string) => {
      c.status(status);
      return c.render(<SetupPage csrf={csrf} form={{ code: form.code, email, name: form.name }} askPassword={askPassword} error={error} />, FRAME);
    };
    if (!firstRun.codeMatches((form.code ?? '').trim())) return again(403, 'That is not the setup code of this server. Copy it from the server log of its latest start.');
    if (!EMAIL.safeParse(email).success) return again(422, 'Enter your email address.');
    const problem = askPassword ? newPasswordProblem(form.password, form.password_confirm) : undefined;
    if (problem) return again(422, problem);
    const admin = await firstRun.createAdmin({ email, name: form.name?.trim(), password: askPassword ? form.password : undefined });
    await startWebSession(c, deps, admin);
    return c.redirect('/', 302);
  },
});
