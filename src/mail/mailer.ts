import type { Logger } from '../log.ts';

/** One plain-text mail. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

/** Sends mail. The server has one (`services.mailer`); domain code never picks a transport. */
export interface Mailer {
  /** False when mails only go to the server log (no `email` configured): pages say so. */
  readonly delivers: boolean;
  send(message: MailMessage): Promise<void>;
  close(): void;
}

/**
 * The development mailer: writes each mail, link included, to the server log instead of
 * sending it, so sign-in links and resets work on a machine without a mail server.
 */
export function createLogMailer(logger: Logger): Mailer {
  return {
    delivers: false,
    async send({ to, subject, text }) {
      logger.info('mail not sent (no email configured); here it is', { to, subject, text });
    },
    close() {},
  };
}
