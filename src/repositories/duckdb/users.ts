import type { SystemDb } from '../../db/system.ts';
import { toIso } from '../../db/connection.ts';
import type { Role } from '../../auth/roles.ts';
import type { User, UserAuthState, UserWithSecret, UsersRepository } from '../users.ts';

const COLUMNS = `id, email, name, role, active, created_at, updated_at, last_login_at, coalesce(g.generation, 0) AS token_generation`;
/** Users with their token generation (no row: 0). */
const USERS = `users LEFT JOIN user_token_generations g ON g.user_id = users.id`;
/** Bumps a user's token generation (the first bump makes it 1) and returns the new one. */
const BUMP_GENERATION = `INSERT INTO user_token_generations (user_id, generation) VALUES (?, 1)
  ON CONFLICT (user_id) DO UPDATE SET generation = user_token_generations.generation + 1 RETURNING generation`;

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
    token_generation: Number(row.token_generation ?? 0),
  };
}

function withoutSecret({ password_hash: _, token_generation: __, ...user }: UserWithSecret): User {
  return user;
}

/**
 * Users in DuckDB: the only place that knows the users table. Reads by id are cached in
 * memory.
 */
export function createDuckDbUsersRepository(db: SystemDb): UsersRepository {
  const byId = new Map<string, UserAuthState>();
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
      return (await this.getAuthState(id))?.user;
    },

    /** The user with their current token generation (cached like get, dropped on every write). */
    async getAuthState(id: string): Promise<UserAuthState | undefined> {
      const cached = byId.get(id);
      if (cached) return cached;
      const seen = generation;
      const row = await db.read((q) => q.one(`SELECT ${COLUMNS} FROM ${USERS} WHERE id = ?`, [id]));
      if (!row) return undefined;
      const full = toUser(row);
      const state = { user: withoutSecret(full), tokenGeneration: full.token_generation };
      if (seen === generation) byId.set(id, state);
      return state;
    },

    async findByEmailWithSecret(email: string): Promise<UserWithSecret | undefined> {
      const row = await db.read((q) =>
        q.one(`SELECT ${COLUMNS}, password_hash FROM ${USERS} WHERE lower(email) = lower(?)`, [email]),
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
          `SELECT ${COLUMNS} FROM ${USERS} ${opts.includeInactive ? '' : 'WHERE active'} ORDER BY email`,
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

    /** Deactivating (active: false) also ends every access token of the user. */
    async update(id: string, patch: { name?: string | null; role?: Role; active?: boolean }): Promise<User | undefined> {
      const sets: string[] = [];
      const params: unknown[] = [];
      if (patch.name !== undefined) (sets.push('name = ?'), params.push(patch.name));
      if (patch.role !== undefined) (sets.push('role = ?'), params.push(patch.role));
      if (patch.active !== undefined) (sets.push('active = ?'), params.push(patch.active));
      if (sets.length) {
        await db.write((q) =>
          q.transaction(async () => {
            await q.run(`UPDATE users SET ${sets.join(', ')}, updated_at = current_timestamp WHERE id = ?`, [...params, id]);
            // Else reactivating the account would bring its old sessions back to life.
            if (patch.active === false) await q.run(BUMP_GENERATION, [id]);
          }),
        );
      }
      forget(id);
      return this.get(id);
    },

    /**
     * Sets a new password hash and ends every access token signed before (their holder may
     * be whoever knew the old password). Returns the new token generation, for the token
     * that the caller may sign next.
     */
    async setPassword(id: string, passwordHash: string): Promise<number> {
      const row = await db.write((q) =>
        q.transaction(async () => {
          await q.run(`UPDATE users SET password_hash = ?, updated_at = current_timestamp WHERE id = ?`, [passwordHash, id]);
          return q.one<{ generation: number }>(BUMP_GENERATION, [id]);
        }),
      );
      forget(id);
      return Number(row?.generation ?? 0);
    },

    async recordLogin(id: string): Promise<void> {
      await db.write((q) => q.run(`UPDATE users SET last_login_at = current_timestamp WHERE id = ?`, [id]));
      forget(id);
    },
  };
}
