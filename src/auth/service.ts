import type { AppDeps, AuthUser } from '../context.ts';
import { ConflictError, ForbiddenError, NotFoundError, UnauthorizedError, ValidationError } from '../errors.ts';
import type { User } from '../repositories/users.ts';
import type { OneTimeKind } from '../repositories/tokens.ts';
import { signAccessToken } from './jwt.ts';
import { PAT_PREFIX } from './middleware.ts';
import { decoyHash, hashPassword, verifyPassword } from './passwords.ts';
import { loginLimits } from './rate-limit.ts';
import type { Role } from './roles.ts';
import { generateSecret, hashSecret, newId } from './secrets.ts';
import { revokeWebSession } from './web-session.ts';

export interface IssuedToken {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
  user: { id: string; email: string; role: Role; name: string | null };
}

/** A user whose password was just checked, with the token generation read together with it. */
export type SignedInUser = User & { token_generation: number };

/**
 * Checks email + password; one answer for every kind of failure. The token generation
 * comes from the same read as the password hash, so a token signed for this sign-in is
 * ended by a password change that lands while it is being checked.
 */
export async function verifyLogin(deps: AppDeps, email: string, password: string): Promise<SignedInUser> {
  const user = await deps.repos.users.findByEmailWithSecret(email);
  if (!user?.password_hash) {
    await verifyPassword(password, await decoyHash(deps.config.auth.password_hash));
    throw new UnauthorizedError('invalid email or password');
  }
  const ok = await verifyPassword(password, user.password_hash);
  if (!ok || !user.active) throw new UnauthorizedError('invalid email or password');
  const { password_hash: _, ...rest } = user;
  return rest;
}

/** Signs an access token for a user (under the token generation given) and records the login. */
export async function issueToken(deps: AppDeps, user: SignedInUser): Promise<IssuedToken> {
  const ttl = deps.config.auth.token_ttl_seconds;
  const { token } = signAccessToken(deps.key, user, ttl);
  await deps.repos.users.recordLogin(user.id);
  return {
    access_token: token,
    token_type: 'bearer',
    expires_in: ttl,
    user: { id: user.id, email: user.email, role: user.role, name: user.name },
  };
}

/**
 * Ends the credential the caller used: a JWT's id is revoked, a PAT is revoked, and a web
 * session's id is revoked (ending every token its cookie was renewed with).
 */
export async function logout(deps: AppDeps, caller: AuthUser): Promise<void> {
  if (caller.patId) await deps.repos.tokens.revokePat(caller.patId);
  else if (caller.jti && caller.exp) await deps.repos.tokens.revokeJwt(caller.jti, new Date(caller.exp * 1000));
  if (caller.session) await revokeWebSession(deps, caller.session);
}

export interface NewUser {
  email: string;
  name?: string | null;
  role: Role;
  password?: string;
  /** Without a password, issue a setup token (default); false for users who sign in otherwise (Google). */
  setupToken?: boolean;
}

/**
 * Creates a user. Without a password, a single-use setup token is issued and returned
 * once (the caller hands it to the user, who sets a password with POST /auth/setup).
 */
export async function createUser(deps: AppDeps, input: NewUser): Promise<{ user: User; setup_token?: string }> {
  const email = input.email.trim().toLowerCase();
  if (await deps.repos.users.findByEmail(email)) throw new ConflictError(`a user with email ${email} already exists`);
  const id = newId();
  const passwordHash = input.password ? await hashPassword(input.password, deps.config.auth.password_hash) : null;
  let user: User;
  try {
    user = await deps.repos.users.create({ id, email, name: input.name ?? null, role: input.role, passwordHash });
  } catch (err) {
    if (/unique|primary key|duplicate/i.test(String(err))) throw new ConflictError(`a user with email ${email} already exists`);
    throw err;
  }
  if (input.password || input.setupToken === false) return { user };
  return { user, setup_token: await issueOneTimeToken(deps, user.id, 'setup') };
}

