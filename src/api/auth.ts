import { z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { AppDeps, AppEnv } from '../context.ts';
import { currentUser } from '../auth/middleware.ts';
import { loginLimits } from '../auth/rate-limit.ts';
import { clearSessionCookie } from '../auth/session-cookie.ts';
import { startWebSession } from '../auth/web-session.ts';
import {
  changePassword,
  createPersonalAccessToken,
  exchangeCliCode,
  issueToken,
  logout,
  revokePersonalAccessToken,
  setPasswordWithToken,
  updateOwnProfile,
  verifyLogin,
} from '../auth/service.ts';
import { mailLinkOrigin, type MailLinks } from '../auth/mail-links.ts';
import { requestPasswordReset } from '../auth/password-reset.ts';
import { magicLinkEnabled, requestMagicLink } from '../auth/providers/magic-link.ts';
import { ForbiddenError, NotFoundError, ValidationError } from '../errors.ts';
import { safeNext } from '../web/router.ts';
import { createRouter, defineRoute, errorResponse } from './router.ts';
import { IdParamSchema, jsonBody, jsonResponse, RoleSchema, UserSchema } from './schemas.ts';

export const TokenRequestSchema = z
  .object({
    email: z.string().email().max(254),
    password: z.string().min(1).max(1024),
    /** Also set the HttpOnly session cookie (web sign-in). */
    cookie: z.boolean().optional(),
  })
  .openapi('TokenRequest');

export const TokenResponseSchema = z
  .object({
    access_token: z.string(),
    token_type: z.literal('bearer'),
    expires_in: z.number().int(),
    user: z.object({ id: z.string(), email: z.string(), role: RoleSchema, name: z.string().nullable() }),
  })
  .openapi('TokenResponse');

const PasswordWithTokenSchema = z
  .object({ token: z.string().min(1).max(256), password: z.string().min(8).max(1024) })
  .openapi('PasswordWithToken');

export const PatSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string(),
    created_at: z.string(),
    expires_at: z.string().nullable(),
    last_used_at: z.string().nullable(),
    revoked_at: z.string().nullable(),
  })
  .openapi('PersonalAccessToken');

const PatCreatedSchema = PatSchema.extend({ token: z.string().openapi({ description: 'Shown once; store it now' }) }).openapi(
  'PersonalAccessTokenCreated',
);

/** The sign-in routes refuse bodies over auth.max_body_bytes before reading them. */
const bodyTooLarge = { 413: errorResponse('Request body larger than auth.max_body_bytes') };
/** The sign-in routes count requests per address (and per account) and refuse past the limit. */
const signInLimited = 'Too many sign-in attempts from this address or for this account; see Retry-After';
/** The password routes refuse when auth.password is off. */
const passwordsOff = { 403: errorResponse('Passwords are turned off on this server (auth.password)') };

const tokenRoute = defineRoute({
  access: 'public',
  method: 'post',
  path: '/auth/token',
  operationId: 'auth.token',
  rateLimited: signInLimited,
  tags: ['auth'],
  summary: 'Sign in with email and password; returns a bearer token',
  request: jsonBody(TokenRequestSchema),
  responses: { 200: jsonResponse(TokenResponseSchema, 'Signed in'), 401: { description: 'Wrong email or password, or the account is inactive' }, ...bodyTooLarge, ...passwordsOff },
});

const logoutRoute = defineRoute({
  access: 'viewer',
  method: 'post',
  path: '/auth/logout',
  operationId: 'auth.logout',
  tags: ['auth'],
  summary: 'Revoke the token used for this call (JWT or personal access token)',
  responses: { 204: { description: 'Signed out' } },
});

const setupRoute = defineRoute({
  access: 'public',
  method: 'post',
  path: '/auth/setup',
  operationId: 'auth.setup',
  rateLimited: signInLimited,
  tags: ['auth'],
  summary: 'Set the first password with a setup token (single use)',
  request: jsonBody(PasswordWithTokenSchema),
  responses: { 200: jsonResponse(TokenResponseSchema, 'Password set; signed in'), 401: { description: 'Setup token invalid, expired or used' }, ...bodyTooLarge, ...passwordsOff },
});

const resetRoute = defineRoute({
  access: 'public',
  method: 'post',
  path: '/auth/reset',
  operationId: 'auth.reset',
  rateLimited: signInLimited,
  tags: ['auth'],
  summary: 'Set a new password with a reset token (single use); ends every session, access and personal access token of the user',
  request: jsonBody(PasswordWithTokenSchema),
  responses: { 200: jsonResponse(TokenResponseSchema, 'Password changed; signed in'), 401: { description: 'Reset token invalid, expired or used' }, ...bodyTooLarge, ...passwordsOff },
});

