import type { Context } from 'hono';
import { z } from '@hono/zod-openapi';
import { DomainError, RateLimitError, ServiceUnavailableError, ValidationError } from '../errors.ts';

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: 'about:blank' }),
    title: z.string().openapi({ example: 'Not Found' }),
    status: z.number().int().openapi({ example: 404 }),
    detail: z.string().openapi({ example: 'user 42 not found' }),
    request_id: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');
export type Problem = z.infer<typeof ProblemSchema>;

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** A problem+json response (RFC 9457). */
export function problem(
  c: Context,
  status: number,
  detail: string,
  extra: { errors?: Problem['errors']; headers?: Record<string, string> } = {},
): Response {
  const body: Problem = {
    type: 'about:blank',
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    request_id: c.get('requestId'),
    ...(extra.errors ? { errors: extra.errors } : {}),
  };
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/problem+json', ...extra.headers },
  });
}

/** Maps a thrown error to its problem response; unknown errors become a generic 500. */
export function problemFromError(c: Context, err: unknown): Response | undefined {
  if (err instanceof ValidationError) return problem(c, 422, err.message, { errors: err.errors });
  if (err instanceof RateLimitError || err instanceof ServiceUnavailableError) {
    return problem(c, err.status, err.message, { headers: { 'retry-after': String(err.retryAfterSeconds) } });
  }
  if (err instanceof DomainError) {
    const headers: Record<string, string> = err.status === 401 ? { 'www-authenticate': 'Bearer' } : {};
    return problem(c, err.status, err.message, { headers });
  }
  return undefined;
}

/** zod issues → the `errors` list of a 422. */
export function issuesToErrors(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): Problem['errors'] {
  return issues.map((i) => ({ path: i.path.map(String).join('.') || '(body)', message: i.message }));
}
