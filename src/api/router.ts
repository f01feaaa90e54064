import { createRoute, OpenAPIHono, type RouteConfig } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../context.ts';
import type { Role } from '../auth/roles.ts';
import { requireAccess } from '../auth/middleware.ts';
import { issuesToErrors, problem, ProblemSchema } from './problem.ts';

/** Who may call a route: nobody needs to sign in (`public`), or this role and above. */
export type Access = 'public' | Role;

/**
 * The one router factory: same validation hook (422 problem with field errors) everywhere.
 * Malformed JSON is a 400 (raised by the validator, mapped in app.onError).
 */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        return problem(c, 422, 'request validation failed', { errors: issuesToErrors(result.error.issues) });
      }
    },
  });
}

const problemContent = { 'application/problem+json': { schema: ProblemSchema } };
const errorResponse = (description: string) => ({ description, content: problemContent });

/** What a route does that decides which common errors it can give (see errorResponses). */
export interface RouteTraits {
  /** The request has parts the router validates (path, query, body, headers): 422 on a bad one. */
  validated?: boolean;
  /** The route takes a JSON body: malformed JSON is a 400. */
  jsonBody?: boolean;
  /** The route reads a request body: larger than the server's limit is a 413. */
  readsBody?: boolean;
  /** Why the route can answer 429 (a rate or concurrency limit); absent when none applies. */
  rateLimited?: string;
}

/**
 * Error responses a route can give, spread under each route's own responses: 401/403 for
 * every non-public route, 400 (malformed JSON), 422 (validation), 413 (body limit) and
 * 429 (limits) where the route's traits say so, 500 everywhere.
 */
export function errorResponses(access: Access, traits: RouteTraits = {}) {
  return {
    ...(traits.jsonBody ? { 400: errorResponse('The request body is not well-formed JSON') } : {}),
    ...(access === 'public'
      ? {}
      : {
          401: errorResponse('Not signed in, or the token is invalid, expired or revoked'),
          // viewer is the lowest role: every signed-in caller has it.
          ...(access === 'viewer' ? {} : { 403: errorResponse('Signed in without the required role') }),
        }),
    ...(traits.readsBody ? { 413: errorResponse('The request body is larger than the server accepts') } : {}),
    ...(traits.validated ? { 422: errorResponse('The request failed validation; `errors` lists the fields') } : {}),
    ...(traits.rateLimited ? { 429: errorResponse(traits.rateLimited) } : {}),
    500: errorResponse('Unexpected server error; the detail names the request id'),
  };
}

type Responses = RouteConfig['responses'];

/** Every error status (4xx/5xx) a route declares without a body gets the problem+json body it is sent with. */
function withProblemBodies(responses: Responses): Responses {
  const out: Responses = {};
  for (const [status, res] of Object.entries(responses)) {
    const r = res as { description: string; content?: unknown };
    out[status] = Number(status) >= 400 && !r.content ? { ...r, content: problemContent } : res;
  }
  return out;
}

/** The traits of a route, read from its request declaration. */
function traitsOf(route: Pick<RouteConfig, 'method' | 'request'>, rateLimited: string | undefined): RouteTraits {
  const req = route.request ?? {};
  const content = (req.body?.content ?? {}) as Record<string, unknown>;
  const jsonBody = 'application/json' in content;
  // The validator reads JSON and form bodies; other bodies (files, text) reach the handler as they are.
  const formBody = 'multipart/form-data' in content || 'application/x-www-form-urlencoded' in content;
  return {
    validated: Boolean(req.params || req.query || req.headers || req.cookies || jsonBody || formBody),
    jsonBody,
    readsBody: Boolean(req.body) || ['post', 'put', 'patch'].includes(route.method),
    rateLimited,
  };
}

export { errorResponse };

/** Per `METHOD /path` (Hono path syntax), the route's operationId: the audit action name. */
export const routeActions = new Map<string, string>();

type DefinedRoute<R extends RouteConfig> = R & { 'x-required-role': Access };

/**
 * Defines a route together with who may call it. The access rule is enforced by a
 * middleware and published in the OpenAPI document as `x-required-role` (and
 * `x-allow-self` for routes a user may call on themselves), so tests derive the policy
 * matrix from the document.
 *
 * @example
 * const listUsers = defineRoute({ access: 'admin', method: 'get', path: '/api/users', operationId: 'users.list', … })
 */
export function defineRoute<R extends Omit<RouteConfig, 'middleware'> & { operationId: string }>(
  config: R & {
    access: Access;
    allowSelf?: string;
    extraMiddleware?: MiddlewareHandler[];
    /** The route can answer 429: why (declared as its 429 response). */
    rateLimited?: string;
  },
): DefinedRoute<R> {
  const { access, allowSelf, extraMiddleware = [], rateLimited, ...route } = config;
  routeActions.set(`${route.method.toUpperCase()} ${route.path.replace(/\{(\w+)\}/g, ':$1')}`, route.operationId);
  return createRoute({
    ...route,
    middleware: [requireAccess(access, allowSelf), ...extraMiddleware],
    // Public routes say so (`security: []`), so clients send no token and linters see the choice.
    security: access === 'public' ? [] : [{ bearerAuth: [] }],
    responses: withProblemBodies({ ...errorResponses(access, traitsOf(route, rateLimited)), ...route.responses }),
    'x-required-role': access,
    ...(allowSelf ? { 'x-allow-self': allowSelf } : {}),
  } as RouteConfig) as unknown as DefinedRoute<R>;
}
