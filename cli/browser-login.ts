import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { createClient } from './client.ts';
import { CliError } from './errors.ts';

/** Result of the browser flow: the token the server handed to the loopback callback. */
export interface BrowserLoginResult {
  token: string;
}

const PAGE = (title: string, body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body style="font-family:sans-serif;margin:3rem"><h1>${title}</h1><p>${body}</p></body></html>`;

/** Opens a URL in the user's browser when a known opener exists; never fails. */
export function openBrowser(url: string, env: Record<string, string | undefined>): boolean {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const path = Bun.which(opener, { PATH: env.PATH ?? '' });
  if (!path) return false;
  try {
    const child = Bun.spawn([path, url], { stdin: 'ignore', stdout: 'ignore', stderr: 'ignore', env: env as Record<string, string> });
    child.unref();
    return true;
  } catch {
    return false;
  }
}

/**
 * The browser sign-in: listen on 127.0.0.1 on a random port, send the user to the server's
 * `/login?cli_redirect=…&state=…&challenge=…`, wait for the server to redirect back with a
 * single-use code and the same `state` (anything else is refused), then trade the code and
 * the PKCE verifier for a personal access token. The token itself never passes through the
 * browser, whose history keeps every URL.
 */
export async function browserLogin(opts: {
  server: string;
  timeoutMs: number;
  announce(url: string): void;
  env: Record<string, string | undefined>;
  open: boolean;
}): Promise<BrowserLoginResult> {
  const state = randomBytes(24).toString('base64url');
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const { promise, resolve, reject } = Promise.withResolvers<{ code: string }>();
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(req) {
      const url = new URL(req.url);
      if (url.pathname !== '/callback') return new Response('not found', { status: 404 });
      const gotState = url.searchParams.get('state');
      const code = url.searchParams.get('code');
      const error = url.searchParams.get('error');
      if (gotState !== state) {
        return new Response(PAGE('Sign-in refused', 'The sign-in answer does not match this da login. Start `da login` again.'), {
          status: 400,
          headers: { 'content-type': 'text/html; charset=utf-8' },
        });
      }
      if (error || !code) {
        reject(new CliError(`browser sign-in failed: ${error ?? 'no code in the answer'}`));
        return new Response(PAGE('Sign-in failed', 'Return to the terminal.'), { status: 400, headers: { 'content-type': 'text/html; charset=utf-8' } });
      }
      resolve({ code });
      return new Response(PAGE('da is signed in', 'You can close this tab and return to the terminal.'), {
        headers: { 'content-type': 'text/html; charset=utf-8' },
      });
    },
  });
  const callback = `http://127.0.0.1:${server.port}/callback`;
  const loginUrl = `${opts.server}/login?${new URLSearchParams({ cli_redirect: callback, state, challenge, host: hostname() })}`;
  opts.announce(loginUrl);
  if (opts.open) openBrowser(loginUrl, opts.env);
  const timer = setTimeout(() => reject(new CliError(`no sign-in within ${Math.round(opts.timeoutMs / 1000)} s; run \`da login\` again`)), opts.timeoutMs);
  try {
    const { code } = await promise;
    const pat = await createClient(opts.server, undefined).post<{ token: string }>('/auth/cli-token', { code, verifier });
    if (!pat.token) throw new CliError('server returned no token');
    return { token: pat.token };
  } finally {
    clearTimeout(timer);
    // Let the browser receive the "signed in" page before the listener goes away.
    setTimeout(() => server.stop(true), 200).unref?.();
  }
}
