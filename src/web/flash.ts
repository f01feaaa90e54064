import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { AppEnv } from '../context.ts';
import { generateSecret } from '../auth/secrets.ts';
import { isHttpsRequest } from '../middleware/request.ts';

/** A one-time message shown on the page a form post redirects to. */
export interface FlashMessage {
  kind: 'ok' | 'error';
  text: string;
  /** A value shown this once and never again (a setup or reset link). */
  secret?: { label: string; value: string };
  /** Further lines (e.g. tables skipped by "register all"). */
  details?: string[];
}

/** Cookie naming the waiting message; the message itself stays on the server. */
export const FLASH_COOKIE = 'da_flash';
const TTL_MS = 5 * 60_000;
const MAX_WAITING = 10_000;
const ID = /^[a-z2-7]{32}$/;

interface Waiting {
  /** Only the user who posted the form reads it. */
  owner: string;
  message: FlashMessage;
  expires: number;
}

const waiting = new Map<string, Waiting>();

function sweep(now: number) {
  for (const [id, w] of waiting) if (w.expires <= now) waiting.delete(id);
  while (waiting.size >= MAX_WAITING) waiting.delete(waiting.keys().next().value!);
}

/**
 * Post/Redirect/Get with a one-time message: answers 303 to `location` and keeps `message`
 * for the next page this session renders (takeFlash). The message stays on the server
 * (one process serves every page), so a secret in it never sits in a cookie, and it is
 * gone once shown, or after five minutes.
 */
export function redirectWithFlash(c: Context<AppEnv>, location: string, message: FlashMessage, trustProxy: boolean): Response {
  const owner = c.get('user')?.id;
  if (owner) {
    const now = Date.now();
    sweep(now);
    const id = generateSecret();
    waiting.set(id, { owner, message, expires: now + TTL_MS });
    setCookie(c, FLASH_COOKIE, id, {
      httpOnly: true, sameSite: 'Lax', path: '/', maxAge: TTL_MS / 1000, secure: isHttpsRequest(c, trustProxy),
    });
  }
  return c.redirect(location, 303);
}

/** The message waiting for this session, once: it is forgotten as it is read. */
export function takeFlash(c: Context<AppEnv>): FlashMessage | undefined {
  const id = getCookie(c, FLASH_COOKIE);
  if (!id) return undefined;
  deleteCookie(c, FLASH_COOKIE, { path: '/' });
  if (!ID.test(id)) return undefined;
  const w = waiting.get(id);
  if (!w || w.owner !== c.get('user')?.id) return undefined;
  waiting.delete(id);
  return w.expires > Date.now() ? w.message : undefined;
}
