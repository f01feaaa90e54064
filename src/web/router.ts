import { Hono, type Context, type Handler, type MiddlewareHandler } from 'hono';
import type { H } from 'hono/types';
import { HTTPException } from 'hono/http-exception';
import { jsxRenderer } from 'hono/jsx-renderer';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from '@hono/zod-openapi';
import type { AppDeps, AppEnv, AuthUser } from '../context.ts';
import type { Runtime, Services } from '../boot.ts';
import { routeActions, type Access } from '../api/router.ts';
import { httpStatusOf, issuesToErrors, logUnexpectedError, statusTitle } from '../api/problem.ts';
import { hasRole } from '../auth/roles.ts';
import {
  DomainError, ForbiddenError, RateLimitError, ServiceUnavailableError, UnauthorizedError, ValidationError,
} from '../errors.ts';
import { Layout } from '../../views/layout.tsx';
import { ErrorPage } from '../../views/error.tsx';
import { createCsrf } from './csrf.ts';
import { createFlashStore, type Flash } from './flash.ts';

export type { Flash };

/** What a page tells the layout besides its content: `c.render(<Page />, { title: 'Catalog' })`. */
export interface PageFrame {
  /** Shown as `<title> · da`. */
  title?: string;
  /** A narrow column without the header (the sign-in pages). */
  narrow?: boolean;
}

declare module 'hono' {
  // c.render takes the page's content and its frame, and needs no cast (hono's ContextRenderer).
  interface ContextRenderer {
    (content: string | Promise<string>, frame?: PageFrame): Response | Promise<Response>;
  }
}

/** What a page handler gets besides the context: the parts it may use and its checked input. */
export interface PageArgs<A extends Access, Q, F> {
  deps: AppDeps;
  services: Services;
  /** The signed-in user (the guard let them in); for a public page maybe nobody. */
  user: A extends 'public' ? AuthUser | undefined : AuthUser;
  /** The query string, checked by the page's `query` schema. */
  query: Q;
  /** The form of a POST, checked by the page's `form` schema. */
  form: F;
  /** The CSRF token for the forms the page renders (`<CsrfField token={csrf} />`). */
  csrf: string;
  /** The one-time message the form post before this GET left (the layout shows it too). */
  flash: Flash | undefined;
  /** Ends a form post (Post/Redirect/Get): 303 to `location`, with a one-time message for the page there. */
  redirect(location: string, flash?: Flash): Response;
}

/** A field the form or the domain code refused, as the 422 of the API names it. */
export interface FieldError {
  path: string;
  message: string;
}

/** What a page's `invalid` handler gets: the page's arguments, the refused fields and what was sent. */
export type InvalidArgs<A extends Access, Q> = PageArgs<A, Q, undefined> & {
  errors: FieldError[];
  /** The posted text fields (without the CSRF token), to fill the form in again. */
  values: Record<string, string | string[]>;
};

export type PageHandler<A extends Access, Q, F> = (c: Context<AppEnv>, page: PageArgs<A, Q, F>) => Response | Promise<Response>;

/** A page's step before its input is read: answers at once (a Response) or lets the request on. */
export type BeforeHandler<A extends Access> = (
  c: Context<AppEnv>,
  page: Omit<PageArgs<A, never, never>, 'query' | 'form'>,
) => Response | void | Promise<Response | void>;

/** One page: its path, the role it needs, and what it answers to GET and POST. */
export interface PageDefinition<A extends Access = Access, Q = {}, F = {}> {
  /** Hono path syntax (`/catalog/:table`). */
  path: string;
  /** Who may see it: anybody (`public`), or that role and above. */
  access: A;
  /** Schema of the query string; a query it refuses is a 422 page. */
  query?: z.ZodType<Q>;
  /** Schema of a POST's form (without the CSRF field); a form it refuses is a 422 page. */
  form?: z.ZodType<F>;
  /** Runs after the guard and before the CSRF check reads the body (e.g. a rate limit). */
  before?: BeforeHandler<A>;
  get?: PageHandler<A, Q, undefined>;
  /** A form post: checked against the CSRF token before it runs. */
  post?: PageHandler<A, Q, F>;
  /**
   * The audit action of the POST: the operationId of the API route that does the same
   * (`tokens.create`, `users.update`), so the audit log names a change the same way
   * whichever way it came. Without it: `POST <path>`.
   */
  action?: string;
  /**
   * Renders the form again with its field errors, answered with 422, when the POST's form
   * fails `form` or its handler throws a ValidationError. Without it: the 422 error page.
   */
  invalid?: (c: Context<AppEnv>, page: InvalidArgs<A, Q>) => Response | Promise<Response>;
}

/** Any page, whatever its access, query and form types: what a list of pages holds. */
export type AnyPage = PageDefinition<any, any, any>;

