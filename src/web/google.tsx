import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { constantTimeEqual } from '@oslojs/crypto/subtle';
import { publicOrigin } from '../api/http.ts';
import { createGoogleSignIn, googleUser, GOOGLE_CALLBACK_PATH, GOOGLE_LOGIN_PATH, type GoogleConfig } from '../auth/providers/google.ts';
import { loginLimits } from '../auth/rate-limit.ts';
import { startWebSession } from '../auth/web-session.ts';
import type { Config } from '../config.ts';
import type { AppEnv } from '../context.ts';
import { BadRequestError, ForbiddenError, NotFoundError } from '../errors.ts';
import { isHttpsRequest } from '../middleware/request.ts';
import { checkedNext } from './magic-link.tsx';
import { definePage } from './router.ts';

/** Holds state, PKCE verifier and `next` while the browser is at Google (10 minutes, only sent back to the callback). */
const FLOW_COOKIE = 'da_google';
const FLOW_SECONDS = 600;
const FlowSchema = z.object({ state: z.string().min(20).max(100), verifier: z.string().min(43).max(128), next: z.string().max(2000).optional() });

function googleOf(config: Config): GoogleConfig {
  if (!config.auth.google) throw new NotFoundError('Signing in with Google is turned off on this server.');
  return config.auth.google;
}

function callbackUrl(c: Context<AppEnv>, config: Config): string {
  const origin = publicOrigin(c, config);
  if (!origin) throw new BadRequestError('The address this page was requested at is not a plausible host name.');
  return origin + GOOGLE_CALLBACK_PATH;
}

/** GET /auth/google/login[?next=…]: off to Google, with a fresh state and PKCE verifier kept in a cookie. */
export const googleLoginPage = definePage({
  path: GOOGLE_LOGIN_PATH,
  access: 'public',
  query: z.object({ next: z.string().max(2000).optional() }),
  get(c, { deps, query }) {
    const google = googleOf(deps.config);
    const next = checkedNext(query.next);
    const { url, state, verifier } = createGoogleSignIn(google).start(callbackUrl(c, deps.config));
    setCookie(c, FLOW_COOKIE, Buffer.from(JSON.stringify({ state, verifier, next })).toString('base64url'), {
      httpOnly: true, sameSite: 'Lax', path: GOOGLE_CALLBACK_PATH, maxAge: FLOW_SECONDS,
      secure: isHttpsRequest(c, deps.config.server.trust_proxy),
    });
    return c.redirect(url.toString(), 302);
  },
});

/**
 * GET /auth/google/callback?code=…&state=…: back from Google. The state must be the one in
 * this browser's cookie; the code is traded with the PKCE verifier; then the user is found
 * (or created) by the verified address, signed in, and sent on to `next`. Each refusal is
 * a page and changes nothing.
 */
export const googleCallbackPage = definePage({
  path: GOOGLE_CALLBACK_PATH,
  access: 'public',
  query: z.object({
    code: z.string().max(2000).optional(),
    state: z.string().max(200).optional(),
    error: z.string().max(200).optional(),
  }),
  async get(c, { deps, query }) {
    const google = googleOf(deps.config);
    loginLimits(deps.config.auth).hitAddress(c.get('clientIp'));
    const trustProxy = deps.config.server.trust_proxy;
    const raw = getCookie(c, FLOW_COOKIE);
    // The state is single use: whatever happens next, this browser starts over for another try.
    deleteCookie(c, FLOW_COOKIE, { path: GOOGLE_CALLBACK_PATH, secure: isHttpsRequest(c, trustProxy) });
    if (query.error) throw new ForbiddenError(`Google did not sign you in (${query.error}). Start again from the sign-in page.`);
    let flow: z.infer<typeof FlowSchema> | undefined;
    try {
      flow = FlowSchema.parse(JSON.parse(Buffer.from(raw ?? '', 'base64url').toString()));
    } catch {
      flow = undefined;
    }
    const encoder = new TextEncoder();
    const stateMatches = flow && query.state && constantTimeEqual(encoder.encode(query.state), encoder.encode(flow.state));
    if (!flow || !stateMatches) {
      throw new BadRequestError('This Google sign-in was not started in this browser, or took longer than 10 minutes. Start again from the sign-in page.');
    }
    if (!query.code) throw new BadRequestError('Google sent no sign-in code. Start again from the sign-in page.');
    const identity = await createGoogleSignIn(google).identify(query.code, flow.verifier, callbackUrl(c, deps.config));
    const user = await googleUser(deps, google, identity);
    await startWebSession(c, deps, user);
    return c.redirect(checkedNext(flow.next) ?? '/', 302);
  },
});