const cliTokenRoute = defineRoute({
  access: 'public',
  method: 'post',
  path: '/auth/cli-token',
  operationId: 'auth.cliToken',
  rateLimited: signInLimited,
  tags: ['auth'],
  summary: "The browser step of `da login`: trade the sign-in code and the PKCE verifier for a personal access token",
  request: jsonBody(
    z.object({ code: z.string().min(1).max(200), verifier: z.string().min(43).max(128) }).openapi('CliTokenRequest'),
  ),
  responses: { 200: jsonResponse(PatCreatedSchema, 'The new token (shown once)'), 401: { description: 'Code invalid, expired, used, or wrong verifier' }, ...bodyTooLarge },
});

const MailRequestSchema = z.object({ email: z.string().email().max(254) });
const accepted = {
  202: jsonResponse(z.object({ message: z.string() }).openapi('MailRequested'), 'Accepted; the same answer whether the address has an account or not'),
  ...bodyTooLarge,
};

const magicLinkRoute = defineRoute({
  access: 'public',
  method: 'post',
  path: '/auth/magic-link',
  operationId: 'auth.magicLink',
  rateLimited: 'Too many link requests from this address or for this account; see Retry-After',
  tags: ['auth'],
  summary: 'Mail a single-use sign-in link (15 minutes) to an account; 202 for every address',
  request: jsonBody(
    MailRequestSchema.extend({
      next: z.string().max(2000).optional().openapi({ description: 'A path on this server to go to after signing in' }),
    }).openapi('MagicLinkRequest'),
  ),
  responses: { ...accepted, 404: errorResponse('Sign-in links are turned off') },
});

const passwordResetRoute = defineRoute({
  access: 'public',
  method: 'post',
  path: '/auth/password-reset',
  operationId: 'auth.passwordReset',
  rateLimited: 'Too many link requests from this address or for this account; see Retry-After',
  tags: ['auth'],
  summary: 'Mail a single-use link to choose a new password (/reset?token=…); 202 for every address',
  request: jsonBody(MailRequestSchema.openapi('PasswordResetRequest')),
  responses: { ...accepted, 404: errorResponse('Passwords are turned off') },
});

const meRoute = defineRoute({
  access: 'viewer',
  method: 'get',
  path: '/api/me',
  operationId: 'me.get',
  tags: ['auth'],
  summary: 'The signed-in user',
  responses: {
    200: jsonResponse(
      z.object({ id: z.string(), email: z.string(), name: z.string().nullable(), role: RoleSchema, via: z.string() }).openapi('Me'),
      'The caller',
    ),
  },
});

export const ProfileUpdateSchema = z
  .object({ name: z.string().max(200).nullable().openapi({ description: 'Display name; null or blank for none' }) })
  .openapi('ProfileUpdate');

export const PasswordChangeSchema = z
  .object({
    current_password: z.string().min(1).max(1024),
    new_password: z.string().min(8).max(1024),
  })
  .openapi('PasswordChange');

const updateMeRoute = defineRoute({
  access: 'viewer',
  method: 'patch',
  path: '/api/me',
  operationId: 'me.update',
  tags: ['auth'],
  summary: 'Change your own display name',
  request: jsonBody(ProfileUpdateSchema),
  responses: { 200: jsonResponse(UserSchema, 'Updated') },
});

const changePasswordRoute = defineRoute({
  access: 'viewer',
  method: 'post',
  path: '/api/me/password',
  operationId: 'me.password',
  rateLimited: signInLimited,
  tags: ['auth'],
  summary:
    'Change your own password (the current one is checked, and counted like a sign-in attempt); every earlier access token and web session ends, the token returned continues (and a browser goes on in a new web session); personal access tokens stay',
  request: jsonBody(PasswordChangeSchema),
  responses: { 200: jsonResponse(TokenResponseSchema, 'Password changed; a new access token'), ...passwordsOff },
});

const listPatsRoute = defineRoute({
  access: 'viewer',
  method: 'get',
  path: '/api/tokens',
  operationId: 'tokens.list',
  tags: ['auth'],
  summary: "The caller's personal access tokens (never the secrets)",
  responses: { 200: jsonResponse(z.object({ items: z.array(PatSchema) }), 'Tokens') },
});

const createPatRoute = defineRoute({
  access: 'viewer',
  method: 'post',
  path: '/api/tokens',
  operationId: 'tokens.create',
  tags: ['auth'],
  summary: 'Create a personal access token; the secret is in this response only',
  request: jsonBody(
    z.object({ name: z.string().min(1).max(100), expires_in_days: z.number().int().min(1).max(3650).optional() }).openapi('TokenCreate'),
  ),
  responses: { 201: jsonResponse(PatCreatedSchema, 'Created') },
});

const revokePatRoute = defineRoute({
  access: 'viewer',
  method: 'delete',
  path: '/api/tokens/{id}',
  operationId: 'tokens.revoke',
  tags: ['auth'],
  summary: 'Revoke one of your personal access tokens',
  request: { params: IdParamSchema },
  responses: { 204: { description: 'Revoked' }, 404: { description: 'No such token of yours' } },
});

