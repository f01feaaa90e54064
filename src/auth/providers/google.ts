import { ArcticFetchError, CodeChallengeMethod, OAuth2Client, OAuth2RequestError, generateCodeVerifier, generateState } from 'arctic';
import { z } from '@hono/zod-openapi';
import type { AppDeps } from '../../context.ts';
import type { Config } from '../../config.ts';
import { BadRequestError, ConflictError, ForbiddenError, ServiceUnavailableError } from '../../errors.ts';
import { createUser, type SignedInUser } from '../service.ts';

export type GoogleConfig = NonNullable<Config['auth']['google']>;

/** Where the sign-in button leads, and where Google sends the browser back to. */
export const GOOGLE_LOGIN_PATH = '/auth/google/login';
export const GOOGLE_CALLBACK_PATH = '/auth/google/callback';

/** Who Google says signed in (from the userinfo endpoint, asked with the access token). */
export interface GoogleIdentity {
  subject: string;
  email: string;
  emailVerified: boolean;
  name?: string;
}

const UserInfoSchema = z.object({
  sub: z.string().min(1),
  email: z.string().email().max(254),
  email_verified: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).optional(),
  name: z.string().max(200).optional(),
});

const IDP_TIMEOUT_MS = 10_000;

/**
 * The OAuth 2.0 authorization-code flow with Google (arctic's OAuth2Client, PKCE S256 and
 * state), with every endpoint from config so that tests point it at a local stand-in.
 * Who signed in is asked of the userinfo endpoint with the access token, not read from
 * an id_token: arctic does not verify id_token signatures.
 */
export function createGoogleSignIn(google: GoogleConfig) {
  const client = (redirectUri: string) => new OAuth2Client(google.client_id, google.client_secret, redirectUri);
  return {
    /** The IdP's authorization URL, with the state and PKCE verifier to keep until the browser comes back. */
    start(redirectUri: string): { url: URL; state: string; verifier: string } {
      const state = generateState();
      const verifier = generateCodeVerifier();
      const url = client(redirectUri).createAuthorizationURLWithPKCE(
        google.authorization_endpoint, state, CodeChallengeMethod.S256, verifier, ['openid', 'email', 'profile'],
      );
      url.searchParams.set('prompt', 'select_account');
      return { url, state, verifier };
    },

    /** Trades the code (with the verifier) at the token endpoint, then asks the userinfo endpoint who it was. */
    async identify(code: string, verifier: string, redirectUri: string): Promise<GoogleIdentity> {
      let accessToken: string;
      try {
        accessToken = (await client(redirectUri).validateAuthorizationCode(google.token_endpoint, code, verifier)).accessToken();
      } catch (err) {
        if (err instanceof OAuth2RequestError) throw new BadRequestError(`Google did not accept this sign-in (${err.code}). Start again from the sign-in page.`);
        const why = err instanceof ArcticFetchError ? 'could not be reached' : `answered what this server cannot read (${(err as Error).message})`;
        throw new ServiceUnavailableError(`Google ${why} to finish the sign-in. Try again in a moment.`, 30);
      }
      let info: unknown;
      try {
        const res = await fetch(google.userinfo_endpoint, {
          headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
          signal: AbortSignal.timeout(IDP_TIMEOUT_MS),
        });
        if (!res.ok) throw new Error(`userinfo answered ${res.status}`);
        info = await res.json();
      } catch (err) {
        throw new ServiceUnavailableError(`Google did not say who signed in (${(err as Error).message}). Try again in a moment.`, 30);
      }
      const parsed = UserInfoSchema.safeParse(info);
      if (!parsed.success) throw new ServiceUnavailableError('Google answered with an account this server cannot read. Try again in a moment.', 30);
      const { sub, email, email_verified, name } = parsed.data;
      return { subject: sub, email: email.toLowerCase(), emailVerified: email_verified === true, name };
    },
  };
}

/**
 * The user a Google identity signs in as. Refused (ForbiddenError, nothing created) when
 * Google has not verified the address, its domain is not in `allowed_domains`, the account
 * is deactivated, or there is no account and `auto_create_role` is unset. An existing
 * user is found by the verified address (so their account links to Google); an unknown one
 * is created with `auto_create_role`, without a password.
 */
export async function googleUser(deps: AppDeps, google: GoogleConfig, identity: GoogleIdentity): Promise<SignedInUser> {
  const { email } = identity;
  if (!identity.emailVerified) throw new ForbiddenError(`Google has not verified the address ${email}, so it cannot sign in here.`);
  const domain = email.slice(email.lastIndexOf('@') + 1);
  if (google.allowed_domains && !google.allowed_domains.includes(domain)) {
    throw new ForbiddenError(`Google accounts of ${domain} may not sign in here. Use an account of ${google.allowed_domains.join(', ')}.`);
  }
  let user = await deps.repos.users.findByEmail(email);
  if (!user) {
    if (!google.auto_create_role) throw new ForbiddenError(`There is no account for ${email} here. Ask an administrator to add you.`);
    try {
      user = (await createUser(deps, { email, name: identity.name ?? null, role: google.auto_create_role, setupToken: false })).user;
      deps.logger.info('user created on first Google sign-in', { email, role: google.auto_create_role });
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      user = await deps.repos.users.findByEmail(email); // created by a sign-in that ran alongside
    }
  }
  const state = user && (await deps.repos.users.getAuthState(user.id));
  if (!state?.user.active) throw new ForbiddenError(`The account ${email} is deactivated. Ask an administrator.`);
  return { ...state.user, token_generation: state.tokenGeneration };
}
