import { CsrfField } from './layout.tsx';

/** How the sign-in pages sit in the layout: `c.render(<LoginPage … />, SIGN_IN_FRAME)`. */
export const SIGN_IN_FRAME = { title: 'Sign in', narrow: true };

/** Where the CLI waits, carried through the form. */
export interface CliTarget {
  cli_redirect: string;
  state: string;
  /** PKCE S256 challenge of the CLI's verifier. */
  challenge: string;
  host: string;
}

function CliFields({ cli }: { cli?: CliTarget }) {
  if (!cli) return null;
  return (
    <>
      <input type="hidden" name="cli_redirect" value={cli.cli_redirect} />
      <input type="hidden" name="state" value={cli.state} />
      <input type="hidden" name="challenge" value={cli.challenge} />
      <input type="hidden" name="host" value={cli.host} />
    </>
  );
}

/**
 * Email and password form; with `cli`, signing in hands a token to the waiting `da login`,
 * else it goes on to `next` (a path on this server, already checked) or the start page.
 */
export function LoginPage({ cli, error, email, next, csrf }: { cli?: CliTarget; error?: string; email?: string; next?: string; csrf: string }) {
  return (
    <main>
      <h1>Sign in to da</h1>
      {cli ? <p class="note">After you sign in, the <code>da</code> command line on {cli.host || 'your computer'} receives a personal access token.</p> : null}
      {error ? <p class="error" role="alert">{error}</p> : null}
      <form method="post" action="/login" class="stacked">
        <CsrfField token={csrf} />
        <CliFields cli={cli} />
        {next ? <input type="hidden" name="next" value={next} /> : null}
        <label for="email">Email</label>
        <input id="email" name="email" type="email" autocomplete="username" required value={email ?? ''} />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required />
        <button type="submit">Sign in</button>
      </form>
    </main>
  );
}

/** Already signed in (any provider): confirm handing a token to the CLI. */
export function AuthorizeCliPage({ cli, email, csrf }: { cli: CliTarget; email: string; csrf: string }) {
  return (
    <main>
      <h1>Authorize da</h1>
      <p>
        Signed in as <strong>{email}</strong>. Give the <code>da</code> command line on {cli.host || 'this computer'} a personal access token?
      </p>
      <form method="post" action="/login/cli" class="stacked">
        <CsrfField token={csrf} />
        <CliFields cli={cli} />
        <button type="submit">Authorize da</button>
      </form>
      <p class="note">Not you? <a href={`/login?${new URLSearchParams({ ...cli, switch: '1' })}`}>Sign in as someone else</a>.</p>
    </main>
  );
}

/** A refused request (bad redirect target). */
export function RefusedPage({ reason }: { reason: string }) {
  return (
    <main>
      <h1>Request refused</h1>
      <p class="error" role="alert">{reason}</p>
    </main>
  );
}