/** Paths whose requests count against the per-address sign-in limit. */
const SIGN_IN_PATHS = ['/auth/token', '/auth/setup', '/auth/reset', '/auth/cli-token'];

/** Sign-in, sign-out, password setup/reset, links by mail and personal access tokens. */
export function createAuthRouter(deps: AppDeps, { mailLinks }: { mailLinks: MailLinks }) {
  const { auth, server } = deps.config;
  const passwordsOn = () => {
    if (!auth.password) throw new ForbiddenError('password sign-in is turned off on this server');
  };
  const limits = loginLimits(auth);
  // Before the body is parsed or validated: a malformed or oversized request counts too.
  const limitAddress: MiddlewareHandler<AppEnv> = async function limitAddressMiddleware(c, next) {
    limits.hitAddress(c.get('clientIp'));
    await next();
  };
  const router = createRouter();
  for (const path of SIGN_IN_PATHS) router.use(path, limitAddress);

  return router
    .openapi(tokenRoute, async (c) => {
      const body = c.req.valid('json');
      passwordsOn();
      const attempt = limits.attempt(c.get('clientIp'), body.email);
      const user = await verifyLogin(deps, body.email, body.password);
      attempt.succeeded();
      const issued = await issueToken(deps, user);
      // The cookie holds a web session of its own (idle and absolute expiry), not this token.
      if (body.cookie) await startWebSession(c, deps, user, { recordLogin: false });
      return c.json(issued, 200);
    })
    .openapi(logoutRoute, async (c) => {
      await logout(deps, currentUser(c));
      clearSessionCookie(c, server.trust_proxy);
      return c.body(null, 204);
    })
    .openapi(setupRoute, async (c) => {
      const { token, password } = c.req.valid('json');
      passwordsOn();
      return c.json(await setPasswordWithToken(deps, token, 'setup', password), 200);
    })
    .openapi(resetRoute, async (c) => {
      const { token, password } = c.req.valid('json');
      passwordsOn();
      return c.json(await setPasswordWithToken(deps, token, 'reset', password), 200);
    })
    .openapi(magicLinkRoute, (c) => {
      const { email, next } = c.req.valid('json');
      if (!magicLinkEnabled(deps.config)) throw new NotFoundError('sign-in links are turned off on this server');
      const safe = next === undefined ? undefined : safeNext(next);
      if (next !== undefined && !safe) throw new ValidationError('next must be a path on this server', [{ path: 'next', message: 'not a path on this server' }]);
      requestMagicLink(mailLinks, deps.config, { email, ip: c.get('clientIp'), origin: mailLinkOrigin(c, deps.config, mailLinks), next: safe });
      return c.json({ message: 'If the address belongs to an account, a sign-in link is on its way.' }, 202);
    })
    .openapi(passwordResetRoute, (c) => {
      const { email } = c.req.valid('json');
      if (!auth.password) throw new NotFoundError('passwords are turned off on this server');
      requestPasswordReset(mailLinks, deps.config, { email, ip: c.get('clientIp'), origin: mailLinkOrigin(c, deps.config, mailLinks) });
      return c.json({ message: 'If the address belongs to an account, a link to choose a new password is on its way.' }, 202);
    })
    .openapi(cliTokenRoute, async (c) => {
      const { code, verifier } = c.req.valid('json');
      const { user_id: _, ...pat } = await exchangeCliCode(deps, code, verifier);
      return c.json(pat, 200);
    })
    .openapi(meRoute, (c) => {
      const u = currentUser(c);
      return c.json({ id: u.id, email: u.email, name: u.name, role: u.role, via: u.via }, 200);
    })
    .openapi(updateMeRoute, async (c) => c.json(await updateOwnProfile(deps, currentUser(c), c.req.valid('json')), 200))
    .openapi(changePasswordRoute, async (c) => {
      const caller = currentUser(c);
      const user = await changePassword(deps, caller, c.req.valid('json'), c.get('clientIp'));
      const issued = await issueToken(deps, user);
      // A browser (cookie) goes on in a new web session, its old one ended; a bearer caller takes the token from the body.
      if (caller.via === 'cookie') await startWebSession(c, deps, user, { recordLogin: false });
      return c.json(issued, 200);
    })
    .openapi(listPatsRoute, async (c) => {
      const items = await deps.repos.tokens.listPats(currentUser(c).id);
      return c.json({ items: items.map(({ user_id: _, ...p }) => p) }, 200);
    })
    .openapi(createPatRoute, async (c) => {
      const { name, expires_in_days } = c.req.valid('json');
      const { user_id: _, ...pat } = await createPersonalAccessToken(deps, currentUser(c).id, name, expires_in_days);
      return c.json(pat, 201);
    })
    .openapi(revokePatRoute, async (c) => {
      await revokePersonalAccessToken(deps, currentUser(c).id, c.req.valid('param').id);
      return c.body(null, 204);
    });
}