/**
 * Defines a page. The page router registers it with the one layout, the role guard, the
 * CSRF check of its POST and the HTML error pages; the handler only renders.
 *
 * @example
 * export const catalogPage = definePage({
 *   path: '/catalog', access: 'analyst',
 *   get: async (c, { services, user }) => c.render(<CatalogPage tables={…} />, { title: 'Catalog' }),
 * });
 */
export function definePage<A extends Access, Q = {}, F = {}>(page: PageDefinition<A, Q, F>): PageDefinition<A, Q, F> {
  return page;
}

/** Paths under /auth that a browser follows (a link in a mail, the way back from Google): pages. */
const BROWSER_AUTH_PATHS = /^\/auth\/(?:magic-link\/verify|google\/(?:login|callback))$/;

/** Paths that answer machines (problem+json, scripts, files): everything else answers browsers with pages. */
export function isMachinePath(path: string): boolean {
  return /^\/(?:api|auth|cli|ws|webhooks)(?:\/|$)/.test(path) && !BROWSER_AUTH_PATHS.test(path);
}

/**
 * `next` when it is a path on this server (`/catalog?x=1`), else undefined: never another
 * host (`//evil.com`, `/\evil.com`, `https://…`), never a scheme, no control characters,
 * also after the URL parser has resolved `..` and dropped tabs.
 */
export function safeNext(next: string | undefined): string | undefined {
  if (!next || next.length > 2000 || !next.startsWith('/') || next.startsWith('//')) return undefined;
  if (next.includes('\\') || /[\u0000-\u001f\u007f]/.test(next)) return undefined;
  const base = 'http://da.invalid';
  let url: URL;
  try {
    url = new URL(next, base);
  } catch {
    return undefined;
  }
  const path = url.pathname + url.search + url.hash;
  if (url.origin !== base || path.startsWith('//')) return undefined;
  return path;
}

/** The sign-in page, coming back to `next` afterwards (the start page needs no `next`). */
export function signInHref(next: string): string {
  const safe = safeNext(next);
  return !safe || safe === '/' ? '/login' : `/login?${new URLSearchParams({ next: safe })}`;
}

/**
 * Where to send a request without a session: a page GET comes back to itself after signing in.
 * The request is marked as sent to sign in, so the audit trail records a page post refused
 * this way as refused (as the API's 401).
 */
function signInRedirect(c: Context<AppEnv>): Response {
  c.set('sentToSignIn', true);
  const url = new URL(c.req.url);
  const back = c.req.method === 'GET' || c.req.method === 'HEAD' ? url.pathname + url.search : '/';
  return c.redirect(signInHref(back), 302);
}

function isContentful(status: number): status is ContentfulStatusCode {
  return status >= 200 && status <= 599 && ![204, 205, 304].includes(status);
}

export interface PageRouter {
  /** The pages, to mount with `app.route('/', pages.routes)`. */
  routes: Hono<AppEnv>;
  /** An HTML error page in the layout, e.g. for a body limit outside the page routes. */
  errorPage(c: Context<AppEnv>, status: number, detail: string, extra?: { errors?: ValidationError['errors']; headers?: Record<string, string> }): Promise<Response>;
  /** app.onError for paths outside the API: the status the API would give, or a logged 500 with the request id. */
  onError(err: Error, c: Context<AppEnv>): Response | Promise<Response>;
  /** app.notFound for paths outside the API. */
  notFound(c: Context<AppEnv>): Promise<Response>;
}

/**
 * The page router: each page is registered as
 *   layout (jsxRenderer, one for all) → role guard → page's `before` → CSRF check → input check → handler.
 * Security headers (CSP with the layout's style hash) and the session come from the app's
 * middleware; the error pages use the same layout.
 */
