import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { createLogMailer, type Mailer } from './mailer.ts';
import { createSmtpMailer } from './smtp.ts';

export type { Mailer, MailMessage } from './mailer.ts';

/** The server's mailer: SMTP when `email` is configured, else the log mailer (development). */
export function createMailer(config: Pick<Config, 'email'>, logger: Logger): Mailer {
  return config.email ? createSmtpMailer(config.email) : createLogMailer(logger);
}
