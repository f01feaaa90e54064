/** Roles in rising order; each holds every right of the ones before it. */
export const ROLES = ['viewer', 'analyst', 'admin', 'km_admin'] as const;
export type Role = (typeof ROLES)[number];

/** True when `role` is `required` or above. */
export function hasRole(role: Role, required: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(required);
}

/** Admins and above see every dataset; everyone else needs public datasets or grants. */
export function seesAllDatasets(role: Role): boolean {
  return hasRole(role, 'admin');
}

/**
 * True when `actor` may manage `target`'s account (change it, deactivate it, issue it a
 * password reset token): their own account; any account for km_admin; else only accounts
 * whose role is below the actor's. An equal role is not enough: an admin who could reset
 * another admin's password (or demote them first, then reset it) could take the account over.
 */
export function mayManageUser(actor: { id: string; role: Role }, target: { id: string; role: Role }): boolean {
  if (actor.id === target.id || actor.role === 'km_admin') return true;
  return ROLES.indexOf(actor.role) > ROLES.indexOf(target.role);
}
