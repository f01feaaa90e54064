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

/** The sign-in methods a server offers (auth.password, auth.magic_link, auth.google). */
export interface SignInMethods {
  password: boolean;
  magicLink: boolean;
  google: boolean;
}

export interface LoginPageProps {
  methods: SignInMethods;
  cli?: CliTarget;
  error?: string;
  email?: string;
  /** Where to go after signing in: a path on this server, already checked. */
  next?: string;
  csrf: string;
}

/** The path that resumes a waiting `da login` once signed in by mail or Google (its confirm page). */
export function cliResumePath(cli: CliTarget): string {
  return `/login?${new URLSearchParams({ cli_redirect: cli.cli_redirect, state: cli.state, challenge: cli.challenge, host: cli.host })}`;
}

/**
 * The sign-in page: only the methods the server offers, each working without JavaScript.
 * The password form signs in here; with `cli` it hands a token to the waiting `da login`.
 * A mail link or Google come back to `next` (for `da login`, to its confirm page).
 */
export function LoginPage({ methods, cli, error, email, next, csrf }: LoginPageProps) {
  const after = cli ? cliResumePath(cli) : next;
  const sections = [
    methods.password ? (
      <section aria-labelledby="with-password">
        <h2 id="with-password" class="visually-hidden">With your password</h2>
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
        <p class="note"><a href="/forgot">Forgot your password?</a></p>
      </section>
    ) : null,
    methods.magicLink ? (
      <section aria-labelledby="with-link">
        <h2 id="with-link" class="visually-hidden">With a link by mail</h2>
        <form method="post" action="/login/magic-link" class="stacked">
          <CsrfField token={csrf} />
          {after ? <input type="hidden" name="next" value={after} /> : null}
          <label for="magic-email">Email me a sign-in link</label>
          <input id="magic-email" name="email" type="email" autocomplete="email" required value={methods.password ? '' : (email ?? '')} />
          <button type="submit">Send me a link</button>
        </form>
      </section>
    ) : null,
    methods.google ? (
      <section aria-labelledby="with-google">
        <h2 id="with-google" class="visually-hidden">With Google</h2>
        <a class="button" id="google" href={`/auth/google/login${after ? `?${new URLSearchParams({ next: after })}` : ''}`}>
          Sign in with Google
        </a>
      </section>
    ) : null,
  ].filter((x) => x !== null);
  return (
    <main class="sign-in">
      <h1>Sign in to da</h1>
      {cli ? <p class="note">After you sign in, the <code>da</code> command line on {cli.host || 'your computer'} receives a personal access token.</p> : null}
      {error ? <p class="error" role="alert">{error}</p> : null}
      {sections.length === 0 ? <p class="error">This server offers no way to sign in. Ask its administrator.</p> : null}
      {sections.map((section, i) => (
        <>
          {i > 0 ? <p class="divider"><span>or</span></p> : null}
          {section}
        </>
      ))}
    </main>
  );
}

/** Already signed in (any provider): confirm handing a token to the CLI. */
export function AuthorizeCliPage({ cli, email, csrf }: { cli: CliTarget; email: string; csrf: string }) {
  return (
    <main class="sign-in">
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
