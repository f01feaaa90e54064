import type { Role } from '../auth/roles.ts';

export interface User {
  id: string;
  email: string;
  name: string | null;
  role: Role;
  active: boolean;
  created_at: string;
  updated_at: string | null;
  last_login_at: string | null;
}

export interface UserWithSecret extends User {
  password_hash: string | null;
  /** Generation of the user's access tokens: only tokens signed under the current one are valid. */
  token_generation: number;
}

/** A user and the generation their access tokens must carry (for token verification). */
export interface UserAuthState {
  user: User;
  tokenGeneration: number;
}

/**
 * Users and their token generation. Changing a password or deactivating bumps the user's
 * token generation in the same transaction, so whatever path does either also ends every
 * access token signed before. Emails are stored in lower case and looked up without regard
 * to case.
 */
export interface UsersRepository {
  count(): Promise<number>;
  get(id: string): Promise<User | undefined>;
  /**
   * The user with their current token generation (a user never bumped has 0). Asked on every
   * authenticated request, so an implementation may cache it; any write must drop the entry,
   * and a read that overlapped a write must not cache what it read.
   */
  getAuthState(id: string): Promise<UserAuthState | undefined>;
  /** With the password hash: for checking a sign-in only. */
  findByEmailWithSecret(email: string): Promise<UserWithSecret | undefined>;
  findByEmail(email: string): Promise<User | undefined>;
  /** Ordered by email; active users only unless `includeInactive`. */
  list(opts?: { includeInactive?: boolean }): Promise<User[]>;
  /** Creates an active user (email lower-cased). */
  create(user: { id: string; email: string; name?: string | null; role: Role; passwordHash?: string | null }): Promise<User>;
  /**
   * Applies the given fields; returns the user (undefined when unknown). Deactivating
   * (active: false) also ends every access token of the user.
   */
  update(id: string, patch: { name?: string | null; role?: Role; active?: boolean }): Promise<User | undefined>;
  /**
   * Sets a new password hash and ends every access token signed before (their holder may
   * be whoever knew the old password). Returns the new token generation, for the token
   * that the caller may sign next.
   */
  setPassword(id: string, passwordHash: string): Promise<number>;
  recordLogin(id: string): Promise<void>;
}
