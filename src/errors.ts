/**
 * Transport-neutral domain errors: what went wrong, in the domain's words, never a status
 * code. Each entry point maps them: HTTP in src/api/problem.ts (httpStatusOf), the CLI
 * and the bot in their own way.
 */
export class DomainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The input cannot be used as it is (malformed, refused by a rule). */
export class BadRequestError extends DomainError {}
/** No valid credentials. */
export class UnauthorizedError extends DomainError {}
/** Valid credentials, but not allowed. */
export class ForbiddenError extends DomainError {}
/** No such thing (or the caller may not know it exists). */
export class NotFoundError extends DomainError {}
/** The thing is in a state that does not allow this now. */
export class ConflictError extends DomainError {}
/** The thing was there once and is used up or expired (a single-use link followed again). */
export class GoneError extends DomainError {}
/** The input is larger than a limit allows. */
export class PayloadTooLargeError extends DomainError {}
/** How much of a quota is used, or allowed. */
export interface QuotaUsage {
  bytes: number;
  files: number;
}
/** Storing this would go over the user's quota; `usage` and `limit` say how far. */
export class QuotaExceededError extends PayloadTooLargeError {
  constructor(
    message: string,
    readonly usage: QuotaUsage,
    readonly limit: QuotaUsage,
  ) {
    super(message);
  }
}
/** The input failed validation; `errors` says where. */
export class ValidationError extends DomainError {
  constructor(
    message: string,
    readonly errors: Array<{ path: string; message: string }> = [],
  ) {
    super(message);
  }
}
/** Too many attempts; try again after `retryAfterSeconds`. */
export class RateLimitError extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}
/** The work ran past its time limit and was stopped. */
export class TimeoutError extends DomainError {}
/** The server cannot take this now (busy, shutting down); try again after `retryAfterSeconds`. */
export class ServiceUnavailableError extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}
/** A child process doing the caller's work (a query worker, a script) died under it. */
export class ProcessFailedError extends DomainError {}
