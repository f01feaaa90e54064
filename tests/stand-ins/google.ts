import { createHash, randomBytes } from 'node:crypto';

/** The Google account the stand-in signs in as (it asks nobody: the test sets it). */
export interface StandInAccount {
  sub: string;
  email: string;
  email_verified: boolean;
  name?: string;
}

export interface GoogleStandIn {
  url: string;
  /** `auth.google` for the server under test: these credentials and the stand-in's endpoints. */
  config: {
    client_id: string;
    client_secret: string;
    authorization_endpoint: string;
    token_endpoint: string;
    userinfo_endpoint: string;
  };
  /** Who the next authorization signs in as; undefined: the user says no (`error=access_denied`). */
  account: StandInAccount | undefined;
  /** Every authorization request's query, as received. */
  authorizations: URLSearchParams[];
  /** Every token request and how the stand-in answered it. */
  tokenRequests: Array<{ status: number; error?: string }>;
  stop(): void;
}

const b64url = (bytes: Buffer) => bytes.toString('base64url');

/**
 * A local stand-in for Google's OAuth 2.0 / OpenID Connect endpoints, strict where Google is:
 * - GET /o/oauth2/v2/auth: needs response_type=code, the client id, a redirect URI, a state
 *   and a PKCE S256 challenge; redirects straight back with a single-use code and the state;
 * - POST /token: the client's id and secret (HTTP Basic), the code once, the same redirect
 *   URI, and the code verifier whose sha256 is the challenge; else 400 invalid_grant;
 * - GET /v1/userinfo: the account, for the access token the code was traded for.
 */
export function startGoogleStandIn(): GoogleStandIn {
  const clientId = 'stand-in-client.apps.example';
  const clientSecret = 'stand-in-client-secret';
  const codes = new Map<string, { challenge: string; redirectUri: string; account: StandInAccount }>();
  const accessTokens = new Map<string, StandInAccount>();
  const json = (status: number, body: unknown) => Response.json(body, { status, headers: { 'cache-control': 'no-store' } });

  const standIn: GoogleStandIn = {
    url: '',
    config: undefined as never,
    account: undefined,
    authorizations: [],
    tokenRequests: [],
    stop: () => server.stop(true),
  };

  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (req.method === 'GET' && url.pathname === '/o/oauth2/v2/auth') {
        const q = url.searchParams;
        standIn.authorizations.push(q);
        const redirectUri = q.get('redirect_uri');
        if (!redirectUri || q.get('client_id') !== clientId || q.get('response_type') !== 'code' || !q.get('state')) {
          return new Response('invalid authorization request', { status: 400 });
        }
        if (q.get('code_challenge_method') !== 'S256' || !/^[A-Za-z0-9_-]{43}$/.test(q.get('code_challenge') ?? '')) {
          return new Response('PKCE S256 is required', { status: 400 });
        }
        const back = new URL(redirectUri);
        back.searchParams.set('state', q.get('state')!);
        if (!standIn.account) {
          back.searchParams.set('error', 'access_denied');
        } else {
          const code = b64url(randomBytes(24));
          codes.set(code, { challenge: q.get('code_challenge')!, redirectUri, account: standIn.account });
          back.searchParams.set('code', code);
        }
        return Response.redirect(back.toString(), 302);
      }
      if (req.method === 'POST' && url.pathname === '/token') {
        const refuse = (error: string, status = 400) => {
          standIn.tokenRequests.push({ status, error });
          return json(status, { error, error_description: error });
        };
        const basic = /^Basic (.+)$/.exec(req.headers.get('authorization') ?? '')?.[1];
        if (!basic || Buffer.from(basic, 'base64').toString() !== `${clientId}:${clientSecret}`) return refuse('invalid_client', 401);
        const form = new URLSearchParams(await req.text());
        if (form.get('grant_type') !== 'authorization_code') return refuse('unsupported_grant_type');
        const code = form.get('code') ?? '';
        const issued = codes.get(code);
        codes.delete(code); // single use, whatever the outcome
        if (!issued) return refuse('invalid_grant');
        if (form.get('redirect_uri') !== issued.redirectUri) return refuse('invalid_grant');
        const verifier = form.get('code_verifier') ?? '';
        if (b64url(createHash('sha256').update(verifier).digest()) !== issued.challenge) return refuse('invalid_grant');
        const accessToken = b64url(randomBytes(24));
        accessTokens.set(accessToken, issued.account);
        standIn.tokenRequests.push({ status: 200 });
        return json(200, { access_token: accessToken, token_type: 'Bearer', expires_in: 3599, scope: 'openid email profile' });
      }
      if (req.method === 'GET' && url.pathname === '/v1/userinfo') {
        const token = /^Bearer (\S+)$/.exec(req.headers.get('authorization') ?? '')?.[1];
        const account = token ? accessTokens.get(token) : undefined;
        if (!account) return json(401, { error: 'invalid_token' });
        return json(200, account);
      }
      return new Response('not found', { status: 404 });
    },
  });
  standIn.url = `http://127.0.0.1:${server.port}`;
  standIn.config = {
    client_id: clientId,
    client_secret: clientSecret,
    authorization_endpoint: `${standIn.url}/o/oauth2/v2/auth`,
    token_endpoint: `${standIn.url}/token`,
    userinfo_endpoint: `${standIn.url}/v1/userinfo`,
  };
  return standIn;
}
