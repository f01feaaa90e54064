import { CliError, errorCode } from './errors.ts';

/** How long and how often a download is tried again after a transient network error. */
export interface RetryPolicy {
  /** How long one table keeps trying after its last progress (0: never retry). */
  budgetMs: number;
  /** The first pause; each further pause doubles, up to `maxDelayMs`, with full jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A response that sends nothing for this long is given up and tried again. */
  idleTimeoutMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { budgetMs: 60_000, baseDelayMs: 250, maxDelayMs: 5_000, idleTimeoutMs: 60_000 };

function envNumber(env: Record<string, string | undefined>, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new CliError(`${name} must be a number ≥ 0 (got ${raw})`, 2);
  return n;
}

/**
 * The retry policy, tunable through the environment: DA_SYNC_RETRY_SECONDS (how long a table
 * keeps retrying, default 60), DA_SYNC_BACKOFF_MS (first pause, default 250; pauses double up to
 * 20× that, at most 5 s) and DA_SYNC_TIMEOUT_SECONDS (no data for this long counts as a dropped
 * connection, default 60).
 */
export function retryPolicyFromEnv(env: Record<string, string | undefined>): RetryPolicy {
  const budget = envNumber(env, 'DA_SYNC_RETRY_SECONDS');
  const base = envNumber(env, 'DA_SYNC_BACKOFF_MS');
  const idle = envNumber(env, 'DA_SYNC_TIMEOUT_SECONDS');
  const baseDelayMs = base ?? DEFAULT_RETRY.baseDelayMs;
  return {
    budgetMs: budget === undefined ? DEFAULT_RETRY.budgetMs : budget * 1000,
    baseDelayMs,
    maxDelayMs: Math.min(DEFAULT_RETRY.maxDelayMs, Math.max(baseDelayMs, baseDelayMs * 20)),
    idleTimeoutMs: idle === undefined ? DEFAULT_RETRY.idleTimeoutMs : Math.max(1, idle * 1000),
  };
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EAI_AGAIN',
  'UND_ERR_SOCKET', 'ConnectionRefused', 'ConnectionClosed',
]);
const TRANSIENT_STATUS = new Set([408, 429, 502, 503, 504]);

/** Raised when a response stops sending data for longer than the idle timeout. */
export class StalledError extends Error {
  constructor(readonly afterMs: number) {
    super(`no data from the server for ${Math.round(afterMs / 1000)} s`);
    this.name = 'StalledError';
  }
}

/**
 * Whether an error is worth another try: a reset, refused or timed-out connection, a stalled
 * response, or a 408/429/502/503/504 from a proxy or a restarting server. A refusal (401, 404),
 * a bad hash, a full disk or an unknown host are not.
 */
export function isTransient(err: unknown): boolean {
  if (err instanceof StalledError) return true;
  if (err instanceof CliError) {
    const status = err.details.status;
    if (typeof status === 'number') return TRANSIENT_STATUS.has(status);
    if (err.details.reason !== 'unreachable') return false;
  }
  const code = errorCode(err);
  if (code) return TRANSIENT_CODES.has(code);
  const root = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  return root instanceof Error && (root.name === 'TimeoutError' || /socket connection was closed|connection reset|timed out/i.test(root.message));
}

/** A short description of a transient failure in our words (`the connection was reset`). */
export function describeTransient(err: unknown): string {
  if (err instanceof StalledError) return err.message;
  if (err instanceof CliError && typeof err.details.status === 'number') return `it answered ${err.details.status}`;
  const code = errorCode(err);
  if (code === 'ECONNREFUSED' || code === 'ConnectionRefused') return 'the connection was refused';
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ConnectionClosed' || code === 'UND_ERR_SOCKET') return 'the connection was dropped';
  if (code === 'ETIMEDOUT') return 'the connection timed out';
  if (code === 'EAI_AGAIN') return 'its name did not resolve';
  const root = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  if (root instanceof Error && (root.name === 'TimeoutError' || /timed out/i.test(root.message))) return 'the connection timed out';
  return 'the network failed';
}

/** The pause before try `attempt` (1-based): exponential, capped, full jitter. */
export function backoffDelay(attempt: number, policy: RetryPolicy, random = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt - 1, 20));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * Runs `fn` until it succeeds, fails for good, or keeps failing transiently for the budget.
 * `fn` reports progress through `madeProgress()`: a try that moved bytes restarts the clock,
 * so a flaky but working link finishes while a dead one gives up in bounded time.
 */
export async function withRetry<T>(
  policy: RetryPolicy,
  fn: (madeProgress: () => void) => Promise<T>,
  giveUp: (err: unknown, tries: number, elapsedMs: number) => Error,
  onRetry?: (err: unknown, tries: number, delayMs: number) => void,
): Promise<T> {
  let since = Date.now();
  let tries = 0;
  for (;;) {
    let progressed = false;
    try {
      return await fn(() => (progressed = true));
    } catch (err) {
      if (!isTransient(err)) throw err;
      tries++;
      if (progressed) (since = Date.now()), (tries = 1);
      const elapsed = Date.now() - since;
      const delay = Math.min(backoffDelay(tries, policy), Math.max(0, policy.budgetMs - elapsed));
      if (elapsed >= policy.budgetMs || delay <= 0) throw giveUp(err, tries, elapsed);
      onRetry?.(err, tries, delay);
      await Bun.sleep(delay);
    }
  }
}

/** The final message after retries: in our words, naming the server and what to try. */
export function unreachableError(server: string, what: string, err: unknown, tries: number, elapsedMs: number): CliError {
  const retried = tries > 1 ? ` (tried ${tries} times over ${Math.max(1, Math.round(elapsedMs / 1000))} s)` : '';
  return new CliError(
    `cannot reach ${server} to download ${what}: ${describeTransient(err)}${retried}; check that the server is up and your network works (da diagnose --component server), then run da sync again — it resumes where it stopped`,
    1,
    { reason: 'unreachable' },
    { cause: err },
  );
}
