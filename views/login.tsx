import type { Child } from 'hono/jsx';
import { Page } from './layout.tsx';

const LOGIN_CSS = `body{max-width:28rem;margin:4rem auto}
label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.5rem;box-sizing:border-box}
button{margin-top:1rem;padding:.6rem 1.2rem}`;

/** The page frame of the sign-in pages. */
export function LoginLayout({ children, title }: { children?: Child; title?: string }) {
  return (
    <Page title={title ?? 'Sign in'} css={LOGIN_CSS}>
      {children}
    </Page>
  );
}

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

/** Email and password form; with `cli`, signing in hands a token to the waiting `da login`. */
export function LoginPage({ cli, error, email }: { cli?: CliTarget; error?: string; email?: string }) {
  return (
    <main>
      <h1>Sign in to da</h1>
      {cli ? <p class="note">After you sign in, the <code>da</code> command line on {cli.host || 'your computer'} receives a personal access token.</p> : null}
      {error ? <p class="error" role="alert">{error}</p> : null}
      <form method="post" action="/login">
        <CliFields cli={cli} />
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
export function AuthorizeCliPage({ cli, email }: { cli: CliTarget; email: string }) {
  return (
    <main>
      <h1>Authorize da</h1>
      <p>
        Signed in as <strong>{email}</strong>. Give the <code>da</code> command line on {cli.host || 'this computer'} a personal access token?
      </p>
      <form method="post" action="/login/cli">
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
