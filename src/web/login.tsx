import { z } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { csrf } from 'hono/csrf';
import { jsxRenderer } from 'hono/jsx-renderer';
import type { AppDeps, AppEnv } from '../context.ts';
import { loginLimits } from '../auth/rate-limit.ts';
import { setSessionCookie } from '../auth/session-cookie.ts';
import { issueCliCode, issueToken, verifyLogin } from '../auth/service.ts';
import { DomainError, RateLimitError } from '../errors.ts';
import { createRouter, defineRoute } from '../api/router.ts';
import { AuthorizeCliPage, LoginLayout, LoginPage, RefusedPage, type CliTarget } from '../../views/login.tsx';

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

const CliQuery = z.object({
  cli_redirect: z.string().max(300).optional(),
  state: z.string().max(200).optional(),
  challenge: z.string().max(100).optional(),
  host: z.string().max(200).optional(),
  switch: z.string().max(5).optional(),
});
const LoginForm = CliQuery.extend({ email: z.string().max(254).optional(), password: z.string().max(1024).optional() });
const formBody = <T extends z.ZodType>(schema: T) => ({
  body: { required: true, content: { 'application/x-www-form-urlencoded': { schema } } },
});
const html = { 200: { description: 'HTML page' }, 302: { description: 'Redirect' }, 400: { description: 'Refused' } };

const loginPage = defineRoute({
  access: 'public', method: 'get', path: '/login', operationId: 'web.login.page', tags: ['web'], hide: true,
  summary: 'Sign-in page (also the browser step of `da login`)', request: { query: CliQuery }, responses: html,
});
const loginSubmit = defineRoute({
  access: 'public', method: 'post', path: '/login', operationId: 'web.login.submit', tags: ['web'], hide: true,
  summary: 'Sign in with email and password from the form', request: formBody(LoginForm), responses: html,
  extraMiddleware: [csrf()],
});
const authorizeCli = defineRoute({
  access: 'viewer', method: 'post', path: '/login/cli', operationId: 'web.login.cli', tags: ['web'], hide: true,
  summary: 'Signed in already: hand a personal access token to the waiting `da login`', request: formBody(CliQuery), responses: html,
  extraMiddleware: [csrf()],
});

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

/** The sign-in page again, answering 429 with Retry-After. */
function tooManyAttempts(c: Context<AppEnv>, err: RateLimitError, cli?: CliTarget, email?: string) {
  c.status(429);
  c.header('retry-after', String(err.retryAfterSeconds));
  return c.render(<LoginPage cli={cli} email={email} error={`Too many attempts; try again in ${err.retryAfterSeconds} s.`} />);
}

/** An HTML page for a sign-in form post whose body is larger than auth.max_body_bytes. */
export function signInFormTooLarge(c: Context) {
  return c.html(
    `<!DOCTYPE html>${<LoginLayout title="Request refused"><RefusedPage reason="The sign-in form sent more data than a sign-in needs." /></LoginLayout>}`,
    413,
  );
}

/** GET/POST /login and POST /login/cli: the web sign-in and the browser step of `da login`. */
export function createLoginRouter(deps: AppDeps) {
  const { auth, server } = deps.config;
  const limits = loginLimits(auth);
  const router = createRouter();
  router.use('/login', jsxRenderer(({ children }) => <LoginLayout>{children}</LoginLayout>, { docType: true }));
  router.use('/login/*', jsxRenderer(({ children }) => <LoginLayout>{children}</LoginLayout>, { docType: true }));
  // Counted before the form is parsed or validated, like the API's sign-in routes.
  const limitAddress: MiddlewareHandler<AppEnv> = async function limitAddressMiddleware(c, next) {
    if (c.req.method === 'POST') {
      try {
        limits.hitAddress(c.get('clientIp'));
      } catch (err) {
        if (err instanceof RateLimitError) return tooManyAttempts(c, err) as never;
        throw err;
      }
    }
    await next();
  };
  router.use('/login', limitAddress);

  return router
    .openapi(loginPage, async (c) => {
      const q = c.req.valid('query');
      const { cli, refused } = checkCli(q);
      if (refused) return (c.status(400), c.render(<RefusedPage reason={refused} />)) as never;
      const user = c.get('user');
      if (cli && user && !q.switch) return c.render(<AuthorizeCliPage cli={cli} email={user.email} />) as never;
      return c.render(<LoginPage cli={cli} />) as never;
    })
    .openapi(loginSubmit, async (c) => {
      const form = c.req.valid('form');
      const { cli, refused } = checkCli(form);
      if (refused) return (c.status(400), c.render(<RefusedPage reason={refused} />)) as never;
      const email = form.email ?? '';
      let user;
      try {
        const attempt = limits.attempt(c.get('clientIp'), email);
        user = await verifyLogin(deps, email, form.password ?? '');
        attempt.succeeded();
      } catch (err) {
        if (err instanceof RateLimitError) return tooManyAttempts(c, err, cli, email) as never;
        if (!(err instanceof DomainError)) throw err;
        return (c.status(401), c.render(<LoginPage cli={cli} email={email} error="Wrong email or password." />)) as never;
      }
      const issued = await issueToken(deps, user);
      setSessionCookie(c, server.trust_proxy, issued.access_token, issued.expires_in);
      if (cli) return handOver(c, deps, user.id, cli) as never;
      return c.redirect('/', 302) as never;
    })
    .openapi(authorizeCli, async (c) => {
      const { cli, refused } = checkCli(c.req.valid('form'));
      if (!cli) return (c.status(400), c.render(<RefusedPage reason={refused ?? 'No da login is waiting.'} />)) as never;
      return handOver(c, deps, c.get('user')!.id, cli) as never;
    });
}