export function createPageRouter({ deps, services }: Runtime, pages: AnyPage[]): PageRouter {
  const csrf = createCsrf({ key: deps.key, trustProxy: deps.config.server.trust_proxy });
  const flashes = createFlashStore({ trustProxy: deps.config.server.trust_proxy });
  // The message taken for a request, for its page and its layout.
  const taken = new WeakMap<Context, Flash>();

  const layout = jsxRenderer(
    ({ children, title, narrow }, c: Context<AppEnv>) => {
      const user = c.get('user');
      return Layout({ children, title, narrow, user, csrf: user ? csrf.token(c) : undefined, path: c.req.path, flash: taken.get(c) });
    },
    { docType: true },
  );

  function guard(access: Access): MiddlewareHandler<AppEnv> {
    return async function pageGuard(c, next) {
      if (access === 'public') return next();
      const user = c.get('user');
      if (!user) return signInRedirect(c);
      if (!hasRole(user.role, access)) {
        throw new ForbiddenError(`This page needs the ${access} role; you are signed in as ${user.email} (${user.role}).`);
      }
      await next();
    };
  }

  function checked<T>(schema: z.ZodType<T> | undefined, value: unknown, what: string): T | undefined {
    if (!schema) return undefined;
    const result = schema.safeParse(value);
    if (!result.success) throw new ValidationError(`The ${what} has values this page cannot use.`, issuesToErrors(result.error.issues));
    return result.data;
  }

  const redirectWith = (c: Context<AppEnv>) => (location: string, flash?: Flash) => {
    if (flash) flashes.set(c, flash);
    return c.redirect(location, 303);
  };

  /** The posted text fields without the CSRF token (files and the token are left out). */
  function postedValues(body: Record<string, unknown>): Record<string, string | string[]> {
    const values: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(body)) {
      if (k === '_csrf') continue;
      if (typeof v === 'string') values[k] = v;
      else if (Array.isArray(v)) values[k] = v.filter((x): x is string => typeof x === 'string');
    }
    return values;
  }

  function before(hook: BeforeHandler<Access>): MiddlewareHandler<AppEnv> {
    return async function pageBefore(c, next) {
      const answer = await hook(c, { deps, services, user: c.get('user'), csrf: csrf.token(c), flash: undefined, redirect: redirectWith(c) });
      if (answer) return answer;
      await next();
    };
  }

  function handle(page: AnyPage, handler: NonNullable<AnyPage['get'] | AnyPage['post']>): Handler<AppEnv> {
    return async function pageHandler(c: Context<AppEnv>) {
      const query = checked(page.query, c.req.query(), 'address') ?? {};
      const flash = c.req.method === 'GET' ? flashes.take(c) : undefined;
      if (flash) {
        taken.set(c, flash);
        // A one-time message (maybe a secret shown once) must not come back from a cache.
        c.header('cache-control', 'no-store');
      }
      const args = { deps, services, user: c.get('user'), query, csrf: csrf.token(c), flash, redirect: redirectWith(c) };
      if (c.req.method !== 'POST') return handler(c, { ...args, form: undefined });
      const body = await c.req.parseBody();
      const invalid = (errors: FieldError[]) => {
        c.status(422);
        return page.invalid!(c, { ...args, form: undefined, errors, values: postedValues(body) });
      };
      let form: unknown = {};
      if (page.form) {
        const result = page.form.safeParse(body);
        if (!result.success) {
          const errors = issuesToErrors(result.error.issues) ?? [];
          if (page.invalid) return invalid(errors);
          throw new ValidationError('The form has values this page cannot use.', errors);
        }
        form = result.data;
      }
      try {
        return await (handler as PageHandler<Access, unknown, unknown>)(c, { ...args, form });
      } catch (err) {
        if (err instanceof ValidationError && page.invalid) return invalid(err.errors);
        throw err;
      }
    };
  }

  const routes = new Hono<AppEnv>();
  for (const page of pages) {
    const chain = (handler: NonNullable<AnyPage['get'] | AnyPage['post']>): [MiddlewareHandler<AppEnv>, ...H<AppEnv>[]] => [
      layout, guard(page.access), ...(page.before ? [before(page.before)] : []), csrf.verify, handle(page, handler),
    ];
    if (page.get) routes.get(page.path, ...chain(page.get));
    if (page.post) routes.post(page.path, ...chain(page.post));
    // The audit trail (src/middleware/audit.ts) records every page post; one with an action under that name.
    if (page.post && page.action) routeActions.set(`POST ${page.path}`, page.action);
  }

  const errorPage: PageRouter['errorPage'] = async (c, status, detail, extra = {}) => {
    await layout(c, async () => {});
    c.status(isContentful(status) ? status : 500);
    for (const [name, value] of Object.entries(extra.headers ?? {})) c.header(name, value);
    const title = statusTitle(status);
    const page = ErrorPage({
      status, title, detail, errors: extra.errors, requestId: c.get('requestId'), offerSignIn: status === 401 || status === 403,
    });
    return c.render(page, { title: `${status} ${title}` });
  };

  return {
    routes,
    errorPage,
    notFound: (c) => errorPage(c, 404, `There is no page at ${c.req.path}.`),
    onError(err, c) {
      if (err instanceof UnauthorizedError && (c.req.method === 'GET' || c.req.method === 'HEAD')) return signInRedirect(c);
      if (err instanceof DomainError) {
        const headers: Record<string, string> = {};
        if (err instanceof RateLimitError || err instanceof ServiceUnavailableError) headers['retry-after'] = String(err.retryAfterSeconds);
        return errorPage(c, httpStatusOf(err), err.message, { errors: err instanceof ValidationError ? err.errors : undefined, headers });
      }
      if (err instanceof HTTPException && err.status < 500) return errorPage(c, err.status, err.message || statusTitle(err.status));
      logUnexpectedError(deps.logger, c, err);
      return errorPage(c, 500, 'Something went wrong on the server. Quote the request id below to your administrator.');
    },
  };
}
