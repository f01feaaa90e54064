import type { AppDeps } from '../../context.ts';
import type { Config } from '../../config.ts';
import { GoneError } from '../../errors.ts';
import type { MailLinks } from '../mail-links.ts';
import { redeemOneTimeToken, type SignedInUser } from '../service.ts';

/** Path of the link in the mail; following it signs the browser in. */
export const MAGIC_LINK_PATH = '/auth/magic-link/verify';

/** Sign-in links are on when set, else whenever mail is configured. */
export function magicLinkEnabled(config: Pick<Config, 'auth' | 'email'>): boolean {
  return config.auth.magic_link ?? config.email !== undefined;
}

/**
 * Mails a sign-in link to `email` when it belongs to an active account (in the background;
 * see MailLinks.request). The link is single use, lives `auth.magic_link_ttl_seconds` and
 * goes on to `next` (a path on this server, checked by the caller) after signing in.
 */
export function requestMagicLink(
  links: MailLinks,
  config: Config,
  req: { email: string; ip: string; origin: string; next?: string },
): void {
  const ttl = config.auth.magic_link_ttl_seconds;
  const minutes = Math.max(1, Math.round(ttl / 60));
  links.request({
    kind: 'magic_link',
    email: req.email,
    ip: req.ip,
    ttlSeconds: ttl,
    link: (token) => `${req.origin}${MAGIC_LINK_PATH}?${new URLSearchParams({ token, ...(req.next ? { next: req.next } : {}) })}`,
    message: (link) => ({
      subject: `Sign in to ${config.instance.name}`,
      text: [
        `Open this link to sign in to ${config.instance.name}:`,
        '',
        link,
        '',
        `It works once, within ${minutes} minutes. If you did not ask to sign in, ignore this mail: nothing happens without the link.`,
      ].join('\n'),
    }),
  });
}

/** The user a sign-in link is for; the link is used up. An unknown, expired or used link is refused. */
export async function signInWithMagicLink(deps: AppDeps, token: string): Promise<SignedInUser> {
  const user = await redeemOneTimeToken(deps, token, 'magic_link');
  if (!user) throw new GoneError('This sign-in link is invalid, has expired or was used already. Ask for a new one on the sign-in page.');
  return user;
}