/** Issues a setup/reset/magic-link token for a user; only its hash is stored. */
export async function issueOneTimeToken(deps: AppDeps, userId: string, kind: OneTimeKind, ttlSeconds?: number): Promise<string> {
  const token = generateSecret(`da${kind[0]}_`);
  const ttl = ttlSeconds ?? deps.config.auth.setup_token_ttl_seconds;
  await deps.repos.tokens.createOneTime({ tokenHash: hashSecret(token), kind, userId, expiresAt: new Date(Date.now() + ttl * 1000) });
  return token;
}

/**
 * Uses a one-time token (single use, expiring, of this kind) and returns the active user it
 * was issued for, with their token generation; undefined when the token is unknown,
 * expired, used, or its user is deactivated. The token is used up either way.
 */
export async function redeemOneTimeToken(deps: AppDeps, token: string, kind: OneTimeKind): Promise<SignedInUser | undefined> {
  const userId = await deps.repos.tokens.consumeOneTime(hashSecret(token), kind);
  if (!userId) return undefined;
  const state = await deps.repos.users.getAuthState(userId);
  if (!state?.user.active) return undefined;
  return { ...state.user, token_generation: state.tokenGeneration };
}

/** True while a one-time token could still be used (a page checks its link before showing the form). */
export async function isOneTimeTokenUsable(deps: AppDeps, token: string, kind: OneTimeKind): Promise<boolean> {
  return deps.repos.tokens.isOneTimeUsable(hashSecret(token), kind);
}

/**
 * Sets a password with a setup or reset token (single use, expiring) and returns the user,
 * ready to be signed in; undefined when the token cannot be used.
 */
export async function usePasswordToken(deps: AppDeps, token: string, kind: 'setup' | 'reset', password: string): Promise<SignedInUser | undefined> {
  const user = await redeemOneTimeToken(deps, token, kind);
  if (!user) return undefined;
  // Setting a password ends every access token and web session signed before (the users
  // repository bumps the token generation); only what is signed under the new one is valid.
  const tokenGeneration = await deps.repos.users.setPassword(user.id, await hashPassword(password, deps.config.auth.password_hash));
  // A reset ends every personal access token too: whoever knew the old password may hold one.
  if (kind === 'reset') await deps.repos.tokens.revokeAllPatsOf(user.id);
  return { ...user, token_generation: tokenGeneration };
}

/** Sets a password with a setup or reset token (single use, expiring), then signs the user in. */
export async function setPasswordWithToken(deps: AppDeps, token: string, kind: 'setup' | 'reset', password: string): Promise<IssuedToken> {
  const user = await usePasswordToken(deps, token, kind, password);
  if (!user) throw new UnauthorizedError(`${kind} token is invalid, expired or already used`);
  return issueToken(deps, user);
}

/** Shortest password a user may choose (as POST /auth/setup and /auth/reset require). */
export const MIN_PASSWORD_LENGTH = 8;

/**
 * Changes the caller's own password after checking the current one (counted like a
 * sign-in attempt, so a stolen session cannot guess it freely). Every access token and
 * web session signed before ends; the user returned, with the new token generation, is
 * ready to be signed in again (a new token, a new web session). Personal access tokens
 * stay (revoke them one by one). A wrong current password is a ValidationError on
 * `current_password`; with `auth.password` off, passwords cannot be changed (Forbidden).
 */
export async function changePassword(
  deps: AppDeps,
  caller: AuthUser,
  input: { current_password: string; new_password: string },
  clientIp: string,
): Promise<SignedInUser> {
  if (!deps.config.auth.password) throw new ForbiddenError('password sign-in is turned off on this server');
  const attempt = loginLimits(deps.config.auth).attempt(clientIp, caller.email);
  const found = await deps.repos.users.findByEmailWithSecret(caller.email);
  if (!found || found.id !== caller.id || !found.active) throw new UnauthorizedError('sign in again');
  if (!found.password_hash) {
    throw new ValidationError('this account has no password yet', [
      { path: 'current_password', message: 'Your account has no password yet: ask an administrator for a password reset link.' },
    ]);
  }
  if (!(await verifyPassword(input.current_password, found.password_hash))) {
    throw new ValidationError('the current password is wrong', [{ path: 'current_password', message: 'This is not your current password.' }]);
  }
  attempt.succeeded();
  if (input.new_password.length < MIN_PASSWORD_LENGTH) {
    throw new ValidationError('the new password is too short', [
      { path: 'new_password', message: `Use at least ${MIN_PASSWORD_LENGTH} characters.` },
    ]);
  }
  if (input.new_password === input.current_password) {
    throw new ValidationError('the new password is the current one', [{ path: 'new_password', message: 'Choose a password different from the current one.' }]);
  }
  const { password_hash: _, ...user } = found;
  const tokenGeneration = await deps.repos.users.setPassword(user.id, await hashPassword(input.new_password, deps.config.auth.password_hash));
  return { ...user, token_generation: tokenGeneration };
}

