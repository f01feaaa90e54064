/**
 * Transport-neutral domain errors. Each entry point (HTTP, CLI, bot, job) maps them;
 * the HTTP mapping to problem+json lives in src/api/problem.ts.
 */
export class DomainError extends Error {
  readonly status: number = 500;
  readonly title: string = 'Internal Server Error';
  constructor(message: string, readonly extra: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
  }
}

export class BadRequestError extends DomainError {
  override readonly status = 400;
  override readonly title = 'Bad Request';
}
export class UnauthorizedError extends DomainError {
  override readonly status = 401;
  override readonly title = 'Unauthorized';
}
export class ForbiddenError extends DomainError {
  override readonly status = 403;
  override readonly title = 'Forbidden';
}
export class NotFoundError extends DomainError {
  override readonly status = 404;
  override readonly title = 'Not Found';
}
export class ConflictError extends DomainError {
  override readonly status = 409;
  override readonly title = 'Conflict';
}
export class PayloadTooLargeError extends DomainError {
  override readonly status = 413;
  override readonly title = 'Payload Too Large';
}
export class ValidationError extends DomainError {
  override readonly status = 422;
  override readonly title = 'Unprocessable Content';
  constructor(
    message: string,
    readonly errors: Array<{ path: string; message: string }> = [],
  ) {
    super(message);
  }
}
export class RateLimitError extends DomainError {
  override readonly status = 429;
  override readonly title = 'Too Many Requests';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}
export class TimeoutError extends DomainError {
  override readonly status = 408;
  override readonly title = 'Request Timeout';
}
export class ServiceUnavailableError extends DomainError {
  override readonly status = 503;
  override readonly title = 'Service Unavailable';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}
