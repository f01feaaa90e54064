import type { SystemDb } from '../db/system.ts';
import { toIso } from '../db/connection.ts';
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
}

const COLUMNS = `id, email, name, role, active, created_at, updated_at, last_login_at`;

function toUser(row: Record<string, unknown>): UserWithSecret {
  return {
    id: String(row.id),
    email: String(row.email),
    name: (row.name as string | null) ?? null,
    role: row.role as Role,
    active: Boolean(row.active),
    created_at: toIso(row.created_at)!,
    updated_at: toIso(row.updated_at),
    last_login_at: toIso(row.last_login_at),
    password_hash: (row.password_hash as string | null | undefined) ?? null,
  };
}

function withoutSecret({ password_hash: _, ...user }: UserWithSecret): User {
  return user;
}

/** Users: the only place that knows the users table. Reads by id are cached in memory. */
export function createUsersRepository(db: SystemDb) {
  const byId = new Map<string, User>();
  // Bumped after every write: a read that began before it may hold the old row and must not cache it.
  let generation = 0;
  const forget = (id: string) => {
    generation++;
    byId.delete(id);
  };

  return {
    async count(): Promise<number> {
      const row = await db.read((q) => q.one<{ n: string }>(`SELECT count(*) AS n FROM users`));
      return Number(row?.n ?? 0);
    },

    async get(id: string): Promise<User | undefined> {
      const cached = byId.get(id);
      if (cached) return cached;
      const seen = generation;
      const row = await db.read((q) => q.one(`SELECT ${COLUMNS} FROM users WHERE id = ?`, [id]));
      if (!row) return undefined;
      const user = withoutSecret(toUser(row));
      if (seen === generation) byId.set(id, user);
      return user;
    },

    async findByEmailWithSecret(email: string): Promise<UserWithSecret | undefined> {
      const row = await db.read((q) =>
        q.one(`SELECT ${COLUMNS}, password_hash FROM users WHERE lower(email) = lower(?)`, [email]),
      );
      return row ? toUser(row) : undefined;
    },

    async findByEmail(email: string): Promise<User | undefined> {
      const u = await this.findByEmailWithSecret(email);
      return u ? withoutSecret(u) : undefined;
    },

    async list(opts: { includeInactive?: boolean } = {}): Promise<User[]> {
      const rows = await db.read((q) =>
        q.all(
          `SELECT ${COLUMNS} FROM users ${opts.includeInactive ? '' : 'WHERE active'} ORDER BY email`,
        ),
      );
      return rows.map((r) => withoutSecret(toUser(r)));
    },

    async create(user: { id: string; email: string; name?: string | null; role: Role; passwordHash?: string | null }): Promise<User> {
      await db.write((q) =>
        q.run(
          `INSERT INTO users (id, email, name, role, password_hash, active, created_at) VALUES (?, ?, ?, ?, ?, true, current_timestamp)`,
          [user.id, user.email.toLowerCase(), user.name ?? null, user.role, user.passwordHash ?? null],
        ),
      );
      return (await this.get(user.id))!;
    },

    async update(id: string, patch: { name?: string | null; role?: Role; active?: boolean }): Promise<User | undefined> {
      const sets: string[] = [];
      const params: unknown[] = [];
      if (patch.name !== undefined) (sets.push('name = ?'), params.push(patch.name));
      if (patch.role !== undefined) (sets.push('role = ?'), params.push(patch.role));
      if (patch.active !== undefined) (sets.push('active = ?'), params.push(patch.active));
      if (sets.length) {
        await db.write((q) =>
          q.run(`UPDATE users SET ${sets.join(', ')}, updated_at = current_timestamp WHERE id = ?`, [...params, id]),
        );
      }
      forget(id);
      return this.get(id);
    },

    async setPassword(id: string, passwordHash: string): Promise<void> {
      await db.write((q) =>
        q.run(`UPDATE users SET password_hash = ?, updated_at = current_timestamp WHERE id = ?`, [passwordHash, id]),
      );
    },

    async recordLogin(id: string): Promise<void> {
      await db.write((q) => q.run(`UPDATE users SET last_login_at = current_timestamp WHERE id = ?`, [id]));
      forget(id);
    },
  };
}

export type UsersRepository = ReturnType<typeof createUsersRepository>;