/** Changes the caller's own display name (blank: none). */
export async function updateOwnProfile(deps: AppDeps, caller: AuthUser, input: { name: string | null }): Promise<User> {
  const name = input.name?.trim() || null;
  const updated = await deps.repos.users.update(caller.id, { name });
  if (!updated) throw new NotFoundError(`user ${caller.id} not found`);
  return updated;
}

/** Creates a personal access token; the secret is returned once and stored hashed. */
export async function createPersonalAccessToken(deps: AppDeps, userId: string, name: string, expiresInDays?: number) {
  const token = generateSecret(PAT_PREFIX);
  const expiresAt = expiresInDays ? new Date(Date.now() + expiresInDays * 86400_000) : null;
  const pat = await deps.repos.tokens.createPat({
    id: newId(), userId, name, tokenHash: hashSecret(token), prefix: token.slice(0, PAT_PREFIX.length + 4), expiresAt,
  });
  return { ...pat, token };
}

/** PKCE S256: base64url(sha256(verifier)). */
export function pkceChallenge(verifier: string): string {
  return new Bun.CryptoHasher('sha256').update(verifier).digest('base64url');
}

/**
 * Issues the short-lived, single-use code that the browser carries to `da login` (a URL
 * that lands in browser history), bound to the CLI's PKCE challenge.
 */
export async function issueCliCode(deps: AppDeps, userId: string, tokenName: string, challenge: string): Promise<string> {
  const code = generateSecret('dac_');
  await deps.repos.tokens.createCliCode({
    codeHash: hashSecret(code), userId, tokenName, challenge, expiresAt: new Date(Date.now() + CLI_CODE_TTL_MS),
  });
  return code;
}

const CLI_CODE_TTL_MS = 2 * 60_000;

/** Trades a browser sign-in code and its PKCE verifier for a personal access token. */
export async function exchangeCliCode(deps: AppDeps, code: string, verifier: string) {
  const used = await deps.repos.tokens.consumeCliCode(hashSecret(code), pkceChallenge(verifier));
  if (!used) throw new UnauthorizedError('sign-in code is invalid, expired, already used, or not for this verifier');
  const user = await deps.repos.users.get(used.user_id);
  if (!user?.active) throw new UnauthorizedError('sign-in code is invalid, expired, already used, or not for this verifier');
  return createPersonalAccessToken(deps, user.id, used.token_name);
}

/** Revokes one of a user's tokens; someone else's token is "not found". */
export async function revokePersonalAccessToken(deps: AppDeps, userId: string, id: string): Promise<void> {
  const pat = await deps.repos.tokens.getPat(id);
  if (!pat || pat.user_id !== userId) throw new NotFoundError(`token ${id} not found`);
  await deps.repos.tokens.revokePat(id);
}

/**
 * On first start with no users, creates the admin named by DA_ADMIN_EMAIL/DA_ADMIN_PASSWORD,
 * with the top role (km_admin) so that every role can be handed out from there.
 */
export async function ensureFirstAdmin(deps: AppDeps): Promise<User | undefined> {
  const { admin_email, admin_password } = deps.config.auth;
  if (!admin_email || (await deps.repos.users.count()) > 0) return undefined;
  if (!admin_password) {
    throw new ValidationError('DA_ADMIN_EMAIL is set but DA_ADMIN_PASSWORD is not; set both to create the first admin');
  }
  const { user } = await createUser(deps, { email: admin_email, name: 'Administrator', role: 'km_admin', password: admin_password });
  deps.logger.info('first admin created', { email: user.email });
  return user;
}
