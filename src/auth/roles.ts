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
