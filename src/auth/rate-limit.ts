import { RateLimitError } from '../errors.ts';

export interface RateLimiterOptions {
  /** Requests allowed per key per window. */
  limit: number;
  windowSeconds: number;
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
    /** Counts one request for each key; throws when any key is over its limit. */
    hit(...keys: string[]): void {
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
    },
    reset(): void {
      hits.clear();
    },
  };
}

export type RateLimiter = ReturnType<typeof createRateLimiter>;

/** The sign-in limits of one server: per client address and per account. */
export interface LoginLimits {
  /** Counts one attempt from `ip` (and at `email`, when given); throws RateLimitError when over. */
  hit(ip: string, email?: string): void;
}

const loginLimitsOf = new WeakMap<object, LoginLimits>();

/**
 * The login limits shared by every sign-in door of a server (POST /auth/token, the web
 * form, setup and reset), so that alternating between doors gains no extra attempts.
 * One per config object: test servers never share counters.
 */
export function loginLimits(auth: {
  login_rate_limit: number;
  login_ip_rate_limit: number;
  login_rate_window_seconds: number;
}): LoginLimits {
  let limits = loginLimitsOf.get(auth);
  if (!limits) {
    const windowSeconds = auth.login_rate_window_seconds;
    const byIp = createRateLimiter({ limit: auth.login_ip_rate_limit, windowSeconds });
    const byAccount = createRateLimiter({ limit: auth.login_rate_limit, windowSeconds });
    limits = {
      hit(ip, email) {
        byIp.hit(ip);
        if (email !== undefined) byAccount.hit(email.trim().toLowerCase());
      },
    };
    loginLimitsOf.set(auth, limits);
  }
  return limits;
}
