import type { Client } from './client.ts';
import { CliError } from './errors.ts';

/** A user as the admin API returns it. */
export interface AdminUser {
  id: string;
  email: string;
  name: string | null;
  role: string;
  active: boolean;
  created_at: string;
  last_login_at: string | null;
}

/** Finds a user by email (case-insensitive) or id, including deactivated ones. */
export async function findUser(client: Client, who: string): Promise<AdminUser> {
  const { items } = await client.get<{ items: AdminUser[] }>('/api/users', { query: { include_inactive: 'true' } });
  const hit = items.find((u) => u.id === who || u.email.toLowerCase() === who.toLowerCase());
  if (!hit) throw new CliError(`no user ${who}`);
  return hit;
}

/** The roles, lowest first. */
export const ROLE_NAMES = ['viewer', 'analyst', 'admin', 'km_admin'] as const;
