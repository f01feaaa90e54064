import type { Config } from '../config.ts';
import type { MailLinks } from './mail-links.ts';

/** The page a reset mail links to (`/reset?token=…`). */
export const RESET_PATH = '/reset';
/** The page that sets the first password with a setup token an administrator handed out. */
export const SET_PASSWORD_PATH = '/set-password';

/**
 * Mails a password reset link to `email` when it belongs to an active account (in the
 * background; see MailLinks.request). The link is single use and lives
 * `auth.reset_ttl_seconds`; the new password ends every earlier session and token.
 */
export function requestPasswordReset(links: MailLinks, config: Config, req: { email: string; ip: string; origin: string }): void {
  const ttl = config.auth.reset_ttl_seconds;
  const minutes = Math.max(1, Math.round(ttl / 60));
  links.request({
    kind: 'reset',
    email: req.email,
    ip: req.ip,
    ttlSeconds: ttl,
    link: (token) => `${req.origin}${RESET_PATH}?${new URLSearchParams({ token })}`,
    message: (link) => ({
      subject: `Reset your ${config.instance.name} password`,
      text: [
        `Open this link to choose a new password for ${config.instance.name}:`,
        '',
        link,
        '',
        `It works once, within ${minutes} minutes. Setting a new password signs you out everywhere else.`,
        'If you did not ask for it, ignore this mail: your password stays as it is.',
      ].join('\n'),
    }),
  });
}
