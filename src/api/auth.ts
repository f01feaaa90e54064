import { z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { AppDeps, AppEnv } from '../context.ts';
import { currentUser } from '../auth/middleware.ts';
import { loginLimits } from '../auth/rate-limit.ts';
import { clearSessionCookie } from '../auth/session-cookie.ts';
import { startWebSession } from '../auth/web-session.ts';
import {
  createPersonalAccessToken,
  exchangeCliCode,
  issueToken,
  logout,
  revokePersonalAccessToken,
  setPasswordWithToken,
  verifyLogin,
} from '../auth/service.ts';
import { createRouter, defineRoute, errorResponse } from './router.ts';
import { IdParamSchema, jsonBody, jsonResponse, RoleSchema } from './schemas.ts';

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

const tokenRoute = defineRoute({
  access: 'public',
  method: 'post',
  path: '/auth/token',
  operationId: 'auth.token',
  tags: ['auth'],
  summary: 'Sign in with email and password; returns a bearer token',
  request: jsonBody(TokenRequestSchema),
  responses: { 200: jsonResponse(TokenResponseSchema, 'Signed in'), ...bodyTooLarge },
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
  tags: ['auth'],
  summary: 'Set the first password with a setup token (single use)',
  request: jsonBody(PasswordWithTokenSchema),
  responses: { 200: jsonResponse(TokenResponseSchema, 'Password set; signed in'), ...bodyTooLarge },
});

const resetRoute = defineRoute({
  access: 'public',
  method: 'post',
  path: '/auth/reset',
  operationId: 'auth.reset',
  tags: ['auth'],
  summary: 'Set a new password with a reset token (single use); ends every session, access and personal access token of the user',
  request: jsonBody(PasswordWithTokenSchema),
  responses: { 200: jsonResponse(TokenResponseSchema, 'Password changed; signed in'), ...bodyTooLarge },
});

const cliTokenRoute = defineRoute({
  access: 'public',
  method: 'post',
  path: '/auth/cli-token',
  operationId: 'auth.cliToken',
  tags: ['auth'],
  summary: "The browser step of `da login`: trade the sign-in code and the PKCE verifier for a personal access token",
  request: jsonBody(
    z.object({ code: z.string().min(1).max(200), verifier: z.string().min(43).max(128) }).openapi('CliTokenRequest'),
  ),
  responses: { 200: jsonResponse(PatCreatedSchema, 'The new token (shown once)'), 401: { description: 'Code invalid, expired, used, or wrong verifier' }, ...bodyTooLarge },
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

/** Sign-in, sign-out, password setup/reset and personal access tokens. */
export function createAuthRouter(deps: AppDeps) {
  const { auth, server } = deps.config;
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
      return c.json(await setPasswordWithToken(deps, token, 'setup', password), 200);
    })
    .openapi(resetRoute, async (c) => {
      const { token, password } = c.req.valid('json');
      return c.json(await setPasswordWithToken(deps, token, 'reset', password), 200);
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
