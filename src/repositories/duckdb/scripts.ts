import type { SystemDb } from '../../db/system.ts';
import { toIso } from '../../db/connection.ts';
import type { RunOutcome, Script, ScriptRun, ScriptsRepository } from '../scripts.ts';

function toScript(r: Record<string, unknown>): Script {
  return {
    id: String(r.id),
    name: String(r.name),
    owner: String(r.owner),
    language: r.language as Script['language'],
    source: String(r.source),
    schedule: (r.schedule as string | null) ?? null,
    enabled: Boolean(r.enabled),
    created_at: toIso(r.created_at)!,
    updated_at: toIso(r.updated_at)!,
  };
}

function toRun(r: Record<string, unknown>): ScriptRun {
  const artifacts = typeof r.artifacts === 'string' ? JSON.parse(r.artifacts) : r.artifacts;
  return {
    id: String(r.id),
    script_id: String(r.script_id),
    trigger: r.trigger as ScriptRun['trigger'],
    requested_by: (r.requested_by as string | null) ?? null,
    status: r.status as ScriptRun['status'],
    exit_code: r.exit_code === null || r.exit_code === undefined ? null : Number(r.exit_code),
    reason: (r.reason as string | null) ?? null,
    stdout: String(r.stdout),
    stderr: String(r.stderr),
    truncated: Boolean(r.truncated),
    duration_ms: r.duration_ms === null || r.duration_ms === undefined ? null : Number(r.duration_ms),
    artifacts: Array.isArray(artifacts) ? artifacts : [],
    queued_at: toIso(r.queued_at)!,
    started_at: toIso(r.started_at),
    finished_at: toIso(r.finished_at),
  };
}

/** Scripts in `scripts`, their runs in `script_runs` (migration 8). */
export function createDuckDbScriptsRepository(db: SystemDb): ScriptsRepository {
  const getRun = async (id: string) => {
    const r = await db.read((q) => q.one(`SELECT * FROM script_runs WHERE id = ?`, [id]));
    return r ? toRun(r) : undefined;
  };
  const get = async (id: string) => {
    const r = await db.read((q) => q.one(`SELECT * FROM scripts WHERE id = ?`, [id]));
    return r ? toScript(r) : undefined;
  };

  return {
    async list(owner) {
      const rows = await db.read((q) =>
        q.all(`SELECT * FROM scripts ${owner ? 'WHERE owner = ?' : ''} ORDER BY name, id`, owner ? [owner] : []),
      );
      return rows.map(toScript);
    },

    get,

    async getByName(owner, name) {
      const r = await db.read((q) => q.one(`SELECT * FROM scripts WHERE owner = ? AND name = ?`, [owner, name]));
      return r ? toScript(r) : undefined;
    },

    async insert(s) {
      await db.write((q) =>
        q.run(
          `INSERT INTO scripts (id, name, owner, language, source, schedule, enabled, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, current_timestamp, current_timestamp)`,
          [s.id, s.name, s.owner, s.language, s.source, s.schedule, s.enabled],
        ),
      );
      return (await get(s.id))!;
    },

    async update(s) {
      await db.write((q) =>
        q.run(
          `UPDATE scripts SET name = ?, language = ?, source = ?, schedule = ?, enabled = ?, updated_at = current_timestamp WHERE id = ?`,
          [s.name, s.language, s.source, s.schedule, s.enabled, s.id],
        ),
      );
      return (await get(s.id))!;
    },

    async remove(id) {
      return db.write(async (q) =>
        q.transaction(async () => {
          const runs = await q.all<{ id: string }>(`SELECT id FROM script_runs WHERE script_id = ?`, [id]);
          await q.run(`DELETE FROM script_runs WHERE script_id = ?`, [id]);
          await q.run(`DELETE FROM scripts WHERE id = ?`, [id]);
          return runs.map((r) => r.id);
        }),
      );
    },

    async queueRun(run) {
      await db.write((q) =>
        q.run(
          `INSERT INTO script_runs (id, script_id, trigger, requested_by, status, stdout, stderr, truncated, artifacts, queued_at)
           VALUES (?, ?, ?, ?, 'queued', '', '', false, '[]', current_timestamp)`,
          [run.id, run.script_id, run.trigger, run.requested_by],
        ),
      );
      return (await getRun(run.id))!;
    },

    async startRun(id) {
      await db.write((q) => q.run(`UPDATE script_runs SET status = 'running', started_at = current_timestamp WHERE id = ?`, [id]));
    },

    async finishRun(id, o: RunOutcome) {
      await db.write((q) =>
        q.run(
          `UPDATE script_runs SET status = ?, exit_code = ?, reason = ?, stdout = ?, stderr = ?, truncated = ?, duration_ms = ?,
             artifacts = ?, finished_at = current_timestamp WHERE id = ?`,
          [o.status, o.exit_code, o.reason, o.stdout, o.stderr, o.truncated, o.duration_ms, JSON.stringify(o.artifacts), id],
        ),
      );
      return getRun(id);
    },

    getRun,

    async listRuns(scriptId, limit) {
      const rows = await db.read((q) =>
        q.all(`SELECT * FROM script_runs WHERE script_id = ? ORDER BY queued_at DESC, id DESC LIMIT ?`, [scriptId, limit]),
      );
      return rows.map(toRun);
    },

    async lastRuns(scriptIds) {
      const out = new Map<string, ScriptRun>();
      if (!scriptIds.length) return out;
      const rows = await db.read((q) =>
        q.all(
          `SELECT * FROM script_runs WHERE script_id IN (SELECT unnest(from_json(?::JSON, '["VARCHAR"]')))
           QUALIFY row_number() OVER (PARTITION BY script_id ORDER BY queued_at DESC, id DESC) = 1`,
          [JSON.stringify(scriptIds)],
        ),
      );
      for (const r of rows.map(toRun)) out.set(r.script_id, r);
      return out;
    },

    async failUnfinished(reason) {
      return db.write(async (q) => {
        const row = await q.one<{ n: string }>(`SELECT count(*) AS n FROM script_runs WHERE status IN ('queued','running')`);
        await q.run(
          `UPDATE script_runs SET status = 'failed', reason = ?, finished_at = current_timestamp WHERE status IN ('queued','running')`,
          [reason],
        );
        return Number(row?.n ?? 0);
      });
    },

    async purgeRuns(keep, days) {
      return db.write(async (q) =>
        q.transaction(async () => {
          const rows = await q.all<{ id: string }>(
            `SELECT id FROM (
               SELECT id, queued_at, status,
                      row_number() OVER (PARTITION BY script_id ORDER BY queued_at DESC, id DESC) AS n
               FROM script_runs)
             WHERE status NOT IN ('queued','running') AND (n > ? OR queued_at < current_timestamp - to_days(?))`,
            [keep, days],
          );
          const ids = rows.map((r) => r.id);
          if (ids.length) await q.run(`DELETE FROM script_runs WHERE id IN (SELECT unnest(from_json(?::JSON, '["VARCHAR"]')))`, [JSON.stringify(ids)]);
          return ids;
        }),
      );
    },
  };
}
