import { CsrfField } from '../layout.tsx';

export interface SetupForm {
  code?: string;
  email?: string;
  name?: string;
}

/** First run: create the first administrator, with the setup code from the server log. */
export function SetupPage({ csrf, form = {}, askPassword, error }: { csrf: string; form?: SetupForm; askPassword: boolean; error?: string }) {
  return (
    <main class="sign-in">
      <h1>Set up da</h1>
      <p>This server has no users yet. Create the first administrator; they can add everyone else.</p>
      {error ? <p class="error" role="alert">{error}</p> : null}
      <form method="post" action="/setup" class="stacked">
        <CsrfField token={csrf} />
        <label for="code">Setup code</label>
        <input id="code" name="code" type="text" autocomplete="off" spellcheck={false} required value={form.code ?? ''} aria-describedby="code-help" />
        <p class="note" id="code-help">The server writes it to its log when it starts: look for “no users yet”.</p>
        <label for="email">Your email</label>
        <input id="email" name="email" type="email" autocomplete="username" required value={form.email ?? ''} />
        <label for="name">Your name</label>
        <input id="name" name="name" type="text" autocomplete="name" value={form.name ?? ''} />
        {askPassword ? (
          <>
            <label for="password">Password (8 characters or more)</label>
            <input id="password" name="password" type="password" autocomplete="new-password" minlength={8} required />
            <label for="password_confirm">The same password again</label>
            <input id="password_confirm" name="password_confirm" type="password" autocomplete="new-password" minlength={8} required />
          </>
        ) : null}
        <button type="submit">Create administrator and sign in</button>
      </form>
    </main>
  );
}
