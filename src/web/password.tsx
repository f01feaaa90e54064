import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { mailLinkOrigin } from '../auth/mail-links.ts';
import { requestPasswordReset, RESET_PATH, SET_PASSWORD_PATH } from '../auth/password-reset.ts';
import { loginLimits } from '../auth/rate-limit.ts';
import { isOneTimeTokenUsable, MIN_PASSWORD_LENGTH, usePasswordToken } from '../auth/service.ts';
import { startWebSession } from '../auth/web-session.ts';
import type { Config } from '../config.ts';
import type { AppEnv } from '../context.ts';
import { BadRequestError, GoneError, NotFoundError, RateLimitError } from '../errors.ts';
import { SIGN_IN_FRAME } from '../../views/login.tsx';
import { MailSentPage } from '../../views/auth/mail-sent.tsx';
import { ForgotPasswordPage, NewPasswordPage } from '../../views/auth/password.tsx';
import { definePage, type BeforeHandler } from './router.ts';

const EMAIL = z.string().email();

function passwordsOn(config: Config) {
  if (!config.auth.password) throw new NotFoundError('Passwords are turned off on this server: sign in another way.');
}

/** Form posts that try a secret (a code, a link) count against the sign-in limit per address. */
export const countSignInPost: BeforeHandler<'public'> = (c, { deps }) => {
  if (c.req.method === 'POST') loginLimits(deps.config.auth).hitAddress(c.get('clientIp'));
};

/** What is wrong with a new password and its repetition, or undefined. */
export function newPasswordProblem(password: string | undefined, confirm: string | undefined): string | undefined {
  if (!password || password.length < MIN_PASSWORD_LENGTH) return `The password needs ${MIN_PASSWORD_LENGTH} characters or more.`;
  if (password.length > 1024) return 'The password is longer than 1024 characters.';
  if (password !== confirm) return 'The two passwords differ. Type the same password twice.';
  return undefined;
}

/** GET /forgot: asks for the address; POST: mails a reset link, the same answer for every address. */
export const forgotPasswordPage = definePage({
  path: '/forgot',
  access: 'public',
  action: 'auth.passwordReset',
  form: z.object({ email: z.string().max(254).optional() }),
  get(c, { deps, csrf }) {
    passwordsOn(deps.config);
    return c.render(<ForgotPasswordPage csrf={csrf} />, { ...SIGN_IN_FRAME, title: 'Forgot password' });
  },
  async post(c, { deps, services, form, csrf }) {
    passwordsOn(deps.config);
    const email = (form.email ?? '').trim();
    const frame = { ...SIGN_IN_FRAME, title: 'Forgot password' };
    if (!EMAIL.safeParse(email).success) {
      c.status(422);
      return c.render(<ForgotPasswordPage csrf={csrf} email={email} error="Enter the email address you sign in with." />, frame);
    }
    try {
      requestPasswordReset(services.mailLinks, deps.config, { email, ip: c.get('clientIp'), origin: mailLinkOrigin(c, deps.config, services.mailLinks) });
    } catch (err) {
      if (!(err instanceof RateLimitError)) throw err;
      c.status(429);
      c.header('retry-after', String(err.retryAfterSeconds));
      return c.render(<ForgotPasswordPage csrf={csrf} email={email} error={`Too many reset links asked for; try again in ${err.retryAfterSeconds} s.`} />, frame);
    }
    const minutes = Math.max(1, Math.round(deps.config.auth.reset_ttl_seconds / 60));
    return c.render(<MailSentPage what="reset" email={email} minutes={minutes} delivers={services.mailLinks.delivers} />, { ...SIGN_IN_FRAME, title: 'Check your mail' });
  },
});

const linkRefused = (kind: 'reset' | 'setup') =>
  new GoneError(
    kind === 'reset'
      ? 'This password reset link is invalid, has expired or was used already. Ask for a new one under “Forgot your password?”.'
      : 'This setup link is invalid, has expired or was used already. Ask your administrator for a new one.',
  );

/**
 * A page that sets a password from a link: `/reset?token=…` (mailed reset) or
 * `/set-password?token=…` (setup token from an administrator). GET checks the link without
 * using it (410 page when it cannot be used); POST sets the password, uses the link up,
 * signs the browser in and goes to the start page.
 */
function newPasswordPage(path: string, kind: 'reset' | 'setup') {
  const title = kind === 'reset' ? 'New password' : 'Choose a password';
  const render = (c: Context<AppEnv>, token: string, csrf: string, error?: string) =>
    c.render(<NewPasswordPage kind={kind} token={token} csrf={csrf} error={error} />, { ...SIGN_IN_FRAME, title });
  return definePage({
    path,
    access: 'public',
    // Audited as the API route that does the same (POST /auth/reset, /auth/setup); token and passwords redacted.
    action: kind === 'reset' ? 'auth.reset' : 'auth.setup',
    query: z.object({ token: z.string().max(200).optional() }),
    form: z.object({ token: z.string().max(200).optional(), password: z.string().max(4096).optional(), password_confirm: z.string().max(4096).optional() }),
    before: countSignInPost,
    async get(c, { deps, query, csrf }) {
      passwordsOn(deps.config);
      if (!query.token) throw new BadRequestError('This link is incomplete. Open the link as a whole.');
      if (!(await isOneTimeTokenUsable(deps, query.token, kind))) throw linkRefused(kind);
      return render(c, query.token, csrf);
    },
    async post(c, { deps, form, csrf }) {
      passwordsOn(deps.config);
      if (!form.token) throw new BadRequestError('This form lacks its link. Open the link again.');
      const problem = newPasswordProblem(form.password, form.password_confirm);
      if (problem) {
        c.status(422);
        return render(c, form.token, csrf, problem);
      }
      const user = await usePasswordToken(deps, form.token, kind, form.password!);
      if (!user) throw linkRefused(kind);
      await startWebSession(c, deps, user);
      return c.redirect('/', 302);
    },
  });
}

export const resetPasswordPage = newPasswordPage(RESET_PATH, 'reset');
export const setPasswordPage = newPasswordPage(SET_PASSWORD_PATH, 'setup');
