import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { AppEnv } from '../context.ts';
import { generateSecret } from '../auth/secrets.ts';
import { isHttpsRequest } from '../middleware/request.ts';

/** A one-time message a form post leaves for the page it redirects to (Post/Redirect/Get). */
export interface Flash {
  message: string;
  /** `ok` (default) or `error`. */
  kind?: 'ok' | 'error';
  /** A value shown once with the message (a new token's secret, a setup or reset link), never again. */
  secret?: { label: string; value: string };
  /** Further lines (e.g. the tables "register all" skipped). */
  details?: string[];
}

/** Cookie naming the waiting message; the message itself stays on the server. */
export const FLASH_COOKIE = 'da_flash';
const ID = /^[a-z2-7]{32}$/;

export interface FlashStore {
  /** Keeps `flash` for the next page this browser loads (as this signed-in user). */
  set(c: Context<AppEnv>, flash: Flash): void;
  /** The waiting message, once: taking it removes it. */
  take(c: Context<AppEnv>): Flash | undefined;
}

/**
 * One-time messages between a form post and the page after its redirect. The browser
 * holds only a random id (HttpOnly cookie); the message, which may carry a secret shown
 * once, stays in memory for `ttlMs` (one process serves every page), bound to the user
 * who posted, and is gone once read. The page router (src/web/router.ts) owns one store:
 * pages leave a message with `redirect(location, flash)`, and the layout shows it.
 */
export function createFlashStore({ trustProxy = false, ttlMs = 5 * 60_000, maxEntries = 10_000 } = {}): FlashStore {
  const waiting = new Map<string, { owner: string; flash: Flash; expires: number }>();

  const prune = () => {
    const now = Date.now();
    for (const [id, e] of waiting) if (e.expires <= now) waiting.delete(id);
    while (waiting.size >= maxEntries) waiting.delete(waiting.keys().next().value!);
  };

  return {
    set(c, flash) {
      const owner = c.get('user')?.id;
      if (!owner) return;
      prune();
      const id = generateSecret();
      waiting.set(id, { owner, flash, expires: Date.now() + ttlMs });
      setCookie(c, FLASH_COOKIE, id, {
        httpOnly: true, sameSite: 'Lax', path: '/', maxAge: Math.ceil(ttlMs / 1000), secure: isHttpsRequest(c, trustProxy),
      });
    },

    take(c) {
      const id = getCookie(c, FLASH_COOKIE);
      if (id === undefined) return undefined;
      deleteCookie(c, FLASH_COOKIE, { path: '/', secure: isHttpsRequest(c, trustProxy) });
      if (!ID.test(id)) return undefined;
      const entry = waiting.get(id);
      if (!entry) return undefined;
      waiting.delete(id);
      if (entry.expires <= Date.now() || entry.owner !== c.get('user')?.id) return undefined;
      return entry.flash;
    },
  };
}
