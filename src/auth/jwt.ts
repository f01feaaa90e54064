import { hmac } from '@oslojs/crypto/hmac';
import { constantTimeEqual } from '@oslojs/crypto/subtle';
import { SHA256 } from '@oslojs/crypto/sha2';
import {
  createJWTSignatureMessage,
  encodeJWT,
  joseAlgorithmHS256,
  JWSRegisteredHeaders,
  JWTRegisteredClaims,
  parseJWT,
} from '@oslojs/jwt';
import type { Role } from './roles.ts';
import { newId } from './secrets.ts';

export interface AccessClaims {
  sub: string;
  email: string;
  role: Role;
  jti: string;
  iat: number;
  nbf: number;
  exp: number;
  /** The user's token generation when signed; absent in tokens from before it existed (= 0). */
  gen?: number;
  /** Web session id: the same in every token of one browser session (sign-out revokes it). */
  sid?: string;
  /** When that session began, in seconds (its absolute expiry counts from here). */
  sat?: number;
}

/** The web session a token belongs to (session cookies only). */
export interface SessionClaims {
  sid: string;
  sat: number;
}

const encoder = new TextEncoder();

/** Signs an HS256 access token for a user (under their current token generation, 0 when not given). */
export function signAccessToken(
  key: Uint8Array,
  user: { id: string; email: string; role: Role; token_generation?: number },
  ttlSeconds: number,
  now = Date.now(),
  session?: SessionClaims,
): { token: string; claims: AccessClaims } {
  const iat = Math.floor(now / 1000);
  const claims: AccessClaims = {
    sub: user.id, email: user.email, role: user.role, jti: newId(), iat, nbf: iat, exp: iat + ttlSeconds, gen: user.token_generation ?? 0,
    ...session,
  };
  const header = JSON.stringify({ alg: joseAlgorithmHS256, typ: 'JWT' });
  const payload = JSON.stringify(claims);
  const signature = hmac(SHA256, key, createJWTSignatureMessage(header, payload));
  return { token: encodeJWT(header, payload, signature), claims };
}

/**
 * Verifies an access token: structure, `alg` exactly HS256, signature, `exp` and `nbf`
 * (with a small clock-skew allowance), presence of `sub` and `jti`. Returns the claims or
 * null; never throws on bad input.
 */
/** Clock skew tolerated on `exp` and `nbf`, in seconds. */
export const CLOCK_SKEW_SECONDS = 30;

export function verifyAccessToken(key: Uint8Array, token: string, skewSeconds = CLOCK_SKEW_SECONDS): AccessClaims | null {
  let header: object, payload: object, signature: Uint8Array, message: Uint8Array;
  try {
    [header, payload, signature, message] = parseJWT(token);
  } catch {
    return null;
  }
  const headers = new JWSRegisteredHeaders(header);
  if (!headers.hasAlgorithm() || headers.algorithm() !== joseAlgorithmHS256) return null;
  if (!constantTimeEqual(hmac(SHA256, key, message), signature)) return null;
  const claims = new JWTRegisteredClaims(payload);
  const now = Date.now();
  try {
    if (!claims.hasExpiration() || claims.expiration().getTime() + skewSeconds * 1000 <= now) return null;
    if (!claims.hasNotBefore() || claims.notBefore().getTime() - skewSeconds * 1000 > now) return null;
    if (!claims.hasSubject() || !claims.hasJWTId()) return null;
  } catch {
    return null;
  }
  const p = payload as AccessClaims;
  if (typeof p.role !== 'string' || typeof p.email !== 'string') return null;
  if (p.gen !== undefined && !(Number.isSafeInteger(p.gen) && p.gen >= 0)) return null;
  if (p.sid !== undefined && (typeof p.sid !== 'string' || !Number.isSafeInteger(p.sat))) return null;
  return p;
}

/** The signing key as bytes. */
export function signingKey(secret: string): Uint8Array {
  return encoder.encode(secret);
}
