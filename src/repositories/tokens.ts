export interface PersonalAccessToken {
  id: string;
  user_id: string;
  name: string;
  prefix: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

export type OneTimeKind = 'setup' | 'reset' | 'magic_link';

/**
 * Token state: personal access tokens, one-time tokens (setup, reset, magic link), browser
 * sign-in codes for `da login`, and revoked JWT ids. Only hashes of secrets are stored.
 */
export interface TokensRepository {
  createPat(pat: { id: string; userId: string; name: string; tokenHash: string; prefix: string; expiresAt?: Date | null }): Promise<PersonalAccessToken>;
  getPat(id: string): Promise<PersonalAccessToken | undefined>;
  /** Newest first, revoked and expired ones included. */
  listPats(userId: string): Promise<PersonalAccessToken[]>;
  /**
   * The active (unrevoked, unexpired) token with this hash. Asked on every request `da`
   * makes, so an implementation may cache it; a revocation must take effect at once.
   */
  findActivePatByHash(tokenHash: string): Promise<PersonalAccessToken | undefined>;
  /** Revokes one token (a token already revoked keeps its first revocation time). */
  revokePat(id: string): Promise<void>;
  revokeAllPatsOf(userId: string): Promise<void>;
  /** Records a token's last use; may write at most once a minute per token (not on every request). */
  touchPat(id: string): Promise<void>;
  createOneTime(t: { tokenHash: string; kind: OneTimeKind; userId: string; expiresAt: Date }): Promise<void>;
  /**
   * Marks a one-time token used and returns its user, or undefined when it is unknown,
   * expired, already used or of another kind. Check and use happen in one write, so
   * two concurrent uses cannot both succeed.
   */
  consumeOneTime(tokenHash: string, kind: OneTimeKind): Promise<string | undefined>;
  /**
   * True when a one-time token of this kind is known, unused and unexpired; nothing is
   * changed (a page checks its link before showing the form that uses it).
   */
  isOneTimeUsable(tokenHash: string, kind: OneTimeKind): Promise<boolean>;
  createCliCode(c: { codeHash: string; userId: string; tokenName: string; challenge: string; expiresAt: Date }): Promise<void>;
  /**
   * Uses a browser sign-in code once: returns its user and token name when the code is
   * known, unexpired, unused and `challenge` matches; marks it used in the same write.
   */
  consumeCliCode(codeHash: string, challenge: string): Promise<{ user_id: string; token_name: string } | undefined>;
  /** Revokes a JWT id until `expiresAt` (the token's own expiry: after it the token is refused anyway). */
  revokeJwt(jti: string, expiresAt: Date): Promise<void>;
  /** Asked on every JWT-authenticated request: an implementation should answer from memory. */
  isJwtRevoked(jti: string): Promise<boolean>;
  /**
   * Drops expired revocations, one-time tokens expired over 30 days ago and sign-in codes
   * expired over a day ago (retention job).
   */
  purgeExpired(): Promise<void>;
}
