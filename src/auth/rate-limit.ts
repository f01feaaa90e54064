import { RateLimitError } from '../errors.ts';

export interface RateLimiterOptions {
  /** Requests allowed per key per window. */
  limit: number;
  windowSeconds: number;
}

/** One counted request; `undo()` takes it back (e.g. a sign-in that turned out right). */
export interface Hit {
  undo(): void;
}

/**
 * A sliding-window counter per key, in memory (one process serves the instance).
 *
 * @example limiter.hit(`ip:${ip}`) // throws RateLimitError with Retry-After when over
 */
export function createRateLimiter({ limit, windowSeconds }: RateLimiterOptions) {
  const hits = new Map<string, number[]>();
  const windowMs = windowSeconds * 1000;
  let calls = 0;

  function prune(now: number) {
    for (const [key, times] of hits) {
      const fresh = times.filter((t) => t > now - windowMs);
      if (fresh.length) hits.set(key, fresh);
      else hits.delete(key);
    }
  }

  return {
    /** Counts one request for each key; throws (counting nothing) when any key is over its limit. */
    hit(...keys: string[]): Hit {
      const now = Date.now();
      if (++calls % 1000 === 0) prune(now);
      for (const key of keys) {
        const times = (hits.get(key) ?? []).filter((t) => t > now - windowMs);
        if (times.length >= limit) {
          const retryAfter = Math.max(1, Math.ceil((times[0]! + windowMs - now) / 1000));
          hits.set(key, times);
          throw new RateLimitError(`too many attempts; try again in ${retryAfter} s`, retryAfter);
        }
      }
      for (const key of keys) {
        const times = (hits.get(key) ?? []).filter((t) => t > now - windowMs);
        times.push(now);
        hits.set(key, times);
      }
      return {
        undo() {
          for (const key of keys) {
            const times = hits.get(key);
            const i = times?.lastIndexOf(now) ?? -1;
            if (i >= 0) times!.splice(i, 1);
          }
        },
      };
    },
    reset(): void {
      hits.clear();
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;

export interface BackoffOptions {
  /** Attempts per key per window that pass without delay. */
  free: number;
  windowSeconds: number;
  /** Delay before the first attempt over `free`; it doubles with each further attempt… */
  baseDelayMs: number;
  /** …up to this. */
  maxDelayMs: number;
}

/**
 * A per-key ceiling that slows down instead of locking: past `free` attempts in the window,
 * each attempt must wait a growing delay (base, 2·base, 4·base … max) after the previous
 * one. The delay stays until a whole window passes without attempts, so waiting out one
 * delay does not buy a fresh burst. One attempt is let through per delay, never none.
 */
export function createBackoff({ free, windowSeconds, baseDelayMs, maxDelayMs }: BackoffOptions) {
  const windowMs = windowSeconds * 1000;
  const state = new Map<string, { times: number[]; level: number; last: number }>();
  let calls = 0;

  function prune(now: number) {
    for (const [key, s] of state) {
      s.times = s.times.filter((t) => t > now - windowMs);
      if (!s.times.length) state.delete(key);
    }
  }

  return {
    /** Counts one attempt at `key`; throws RateLimitError (counting nothing) while it must wait. */
    hit(key: string): Hit {
      const now = Date.now();
      if (++calls % 1000 === 0) prune(now);
      const s = state.get(key) ?? { times: [], level: 0, last: 0 };
      s.times = s.times.filter((t) => t > now - windowMs);
      if (!s.times.length) s.level = 0;
      let raised = false;
      if (s.level > 0 || s.times.length >= free) {
        const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** s.level);
        const wait = s.last + delay - now;
        if (wait > 0) {
          state.set(key, s);
          const seconds = Math.max(1, Math.ceil(wait / 1000));
          throw new RateLimitError(`too many failed sign-ins for this account; try again in ${seconds} s`, seconds);
        }
        s.level++;
        raised = true;
      }
      s.times.push(now);
      s.last = now;
      state.set(key, s);
      return {
        undo() {
          const i = s.times.lastIndexOf(now);
          if (i >= 0) s.times.splice(i, 1);
          if (raised && s.level > 0) s.level--;
        },
      };
    },
  };
}

/** The sign-in limits of one server. */
export interface LoginLimits {
  /**
   * Counts one request from `ip` against the per-address limit; throws RateLimitError when
   * over. Cheap and body-free, so it runs before the request body is read or validated.
   */
  hitAddress(ip: string): void;
  /**
   * Counts one password attempt at `email` from `ip`: against the account-and-address
   * limit (hard) and the account's ceiling (growing delay). Throws RateLimitError when over.
   * Call `succeeded()` once the password proved right: a correct sign-in is not a guess.
   */
  attempt(ip: string, email: string): { succeeded(): void };
}

const loginLimitsOf = new WeakMap<object, LoginLimits>();

/**
 * The login limits shared by every sign-in door of a server (POST /auth/token, the web
 * form, setup, reset and the CLI code exchange), so that alternating between doors gains
 * no extra attempts. One per config object: test servers never share counters.
 *
 * Three limits, so that nobody can lock a user out from elsewhere:
 * - per client address (`login_ip_rate_limit` requests per window): one address cannot
 *   spray many accounts;
 * - per account and address (`login_rate_limit` wrong passwords per window): guessing at
 *   one account from one address stops hard, and only for that address;
 * - per account from all addresses (`login_account_limit` wrong passwords per window),
 *   after which attempts are spaced by a growing delay (`login_backoff_ms` doubling up to
 *   `login_backoff_max_ms`) instead of a lock: a distributed guess is slowed down, and the
 *   real user still gets through.
 */
export function loginLimits(auth: {
  login_rate_limit: number;
  login_ip_rate_limit: number;
  login_rate_window_seconds: number;
  login_account_limit: number;
  login_backoff_ms: number;
  login_backoff_max_ms: number;
}): LoginLimits {
  let limits = loginLimitsOf.get(auth);
  if (!limits) {
    const windowSeconds = auth.login_rate_window_seconds;
    const byIp = createRateLimiter({ limit: auth.login_ip_rate_limit, windowSeconds });
    const byPair = createRateLimiter({ limit: auth.login_rate_limit, windowSeconds });
    const byAccount = createBackoff({
      free: auth.login_account_limit,
      windowSeconds,
      baseDelayMs: auth.login_backoff_ms,
      maxDelayMs: auth.login_backoff_max_ms,
    });
    limits = {
      hitAddress(ip) {
        byIp.hit(ip);
      },
      attempt(ip, email) {
        const account = email.trim().toLowerCase();
        // JSON keys: no choice of email or address can make two different pairs collide.
        const pair = byPair.hit(JSON.stringify([account, ip]));
        let overall: Hit;
        try {
          overall = byAccount.hit(account);
        } catch (err) {
          pair.undo(); // refused before the password was tried: not a guess
          throw err;
        }
        return {
          succeeded() {
            pair.undo();
            overall.undo();
          },
        };
      },
    };
    loginLimitsOf.set(auth, limits);
  }
  return limits;
}
