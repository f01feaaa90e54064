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

/** Error responses every route can give, spread into each route's responses. */
export function errorResponses(access: Access) {
  return {
    ...(access === 'public'
      ? {}
      : {
          401: errorResponse('Not signed in, or the token is invalid, expired or revoked'),
          // viewer is the lowest role: every signed-in caller has it.
          ...(access === 'viewer' ? {} : { 403: errorResponse('Signed in without the required role') }),
        }),
    422: errorResponse('The request failed validation; `errors` lists the fields'),
    429: errorResponse('Too many requests; see Retry-After'),
    500: errorResponse('Unexpected server error; the detail names the request id'),
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
  config: R & { access: Access; allowSelf?: string; extraMiddleware?: MiddlewareHandler[] },
): DefinedRoute<R> {
  const { access, allowSelf, extraMiddleware = [], ...route } = config;
  routeActions.set(`${route.method.toUpperCase()} ${route.path.replace(/\{(\w+)\}/g, ':$1')}`, route.operationId);
  return createRoute({
    ...route,
    middleware: [requireAccess(access, allowSelf), ...extraMiddleware],
    ...(access === 'public' ? {} : { security: [{ bearerAuth: [] }] }),
    responses: { ...errorResponses(access), ...route.responses },
    'x-required-role': access,
    ...(allowSelf ? { 'x-allow-self': allowSelf } : {}),
  } as RouteConfig) as unknown as DefinedRoute<R>;
}
