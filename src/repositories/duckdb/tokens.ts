import type { SystemDb } from '../../db/system.ts';
import { toIso } from '../../db/connection.ts';
import type { OneTimeKind, PersonalAccessToken, TokensRepository } from '../tokens.ts';

function toPat(r: Record<string, unknown>): PersonalAccessToken {
  return {
    id: String(r.id),
    user_id: String(r.user_id),
    name: String(r.name),
    prefix: String(r.prefix),
    created_at: toIso(r.created_at)!,
    expires_at: toIso(r.expires_at),
    last_used_at: toIso(r.last_used_at),
    revoked_at: toIso(r.revoked_at),
  };
}

const PAT_COLUMNS = `id, user_id, name, prefix, created_at, expires_at, last_used_at, revoked_at`;

/**
 * Token state in DuckDB. Revoked ids are mirrored in memory so the check on every request
 * costs no query.
 */
export function createDuckDbTokensRepository(db: SystemDb): TokensRepository {
  let revoked: Set<string> | undefined;
  const revokedSet = async (): Promise<Set<string>> => {
    if (!revoked) {
      const rows = await db.read((q) =>
        q.all<{ jti: string }>(`SELECT jti FROM revoked_tokens WHERE expires_at > current_timestamp`),
      );
      revoked ??= new Set(rows.map((r) => r.jti));
    }
    return revoked;
  };
  // Active tokens by hash: `da` sends its PAT on every call. Every revocation goes through
  // this repository and clears the map, so a revoked token stops working at once.
  const activePats = new Map<string, PersonalAccessToken>();
  let patGeneration = 0;
  const forgetPats = () => {
    patGeneration++;
    activePats.clear();
  };
  const lastUseWritten = new Map<string, number>();

  return {
    async createPat(pat: { id: string; userId: string; name: string; tokenHash: string; prefix: string; expiresAt?: Date | null }) {
      await db.write((q) =>
        q.run(
          `INSERT INTO personal_access_tokens (id, user_id, name, token_hash, prefix, created_at, expires_at)
           VALUES (?, ?, ?, ?, ?, current_timestamp, ?::TIMESTAMP)`,
          [pat.id, pat.userId, pat.name, pat.tokenHash, pat.prefix, pat.expiresAt?.toISOString() ?? null],
        ),
      );
      return (await this.getPat(pat.id))!;
    },

    async getPat(id: string): Promise<PersonalAccessToken | undefined> {
      const r = await db.read((q) => q.one(`SELECT ${PAT_COLUMNS} FROM personal_access_tokens WHERE id = ?`, [id]));
      return r ? toPat(r) : undefined;
    },

    async listPats(userId: string): Promise<PersonalAccessToken[]> {
      const rows = await db.read((q) =>
        q.all(`SELECT ${PAT_COLUMNS} FROM personal_access_tokens WHERE user_id = ? ORDER BY created_at DESC`, [userId]),
      );
      return rows.map(toPat);
    },

    /** The active (unrevoked, unexpired) token with this hash. */
    async findActivePatByHash(tokenHash: string): Promise<PersonalAccessToken | undefined> {
      const cached = activePats.get(tokenHash);
      if (cached) {
        if (!cached.expires_at || Date.parse(cached.expires_at) > Date.now()) return cached;
        activePats.delete(tokenHash);
        return undefined;
      }
      const generation = patGeneration;
      const r = await db.read((q) =>
        q.one(
          `SELECT ${PAT_COLUMNS} FROM personal_access_tokens
           WHERE token_hash = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > current_timestamp)`,
          [tokenHash],
        ),
      );
      if (!r) return undefined;
      const pat = toPat(r);
      // A read that raced a revocation must not put the token back.
      if (generation === patGeneration) {
        if (activePats.size >= 10_000) activePats.clear();
        activePats.set(tokenHash, pat);
      }
      return pat;
    },

    async revokePat(id: string): Promise<void> {
      forgetPats();
      await db.write((q) =>
        q.run(`UPDATE personal_access_tokens SET revoked_at = current_timestamp WHERE id = ? AND revoked_at IS NULL`, [id]),
      );
      forgetPats(); // also what a lookup read between the first forget and the commit
    },

    async revokeAllPatsOf(userId: string): Promise<void> {
      forgetPats();
      await db.write((q) =>
        q.run(`UPDATE personal_access_tokens SET revoked_at = current_timestamp WHERE user_id = ? AND revoked_at IS NULL`, [userId]),
      );
      forgetPats(); // also what a lookup read between the first forget and the commit
    },

    /** Records a token's last use, at most once a minute per token (not on every request). */
    async touchPat(id: string): Promise<void> {
      const now = Date.now();
      if ((lastUseWritten.get(id) ?? 0) > now - 60_000) return;
      lastUseWritten.set(id, now);
      await db.write((q) => q.run(`UPDATE personal_access_tokens SET last_used_at = current_timestamp WHERE id = ?`, [id]));
    },

    async createOneTime(t: { tokenHash: string; kind: OneTimeKind; userId: string; expiresAt: Date }) {
      await db.write((q) =>
        q.run(
          `INSERT INTO one_time_tokens (token_hash, kind, user_id, created_at, expires_at) VALUES (?, ?, ?, current_timestamp, ?::TIMESTAMP)`,
          [t.tokenHash, t.kind, t.userId, t.expiresAt.toISOString()],
        ),
      );
    },

    /**
     * Marks a one-time token used and returns its user, or undefined when it is unknown,
     * expired, already used or of another kind. Check and use happen in one write, so
     * two concurrent uses cannot both succeed.
     */
    async consumeOneTime(tokenHash: string, kind: OneTimeKind): Promise<string | undefined> {
      return db.write(async (q) => {
        const row = await q.one<{ user_id: string }>(
          `UPDATE one_time_tokens SET used_at = current_timestamp
           WHERE token_hash = ? AND kind = ? AND used_at IS NULL AND expires_at > current_timestamp
           RETURNING user_id`,
          [tokenHash, kind],
        );
        return row?.user_id;
      });
    },

    async isOneTimeUsable(tokenHash: string, kind: OneTimeKind): Promise<boolean> {
      const row = await db.read((q) =>
        q.one(
          `SELECT 1 AS ok FROM one_time_tokens WHERE token_hash = ? AND kind = ? AND used_at IS NULL AND expires_at > current_timestamp`,
          [tokenHash, kind],
        ),
      );
      return row !== undefined;
    },

    async createCliCode(c: { codeHash: string; userId: string; tokenName: string; challenge: string; expiresAt: Date }): Promise<void> {
      await db.write((q) =>
        q.run(
          `INSERT INTO cli_login_codes (code_hash, user_id, token_name, challenge, created_at, expires_at)
           VALUES (?, ?, ?, ?, current_timestamp, ?::TIMESTAMP)`,
          [c.codeHash, c.userId, c.tokenName, c.challenge, c.expiresAt.toISOString()],
        ),
      );
    },

    /**
     * Uses a browser sign-in code once: returns its user and token name when the code is
     * known, unexpired, unused and `challenge` matches; marks it used in the same write.
     */
    async consumeCliCode(codeHash: string, challenge: string): Promise<{ user_id: string; token_name: string } | undefined> {
      return db.write((q) =>
        q.one<{ user_id: string; token_name: string }>(
          `UPDATE cli_login_codes SET used_at = current_timestamp
           WHERE code_hash = ? AND challenge = ? AND used_at IS NULL AND expires_at > current_timestamp
           RETURNING user_id, token_name`,
          [codeHash, challenge],
        ),
      );
    },

    async revokeJwt(jti: string, expiresAt: Date): Promise<void> {
      await db.write((q) =>
        q.run(`INSERT OR IGNORE INTO revoked_tokens (jti, expires_at) VALUES (?, ?::TIMESTAMP)`, [jti, expiresAt.toISOString()]),
      );
      (await revokedSet()).add(jti);
    },

    async isJwtRevoked(jti: string): Promise<boolean> {
      return (await revokedSet()).has(jti);
    },

    /** Drops expired one-time tokens and revocations (retention job). */
    async purgeExpired(): Promise<void> {
      await db.write(async (q) => {
        await q.run(`DELETE FROM revoked_tokens WHERE expires_at <= current_timestamp`);
        await q.run(`DELETE FROM one_time_tokens WHERE expires_at <= current_timestamp - INTERVAL 30 DAY`);
        await q.run(`DELETE FROM cli_login_codes WHERE expires_at <= current_timestamp - INTERVAL 1 DAY`);
      });
    },
  };
}
