import { copyFileSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, closeSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { quoteIdent, quoteLiteral } from '../db/connection.ts';
import { readParquet, type ScratchDb } from '../connectors/duck.ts';
import type { RegisteredTable } from '../repositories/table-registry.ts';
import type { NewTablePart, TablePart, TablePartsRepository } from '../repositories/table-parts.ts';
import { NAME_PATTERN, parseTableId } from './paths.ts';
import { sha256File } from './files.ts';

/**
 * Delta sync, server side. A table with the incremental strategy and a primary key is kept,
 * beside its full file (which views, queries and old clients keep using), as a base file
 * plus delta files: each delta holds the rows that are new or changed since the previous
 * full file (keyed by the primary key) and the deleted keys (`_da_deleted = true`, other
 * columns NULL). Every part records the hash of the full file it leads to, so a chain of
 * parts is only offered while it ends at the file being served. When the deltas' bytes pass
 * `ratio` × the base, the new full file becomes the base and the deltas go (compaction).
 */

/** The column that marks a deleted key in a delta part. */
export const DELETED_COLUMN = '_da_deleted';

/** `<data>/parts/<dataset>/<table>/`: the part files of one table. */
export function partsDir(dataDir: string, dataset: string, table: string): string {
  if (!NAME_PATTERN.test(dataset) || !NAME_PATTERN.test(table)) throw new Error(`invalid table id ${dataset}.${table}`);
  return join(dataDir, 'parts', dataset, table);
}

/** Where part `seq` of a table lives. */
export function partPath(dataDir: string, dataset: string, table: string, seq: number): string {
  return join(partsDir(dataDir, dataset, table), `${seq}.parquet`);
}

/** The parts offered for a table: only a chain that starts with a base and ends at `hash`. */
export function consistentChain(parts: TablePart[] | undefined, hash: string | null): TablePart[] | undefined {
  if (!parts?.length || !hash || parts[0]!.kind !== 'base') return undefined;
  if (parts.slice(1).some((p) => p.kind !== 'delta')) return undefined;
  return parts[parts.length - 1]!.full_hash === hash ? parts : undefined;
}

/** Whether every part of a chain has its file (a restored backup holds the full files only). */
export function partsPresent(dataDir: string, tableId: string, parts: TablePart[]): boolean {
  const id = parseTableId(tableId);
  return !!id && parts.every((p) => existsSync(partPath(dataDir, id.dataset, id.table, p.seq)));
}

/** Every table's parts, without the chains whose files are not all there. */
export async function listPresentParts(dataDir: string, repo: TablePartsRepository): Promise<Map<string, TablePart[]>> {
  const all = await repo.listAll();
  for (const [id, parts] of all) if (!partsPresent(dataDir, id, parts)) all.delete(id);
  return all;
}

export interface DeltaInput {
  dataDir: string;
  parts: TablePartsRepository;
  db: ScratchDb;
  table: RegisteredTable;
  /** The file served until now and its hash (null: none). */
  previous: { path: string; hash: string } | null;
  /** The new full file (not yet renamed into place) and its facts. */
  next: { path: string; hash: string; rows: number };
  ratio: number;
}

/** What happened to the parts, for the sync result's notes (undefined: nothing worth saying). */
export type DeltaOutcome = { action: 'none' | 'base' | 'delta' | 'compacted' | 'dropped'; note?: string };

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function columnsOf(db: ScratchDb, path: string): Promise<string> {
  const cols = await db.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${readParquet(path)}`);
  return JSON.stringify(cols.map((c) => [c.column_name, c.column_type]));
}

/**
 * Updates the parts of a table for a new full file, before the sync state names that file
 * (the commit point). Tables that do not qualify lose any parts they had.
 */
export async function updateParts(input: DeltaInput): Promise<DeltaOutcome> {
  const { dataDir, parts: repo, db, table, previous, next, ratio } = input;
  const dir = partsDir(dataDir, table.dataset, table.name);
  const pk = table.primary_key ?? [];
  const drop = async (note?: string): Promise<DeltaOutcome> => {
    await repo.remove(table.id);
    rmSync(dir, { recursive: true, force: true });
    return { action: 'dropped', note };
  };
  if (table.sync_strategy !== 'incremental' || !pk.length) {
    if ((await repo.list(table.id)).length || existsSync(dir)) return drop();
    return { action: 'none' };
  }
  const file = readParquet(next.path);
  const nextColumns = await columnsOf(db, next.path);
  const names = (JSON.parse(nextColumns) as [string, string][]).map(([n]) => n);
  if (names.includes(DELETED_COLUMN) || pk.some((k) => !names.includes(k))) {
    return drop(`delta sync off: the primary key ${pk.join(', ')} is not among the columns (or a column is named ${DELETED_COLUMN})`);
  }
  const keys = pk.map(quoteIdent).join(', ');
  const [dup] = await db.all<{ n: string }>(`SELECT count(*)::BIGINT AS n FROM (SELECT ${keys} FROM ${file} GROUP BY ALL HAVING count(*) > 1)`);
  if (Number(dup!.n) > 0) return drop(`delta sync off: ${dup!.n} primary key values occur more than once`);

  const existing = await repo.list(table.id);
  const found = consistentChain(existing, previous?.hash ?? null);
  const chain = found && partsPresent(dataDir, table.id, found) ? found : undefined;
  const nextSeq = Math.max(0, ...existing.map((p) => p.seq)) + 1;
  mkdirSync(dir, { recursive: true });

  const newBase = async (action: 'base' | 'compacted'): Promise<DeltaOutcome> => {
    const path = partPath(dataDir, table.dataset, table.name, nextSeq);
    rmSync(path, { force: true });
    // The full file is only ever replaced by a rename, never written in place: a hard link shares its bytes.
    try {
      linkSync(next.path, path);
    } catch {
      copyFileSync(next.path, path);
      fsyncPath(path);
    }
    await repo.replace(table.id, [{
      table_id: table.id, seq: nextSeq, kind: 'base', hash: next.hash, size_bytes: statSync(path).size,
      rows_inserted: next.rows, rows_updated: 0, rows_deleted: 0, full_hash: next.hash,
    }]);
    removeUnlisted(dir, [nextSeq]);
    return { action };
  };

  if (!chain || !previous || !existsSync(previous.path)) return newBase('base');
  if (previous.hash === next.hash) return { action: 'none' };
  if ((await columnsOf(db, previous.path)) !== nextColumns) return newBase('base');

  const prev = readParquet(previous.path);
  const path = partPath(dataDir, table.dataset, table.name, nextSeq);
  rmSync(path, { force: true });
  await db.run(
    `COPY (
       SELECT *, false AS ${DELETED_COLUMN} FROM (SELECT * FROM ${file} EXCEPT SELECT * FROM ${prev})
       UNION ALL BY NAME
       SELECT *, true AS ${DELETED_COLUMN} FROM (SELECT ${keys} FROM ${prev} EXCEPT SELECT ${keys} FROM ${file})
     ) TO ${quoteLiteral(path)} (FORMAT parquet, COMPRESSION zstd)`,
  );
  const [counts] = await db.all<{ upserted: string; updated: string; deleted: string }>(
    `SELECT count(*) FILTER (WHERE NOT d.${DELETED_COLUMN})::BIGINT AS upserted,
            count(*) FILTER (WHERE NOT d.${DELETED_COLUMN} AND p.__da_present)::BIGINT AS updated,
            count(*) FILTER (WHERE d.${DELETED_COLUMN})::BIGINT AS deleted
     FROM ${readParquet(path)} d LEFT JOIN (SELECT ${keys}, true AS __da_present FROM ${prev}) p USING (${keys})`,
  );
  fsyncPath(path);
  const size = statSync(path).size;
  const base = chain[0]!;
  const deltaBytes = chain.slice(1).reduce((s, p) => s + p.size_bytes, 0) + size;
  if (deltaBytes > ratio * base.size_bytes) {
    rmSync(path, { force: true });
    return newBase('compacted');
  }
  const part: NewTablePart = {
    table_id: table.id, seq: nextSeq, kind: 'delta', hash: await sha256File(path), size_bytes: size,
    rows_inserted: Number(counts!.upserted) - Number(counts!.updated), rows_updated: Number(counts!.updated),
    rows_deleted: Number(counts!.deleted), full_hash: next.hash,
  };
  await repo.add(part);
  removeUnlisted(dir, [...chain.map((p) => p.seq), nextSeq]);
  return { action: 'delta' };
}

/** Removes part files no row names (left by a sync that stopped half-way, or a compaction). */
function removeUnlisted(dir: string, keep: number[]): void {
  const wanted = new Set(keep.map((s) => `${s}.parquet`));
  for (const name of readdirSync(dir)) if (!wanted.has(name)) rmSync(join(dir, name), { recursive: true, force: true });
}
