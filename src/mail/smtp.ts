import nodemailer from 'nodemailer';
import type { Mailer } from './mailer.ts';

/**
 * Mail over SMTP (nodemailer) from `email.smtp_url`: `smtp://user:pass@host:port` upgrades
 * with STARTTLS when the server offers it, `smtps://` speaks TLS from the start.
 */
export function createSmtpMailer({ smtp_url, from }: { smtp_url: string; from: string }): Mailer {
  // Short waits: a mail server that does not answer must not hold a sign-in link (or shutdown) for minutes.
  const transport = nodemailer.createTransport({ url: smtp_url, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 });
  return {
    delivers: true,
    async send({ to, subject, text }) {
      await transport.sendMail({ from, to, subject, text });
    },
    close() {
      transport.close();
    },
  };
}
