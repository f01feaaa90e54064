/** After asking for a sign-in link or a password reset: the same page whether the address has an account or not. */
export function MailSentPage({ what, email, minutes, delivers, resumesCli }: {
  what: 'sign-in' | 'reset';
  email: string;
  /** How long the link works. */
  minutes: number;
  /** False in development: the mail went to the server log. */
  delivers: boolean;
  /** A `da login` waits: the link comes back to its confirm page. */
  resumesCli?: boolean;
}) {
  return (
    <main class="sign-in" data-testid="mail-sent">
      <h1>Check your mail</h1>
      <p>
        If <strong>{email}</strong> belongs to an account here, a {what === 'sign-in' ? 'sign-in link' : 'link to choose a new password'} is on
        its way. It works once, within {minutes} minutes.
      </p>
      {resumesCli ? <p class="note">Open it in this browser: it brings you back here to hand the token to <code>da</code>.</p> : null}
      {delivers ? (
        <p class="note">No mail after a few minutes? Look in the spam folder, or <a href="/login">go back and try again</a>.</p>
      ) : (
        <p class="notice" role="note" data-testid="dev-mail">
          This server has no mail set up, so nothing was sent: the link was written to the server log instead.
        </p>
      )}
    </main>
  );
}
