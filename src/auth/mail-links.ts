import type { Context } from 'hono';
import { publicOrigin } from '../api/http.ts';
import type { Config } from '../config.ts';
import type { AppDeps } from '../context.ts';
import { BadRequestError } from '../errors.ts';
import type { Mailer, MailMessage } from '../mail/mailer.ts';
import type { OneTimeKind } from '../repositories/tokens.ts';
import type { User } from '../repositories/users.ts';
import { createRateLimiter } from './rate-limit.ts';
import { issueOneTimeToken } from './service.ts';

/** One link to mail: which kind of single-use token, for whom, and how the mail reads. */
export interface MailLinkRequest {
  kind: Extract<OneTimeKind, 'magic_link' | 'reset'>;
  email: string;
  /** The client's address (rate limit per client). */
  ip: string;
  ttlSeconds: number;
  /** The link that carries the token (`https://da.example.com/reset?token=…`). */
  link(token: string): string;
  message(link: string, user: User): Omit<MailMessage, 'to'>;
}

/** Mails single-use links (sign-in links, password resets) to the holders of accounts. */
export interface MailLinks {
  /** False in development: the mails go to the server log (pages say so). */
  readonly delivers: boolean;
  /**
   * Counts the request against the limits (throws RateLimitError when over), then looks the
   * address up and mails the link in the background. The caller answers at once and the
   * same way whether the address has an account or not: neither the answer nor its timing
   * tells them apart.
   */
  request(req: MailLinkRequest): void;
  /** Resolves when every mail requested so far is sent or has failed (tests; shutdown). */
  settled(): Promise<void>;
}

/**
 * The mail links of one server, with their limits per window of
 * `auth.mail_rate_window_seconds`: `auth.mail_rate_limit` mails to one address (nobody
 * floods a mailbox), `auth.mail_ip_rate_limit` requests from one client address. Both count
 * every request, known address or not, so a 429 tells nothing about accounts either.
 */
export function createMailLinks(deps: AppDeps, mailer: Mailer): MailLinks {
  const { auth } = deps.config;
  const byAddress = createRateLimiter({ limit: auth.mail_rate_limit, windowSeconds: auth.mail_rate_window_seconds });
  const byClient = createRateLimiter({ limit: auth.mail_ip_rate_limit, windowSeconds: auth.mail_rate_window_seconds });
  const pending = new Set<Promise<void>>();

  async function deliver(req: MailLinkRequest, email: string): Promise<void> {
    const user = await deps.repos.users.findByEmail(email);
    if (!user?.active) {
      deps.logger.info('mail link not sent: no active account with this address', { kind: req.kind });
      return;
    }
    const token = await issueOneTimeToken(deps, user.id, req.kind, req.ttlSeconds);
    await mailer.send({ to: user.email, ...req.message(req.link(token), user) });
    deps.logger.info('mail link sent', { kind: req.kind, user: user.id, delivered: mailer.delivers });
  }

  return {
    delivers: mailer.delivers,
    request(req) {
      const email = req.email.trim().toLowerCase();
      // JSON keys, so that no address can pose as a client key or the other way round.
      byClient.hit(JSON.stringify(['client', req.ip]));
      byAddress.hit(JSON.stringify(['address', email]));
      const job = deliver(req, email)
        .catch((err) => deps.logger.error('mail link could not be sent', { kind: req.kind, error: String(err) }))
        .finally(() => pending.delete(job));
      pending.add(job);
    },
    async settled() {
      while (pending.size) await Promise.all(pending);
    },
  };
}

/**
 * The origin links in mails point at: `instance.base_url`, which config requires with
 * `email`. Never the request's Host header, which the client chooses: a reset link to
 * another site would hand that site the token. In development (mails only in the log,
 * no base_url) the request's origin is good enough.
 */
export function mailLinkOrigin(c: Context, config: Config, links: Pick<MailLinks, 'delivers'>): string {
  if (config.instance.base_url) return config.instance.base_url.replace(/\/+$/, '');
  const origin = links.delivers ? undefined : publicOrigin(c, config);
  if (!origin) throw new BadRequestError('The address this page was requested at is not a plausible host name.');
  return origin;
}
