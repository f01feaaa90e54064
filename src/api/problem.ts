import type { Context } from 'hono';
import type { Logger } from '../log.ts';
import { z } from '@hono/zod-openapi';
import {
  BadRequestError, ConflictError, DomainError, ForbiddenError, GoneError, NotFoundError, PayloadTooLargeError, ProcessFailedError,
  QuotaExceededError, RateLimitError, ServiceUnavailableError, TimeoutError, UnauthorizedError, ValidationError,
} from '../errors.ts';

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
  410: 'Gone',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
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
  extra: { errors?: Problem['errors']; headers?: Record<string, string>; members?: Record<string, unknown> } = {},
): Response {
  const body: Problem & Record<string, unknown> = {
    // Extension members (RFC 9457 §3.2) first, so they can never replace a standard one.
    ...extra.members,
    type: 'about:blank',
    title: statusTitle(status),
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

/** The HTTP status of each kind of domain error: the one place domain errors meet HTTP. */
const STATUS_OF: Array<[abstract new (...args: never[]) => DomainError, number]> = [
  [ValidationError, 422],
  [BadRequestError, 400],
  [UnauthorizedError, 401],
  [ForbiddenError, 403],
  [NotFoundError, 404],
  [TimeoutError, 408],
  [ConflictError, 409],
  [GoneError, 410],
  [PayloadTooLargeError, 413],
  [RateLimitError, 429],
  [ServiceUnavailableError, 503],
  [ProcessFailedError, 500],
];

/** The status a domain error answers with (500 for a kind not listed). */
export function httpStatusOf(err: DomainError): number {
  return STATUS_OF.find(([kind]) => err instanceof kind)?.[1] ?? 500;
}

/** The title of a status, as problem+json bodies and error pages show it. */
export function statusTitle(status: number): string {
  return TITLES[status] ?? 'Error';
}

/** Maps a thrown error to its problem response; unknown errors become a generic 500. */
export function problemFromError(c: Context, err: unknown): Response | undefined {
  if (!(err instanceof DomainError)) return undefined;
  const status = httpStatusOf(err);
  if (err instanceof ValidationError) return problem(c, status, err.message, { errors: err.errors });
  if (err instanceof QuotaExceededError) return problem(c, status, err.message, { members: { usage: err.usage, limit: err.limit } });
  const headers: Record<string, string> = {};
  if (err instanceof RateLimitError || err instanceof ServiceUnavailableError) headers['retry-after'] = String(err.retryAfterSeconds);
  if (err instanceof UnauthorizedError) headers['www-authenticate'] = 'Bearer';
  return problem(c, status, err.message, { headers });
}

/**
 * Logs an error no mapping knew (with its stack, for the operator) and returns the line the
 * caller may see instead: a request id to quote, nothing of the error itself.
 */
export function logUnexpectedError(logger: Logger, c: Context, err: unknown): string {
  const requestId = c.get('requestId');
  logger.error('unhandled error', {
    request_id: requestId,
    path: c.req.path,
    error: err instanceof Error ? (err.stack ?? err.message) : String(err),
  });
  return `internal error; quote request id ${requestId} to your administrator`;
}

/** zod issues → the `errors` list of a 422. */
export function issuesToErrors(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): Problem['errors'] {
  return issues.map((i) => ({ path: i.path.map(String).join('.') || '(body)', message: i.message }));
}
