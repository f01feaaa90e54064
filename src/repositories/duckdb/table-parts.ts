import type { SystemDb } from '../../db/system.ts';
import { toIso, toNumber } from '../../db/connection.ts';
import type { NewTablePart, TablePart, TablePartsRepository } from '../table-parts.ts';

function toPart(r: Record<string, unknown>): TablePart {
  return {
    table_id: String(r.table_id),
    seq: toNumber(r.seq)!,
    kind: r.kind === 'base' ? 'base' : 'delta',
    hash: String(r.hash),
    size_bytes: toNumber(r.size_bytes)!,
    rows_inserted: toNumber(r.rows_inserted)!,
    rows_updated: toNumber(r.rows_updated)!,
    rows_deleted: toNumber(r.rows_deleted)!,
    full_hash: String(r.full_hash),
    created_at: toIso(r.created_at)!,
  };
}

const INSERT = `INSERT INTO table_parts (table_id, seq, kind, hash, size_bytes, rows_inserted, rows_updated, rows_deleted, full_hash, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, current_timestamp)`;
const values = (p: NewTablePart) => [p.table_id, p.seq, p.kind, p.hash, p.size_bytes, p.rows_inserted, p.rows_updated, p.rows_deleted, p.full_hash];

/** Base and delta part files of tables synced by delta. */
export function createDuckDbTablePartsRepository(db: SystemDb): TablePartsRepository {
  return {
    async list(tableId) {
      const rows = await db.read((q) => q.all(`SELECT * FROM table_parts WHERE table_id = ? ORDER BY seq`, [tableId]));
      return rows.map(toPart);
    },

    async listAll() {
      const rows = await db.read((q) => q.all(`SELECT * FROM table_parts ORDER BY table_id, seq`));
      const out = new Map<string, TablePart[]>();
      for (const r of rows.map(toPart)) out.set(r.table_id, [...(out.get(r.table_id) ?? []), r]);
      return out;
    },

    async replace(tableId, parts) {
      await db.write((q) =>
        q.transaction(async () => {
          await q.run(`DELETE FROM table_parts WHERE table_id = ?`, [tableId]);
          for (const p of parts) await q.run(INSERT, values(p));
        }),
      );
    },

    async add(part) {
      await db.write((q) => q.run(INSERT, values(part)));
    },

    async remove(tableId) {
      await db.write((q) => q.run(`DELETE FROM table_parts WHERE table_id = ?`, [tableId]));
    },
  };
}
