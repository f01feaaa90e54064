import { z } from '@hono/zod-openapi';
import { loginLimits } from '../auth/rate-limit.ts';
import { mailLinkOrigin } from '../auth/mail-links.ts';
import { magicLinkEnabled, requestMagicLink, signInWithMagicLink, MAGIC_LINK_PATH } from '../auth/providers/magic-link.ts';
import { signInMethods } from '../auth/providers/index.ts';
import { startWebSession } from '../auth/web-session.ts';
import type { Config } from '../config.ts';
import { BadRequestError, NotFoundError, RateLimitError } from '../errors.ts';
import { LoginPage, SIGN_IN_FRAME } from '../../views/login.tsx';
import { MailSentPage } from '../../views/auth/mail-sent.tsx';
import { definePage, safeNext } from './router.ts';

const EMAIL = z.string().email();

function mustBeEnabled(config: Config) {
  if (!magicLinkEnabled(config)) throw new NotFoundError('Sign-in links by mail are turned off on this server.');
}

/** A `next` the request carries: undefined when absent, refused (400, nothing done) when it leads off this server. */
export function checkedNext(next: string | undefined): string | undefined {
  if (next === undefined || next === '') return undefined;
  const safe = safeNext(next);
  if (!safe) throw new BadRequestError('This request would send you on to another site afterwards, so it was refused. Start again from the sign-in page.');
  return safe;
}

/** POST /login/magic-link: mails a sign-in link (the sign-in page's form); the same answer for every address. */
export const magicLinkRequestAction = definePage({
  path: '/login/magic-link',
  access: 'public',
  action: 'auth.magicLink',
  form: z.object({ email: z.string().max(254).optional(), next: z.string().max(2000).optional() }),
  async post(c, { deps, services, form, csrf }) {
    mustBeEnabled(deps.config);
    const next = checkedNext(form.next);
    const email = (form.email ?? '').trim();
    const methods = signInMethods(deps.config);
    if (!EMAIL.safeParse(email).success) {
      c.status(422);
      return c.render(<LoginPage methods={methods} next={next} csrf={csrf} error="Enter the email address you sign in with." />, SIGN_IN_FRAME);
    }
    try {
      requestMagicLink(services.mailLinks, deps.config, { email, ip: c.get('clientIp'), origin: mailLinkOrigin(c, deps.config, services.mailLinks), next });
    } catch (err) {
      if (!(err instanceof RateLimitError)) throw err;
      c.status(429);
      c.header('retry-after', String(err.retryAfterSeconds));
      const error = `Too many sign-in links asked for; try again in ${err.retryAfterSeconds} s.`;
      return c.render(<LoginPage methods={methods} next={next} csrf={csrf} error={error} />, SIGN_IN_FRAME);
    }
    const minutes = Math.max(1, Math.round(deps.config.auth.magic_link_ttl_seconds / 60));
    const resumesCli = next?.startsWith('/login?') && next.includes('cli_redirect=');
    return c.render(
      <MailSentPage what="sign-in" email={email} minutes={minutes} delivers={services.mailLinks.delivers} resumesCli={resumesCli} />,
      { ...SIGN_IN_FRAME, title: 'Check your mail' },
    );
  },
});

/**
 * GET /auth/magic-link/verify?token=…[&next=…]: the link in the mail. Signs the browser in
 * and goes on to `next` or the start page. An unknown, expired or used link is a 410 page;
 * a `next` off this server is a 400 page, and the link stays unused.
 */
export const magicLinkVerifyPage = definePage({
  path: MAGIC_LINK_PATH,
  access: 'public',
  query: z.object({ token: z.string().max(200).optional(), next: z.string().max(2000).optional() }),
  async get(c, { deps, query }) {
    mustBeEnabled(deps.config);
    loginLimits(deps.config.auth).hitAddress(c.get('clientIp'));
    const next = checkedNext(query.next);
    if (!query.token) throw new BadRequestError('This sign-in link is incomplete. Open the link from the mail as a whole, or ask for a new one.');
    const user = await signInWithMagicLink(deps, query.token);
    await startWebSession(c, deps, user);
    return c.redirect(next ?? '/', 302);
  },
});
