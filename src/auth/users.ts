import type { AppDeps } from '../context.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors.ts';
import type { DatasetPermission } from '../repositories/permissions.ts';
import type { User } from '../repositories/users.ts';
import { hasRole, mayManageUser, ROLES, type Role } from './roles.ts';
import { createUser, issueOneTimeToken, type NewUser } from './service.ts';

/**
 * Managing accounts: the rules of who may do what to whom, in one place. The API routes
 * (src/api/users.ts) and the admin pages (src/web/admin/) call these, so both give the
 * same refusals (ForbiddenError, ConflictError, NotFoundError) for the same attempt.
 */

/** Who is acting: the signed-in caller. */
export interface Actor {
  id: string;
  role: Role;
}

export interface UserPatch {
  name?: string | null;
  role?: Role;
  active?: boolean;
}

/** The user, or NotFoundError. */
export async function getUserOrFail(deps: AppDeps, id: string): Promise<User> {
  const user = await deps.repos.users.get(id);
  if (!user) throw new NotFoundError(`user ${id} not found`);
  return user;
}

/** The roles `actor` may hand out: their own and those below it. */
export function assignableRoles(actor: Actor): Role[] {
  return ROLES.filter((r) => hasRole(actor.role, r));
}

/** Creates a user with a role no higher than the actor's (with a password, or a setup token returned once). */
export async function createUserAs(deps: AppDeps, actor: Actor, input: NewUser): Promise<{ user: User; setup_token?: string }> {
  if (!hasRole(actor.role, input.role)) throw new ForbiddenError(`you cannot create a user with a role above your own (${actor.role})`);
  return createUser(deps, input);
}

/**
 * Changes name, role or active flag of a user the actor may manage (mayManageUser), never
 * to a role above the actor's, and never so that the actor deactivates themselves or loses
 * their own admin role. Deactivating ends the user's sessions and personal access tokens.
 */
export async function updateUserAs(deps: AppDeps, actor: Actor, id: string, patch: UserPatch): Promise<User> {
  const target = await getUserOrFail(deps, id);
  if (!mayManageUser(actor, target)) throw new ForbiddenError(`only a km_admin can change a user whose role is ${target.role}; you are ${actor.role}`);
  if (patch.role && !hasRole(actor.role, patch.role)) throw new ForbiddenError(`you cannot grant a role above your own (${actor.role})`);
  if (id === actor.id && (patch.active === false || (patch.role && !hasRole(patch.role, 'admin')))) {
    throw new ConflictError('you cannot deactivate yourself or take away your own admin role');
  }
  const updated = await deps.repos.users.update(id, patch);
  if (patch.active === false) await deps.repos.tokens.revokeAllPatsOf(id);
  return updated!;
}

/** Deactivates a user the actor may manage (not themselves); history is kept, sessions and tokens end. */
export async function deactivateUserAs(deps: AppDeps, actor: Actor, id: string): Promise<void> {
  const target = await getUserOrFail(deps, id);
  if (id === actor.id) throw new ConflictError('you cannot deactivate yourself');
  if (!mayManageUser(actor, target)) throw new ForbiddenError(`only a km_admin can deactivate a user whose role is ${target.role}; you are ${actor.role}`);
  await deps.repos.users.update(id, { active: false });
  await deps.repos.tokens.revokeAllPatsOf(id);
}

/**
 * Issues a single-use password reset token (returned once) for a user the actor may
 * manage. A reset token sets the password: issuing one is taking over the account.
 */
export async function issueResetTokenAs(deps: AppDeps, actor: Actor, id: string): Promise<{ token: string; expires_in: number }> {
  const target = await getUserOrFail(deps, id);
  if (!mayManageUser(actor, target)) {
    throw new ForbiddenError(`only a km_admin (or the user themselves) can reset the password of a user whose role is ${target.role}; you are ${actor.role}`);
  }
  const token = await issueOneTimeToken(deps, id, 'reset');
  return { token, expires_in: deps.config.auth.setup_token_ttl_seconds };
}

/** A user's dataset grants and denials. */
export async function listDatasetPermissions(deps: AppDeps, userId: string): Promise<DatasetPermission[]> {
  await getUserOrFail(deps, userId);
  return deps.repos.permissions.listForUser(userId);
}

/** Grants (`read`) or denies (`none`, hides even a public dataset) a dataset to a user. */
export async function setDatasetPermission(
  deps: AppDeps, actor: Actor, userId: string, dataset: string, access: 'read' | 'none',
): Promise<DatasetPermission> {
  await getUserOrFail(deps, userId);
  await deps.repos.permissions.set(userId, dataset, access, actor.id);
  return (await deps.repos.permissions.listForUser(userId)).find((p) => p.dataset === dataset)!;
}

/** Removes a grant or denial: the user is back to the default (public datasets only). */
export async function removeDatasetPermission(deps: AppDeps, userId: string, dataset: string): Promise<void> {
  await getUserOrFail(deps, userId);
  await deps.repos.permissions.remove(userId, dataset);
}
