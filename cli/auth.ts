import { hostname } from 'node:os';
import { createClient, type Client } from './client.ts';
import { CliError } from './errors.ts';

/** What GET /api/me answers. */
export interface Me {
  id: string;
  email: string;
  name: string | null;
  role: string;
  via: string;
}

/** The name of the personal access token a `da login` creates on this machine. */
export function cliTokenName(host = hostname()): string {
  return `da cli ${host}`.slice(0, 100);
}

/** Who a token belongs to (throws a one-line CliError when the server refuses it). */
export async function whoIs(server: string, token: string): Promise<Me> {
  return createClient(server, token).get<Me>('/api/me');
}

/**
 * Signs in with email and password and trades the short-lived sign-in token for a personal
 * access token named after this machine (revocable with `da logout`); the sign-in token is
 * revoked right away.
 */
export async function loginWithPassword(server: string, email: string, password: string): Promise<{ token: string; me: Me }> {
  const anon = createClient(server, undefined);
  const signed = await anon.post<{ access_token: string }>('/auth/token', { email, password });
  const jwt: Client = createClient(server, signed.access_token);
  const pat = await jwt.post<{ token: string }>('/api/tokens', { name: cliTokenName() });
  await jwt.post('/auth/logout').catch(() => undefined);
  const me = await whoIs(server, pat.token);
  if (!pat.token) throw new CliError('server returned no token');
  return { token: pat.token, me };
}
