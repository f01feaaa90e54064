import type { AuthUser } from '../context.ts';
import { hasRole } from '../auth/roles.ts';
import type { DatasetAccess } from '../auth/datasets.ts';
import type { Audience } from '../repositories/memory.ts';

/**
 * Whether an item with this audience reaches `user`. null is everyone. `roles` and `users`
 * name who it is for (a role counts for every role above it; a user by id or email): a
 * reader must be one of them when either list is given. `datasets` narrows further: a
 * reader must be allowed to read every dataset listed, as the catalog decides
 * (`access`, from the AccessCache), so an item about `hr` never reaches someone who may not
 * read `hr`.
 */
export function inAudience(audience: Audience | null, user: Pick<AuthUser, 'id' | 'email' | 'role'>, access: DatasetAccess): boolean {
  if (!audience) return true;
  const roles = audience.roles ?? [];
  const users = audience.users ?? [];
  if (roles.length || users.length) {
    const named = roles.some((r) => hasRole(user.role, r)) || users.some((u) => u === user.id || u.toLowerCase() === user.email.toLowerCase());
    if (!named) return false;
  }
  return (audience.datasets ?? []).every((d) => access.canRead(d));
}

/** An audience with its lists de-duplicated and sorted, and empty lists dropped; null when nothing is left. */
export function normaliseAudience(audience: Audience | null | undefined): Audience | null {
  if (!audience) return null;
  const out: Audience = {};
  if (audience.roles?.length) out.roles = [...new Set(audience.roles)].sort();
  if (audience.users?.length) out.users = [...new Set(audience.users)].sort();
  if (audience.datasets?.length) out.datasets = [...new Set(audience.datasets)].sort();
  return Object.keys(out).length ? out : null;
}

/** The audience in a few words, for pages and the digest. */
export function describeAudience(audience: Audience | null): string {
  if (!audience) return 'everyone';
  const parts: string[] = [];
  if (audience.roles?.length) parts.push(`roles ${audience.roles.join(', ')}`);
  if (audience.users?.length) parts.push(`users ${audience.users.join(', ')}`);
  if (audience.datasets?.length) parts.push(`readers of ${audience.datasets.join(', ')}`);
  return parts.join('; ');
}
