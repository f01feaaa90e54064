import { CsrfField } from '../layout.tsx';

/** Forgot password: asks for the address to mail a reset link to. */
export function ForgotPasswordPage({ csrf, email, error }: { csrf: string; email?: string; error?: string }) {
  return (
    <main class="sign-in">
      <h1>Forgot your password?</h1>
      <p>Enter the address you sign in with; we mail you a link to choose a new password.</p>
      {error ? <p class="error" role="alert">{error}</p> : null}
      <form method="post" action="/forgot" class="stacked">
        <CsrfField token={csrf} />
        <label for="email">Email</label>
        <input id="email" name="email" type="email" autocomplete="email" required value={email ?? ''} />
        <button type="submit">Mail me a link</button>
      </form>
      <p class="note"><a href="/login">Back to sign in</a></p>
    </main>
  );
}

/** A new password from a link: a reset (mailed) or a setup token (handed out by an administrator). */
export function NewPasswordPage({ kind, token, csrf, error }: { kind: 'reset' | 'setup'; token: string; csrf: string; error?: string }) {
  const action = kind === 'reset' ? '/reset' : '/set-password';
  return (
    <main class="sign-in">
      <h1>{kind === 'reset' ? 'Choose a new password' : 'Choose your password'}</h1>
      {kind === 'reset' ? <p class="note">Setting it signs you out everywhere else and ends your personal access tokens.</p> : null}
      {error ? <p class="error" role="alert">{error}</p> : null}
      <form method="post" action={action} class="stacked">
        <CsrfField token={csrf} />
        <input type="hidden" name="token" value={token} />
        <label for="password">New password (8 characters or more)</label>
        <input id="password" name="password" type="password" autocomplete="new-password" minlength={8} required />
        <label for="password_confirm">The same password again</label>
        <input id="password_confirm" name="password_confirm" type="password" autocomplete="new-password" minlength={8} required />
        <button type="submit">Set password and sign in</button>
      </form>
    </main>
  );
}
