import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppDeps, AppEnv } from '../context.ts';
import { loginLimits } from '../auth/rate-limit.ts';
import { startWebSession } from '../auth/web-session.ts';
import { issueCliCode, verifyLogin } from '../auth/service.ts';
import { signInMethods } from '../auth/providers/index.ts';
import { DomainError, NotFoundError, RateLimitError } from '../errors.ts';
import { AuthorizeCliPage, LoginPage, RefusedPage, SIGN_IN_FRAME, type CliTarget } from '../../views/login.tsx';
import { definePage, safeNext } from './router.ts';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * The CLI's callback, when it is a plain-http loopback URL with a port (what `da login`
 * listens on); anything else is refused so a token never leaves the user's machine.
 */
export function parseCliRedirect(raw: string | undefined): URL | undefined {
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' || !LOOPBACK.has(url.hostname) || !url.port || url.username || url.password || url.hash) return undefined;
  return url;
}

const CliFields = {
  cli_redirect: z.string().max(300).optional(),
  state: z.string().max(200).optional(),
  challenge: z.string().max(100).optional(),
  host: z.string().max(200).optional(),
};
/** Where to go after signing in (checked again by safeNext before use). */
const next = z.string().max(2000).optional();
const LoginQuery = z.object({ ...CliFields, next, switch: z.string().max(5).optional() });
const LoginForm = z.object({ ...CliFields, next, email: z.string().max(254).optional(), password: z.string().max(1024).optional() });
const CliForm = z.object(CliFields);

type CliCheck = { cli?: CliTarget; refused?: string };

function checkCli(q: { cli_redirect?: string; state?: string; host?: string; challenge?: string }): CliCheck {
  if (q.cli_redirect === undefined && q.state === undefined) return {};
  if (!parseCliRedirect(q.cli_redirect)) return { refused: 'da login may only send the token to this computer (http://127.0.0.1:PORT or http://localhost:PORT).' };
  if (!q.state || !/^[A-Za-z0-9_-]{16,200}$/.test(q.state)) return { refused: 'The sign-in request is missing its state; start `da login` again.' };
  // PKCE S256 challenge: base64url of a sha256, 43 characters.
  if (!q.challenge || !/^[A-Za-z0-9_-]{43}$/.test(q.challenge)) return { refused: 'The sign-in request is missing its challenge; update da and start `da login` again.' };
  const host = (q.host ?? '').replace(/[^A-Za-z0-9._-]/g, '').slice(0, 64);
  return { cli: { cli_redirect: q.cli_redirect!, state: q.state, challenge: q.challenge, host } };
}

/**
 * Sends the browser back to the waiting CLI with a single-use code (not the token: the
 * URL stays in browser history); the CLI trades it for a token with its PKCE verifier.
 */
async function handOver(c: Context<AppEnv>, deps: AppDeps, userId: string, cli: CliTarget) {
  const code = await issueCliCode(deps, userId, `da cli ${cli.host || 'unknown host'}`.slice(0, 100), cli.challenge);
  const target = parseCliRedirect(cli.cli_redirect)!;
  target.searchParams.set('code', code);
  target.searchParams.set('state', cli.state);
  return c.redirect(target.toString(), 302);
}

/** A refused CLI hand-over (bad redirect target, missing state), 400. */
function refusedPage(c: Context<AppEnv>, reason: string) {
  c.status(400);
  return c.render(<RefusedPage reason={reason} />, { ...SIGN_IN_FRAME, title: 'Request refused' });
}

/** The sign-in page again, answering 429 with Retry-After. */
function tooManyAttempts(
  c: Context<AppEnv>, deps: AppDeps, err: RateLimitError, csrf: string, form: { cli?: CliTarget; email?: string; next?: string } = {},
) {
  c.status(429);
  c.header('retry-after', String(err.retryAfterSeconds));
  const error = `Too many attempts; try again in ${err.retryAfterSeconds} s.`;
  return c.render(<LoginPage methods={signInMethods(deps.config)} {...form} csrf={csrf} error={error} />, SIGN_IN_FRAME);
}

/** GET /login: the sign-in form (also the browser step of `da login`); POST /login: sign in with it. */
export const loginPage = definePage({
  path: '/login',
  access: 'public',
  query: LoginQuery,
  form: LoginForm,
  // Sign-in posts per address are counted before the form is parsed or its token checked,
  // like the API's sign-in routes.
  before(c, { deps, csrf }) {
    if (c.req.method !== 'POST') return;
    try {
      loginLimits(deps.config.auth).hitAddress(c.get('clientIp'));
    } catch (err) {
      if (err instanceof RateLimitError) return tooManyAttempts(c, deps, err, csrf);
      throw err;
    }
  },
  async get(c, { deps, query, user, csrf }) {
    const { cli, refused } = checkCli(query);
    if (refused) return refusedPage(c, refused);
    if (cli && user && !query.switch) return c.render(<AuthorizeCliPage cli={cli} email={user.email} csrf={csrf} />, SIGN_IN_FRAME);
    return c.render(<LoginPage methods={signInMethods(deps.config)} cli={cli} next={safeNext(query.next)} csrf={csrf} />, SIGN_IN_FRAME);
  },
  async post(c, { deps, form, csrf }) {
    if (!deps.config.auth.password) throw new NotFoundError('Signing in with a password is turned off on this server.');
    const { cli, refused } = checkCli(form);
    if (refused) return refusedPage(c, refused);
    const email = form.email ?? '';
    const next = safeNext(form.next);
    let user;
    try {
      const attempt = loginLimits(deps.config.auth).attempt(c.get('clientIp'), email);
      user = await verifyLogin(deps, email, form.password ?? '');
      attempt.succeeded();
    } catch (err) {
      if (err instanceof RateLimitError) return tooManyAttempts(c, deps, err, csrf, { cli, email, next });
      if (!(err instanceof DomainError)) throw err;
      c.status(401);
      const methods = signInMethods(deps.config);
      return c.render(<LoginPage methods={methods} cli={cli} email={email} next={next} csrf={csrf} error="Wrong email or password." />, SIGN_IN_FRAME);
    }
    await startWebSession(c, deps, user);
    if (cli) return handOver(c, deps, user.id, cli);
    return c.redirect(next ?? '/', 302);
  },
});

/** POST /login/cli: signed in already, hand a personal access token to the waiting `da login`. */
export const authorizeCliAction = definePage({
  path: '/login/cli',
  access: 'viewer',
  form: CliForm,
  async post(c, { deps, form, user }) {
    const { cli, refused } = checkCli(form);
    if (!cli) return refusedPage(c, refused ?? 'No da login is waiting.');
    return handOver(c, deps, user.id, cli);
  },
});
