import { sha256 } from '@oslojs/crypto/sha2';
import { encodeBase32LowerCaseNoPadding, encodeHexLowerCase } from '@oslojs/encoding';

/** A random, URL-safe secret with 160 bits of entropy, optionally prefixed (`dapat_…`). */
export function generateSecret(prefix = ''): string {
  const bytes = new Uint8Array(20);
  crypto.getRandomValues(bytes);
  return prefix + encodeBase32LowerCaseNoPadding(bytes);
}

/** The stored form of a secret: hex sha256. Secrets are high-entropy, so no salt is needed. */
export function hashSecret(secret: string): string {
  return encodeHexLowerCase(sha256(new TextEncoder().encode(secret)));
}

/** A random id for rows (time-ordered prefix so ids sort by creation). */
export function newId(): string {
  const t = Date.now().toString(36).padStart(9, '0');
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return t + encodeHexLowerCase(bytes);
}
