import { closeSync, fsyncSync, openSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ManifestParts, ManifestTable } from '../src/sync/manifest-schema.ts';
import { fsyncDir } from './disk.ts';
import { CliError, oneLine } from './errors.ts';
import { duckdb, ident, literal } from './local-db.ts';

/**
 * Delta sync, client side. The local file of a table synced by delta is always the full
 * table (views read it as any other); the state remembers which chain of server parts it
 * equals (`LocalChain`: the base's hash and the deltas applied). When the manifest's chain
 * starts with the same base and extends what we applied, only the missing deltas are
 * downloaded and merged into the local file on the primary key. Anything else (a new base
 * after a compaction, a chain that does not extend ours, a merge whose row count is not the
 * manifest's) means the full file, downloaded as before.
 */

/** The column that marks a deleted key in a delta part (as the server writes it). */
const DELETED = '_da_deleted';

/** Which server parts the local file equals. */
export interface LocalChain {
  base: string;
  deltas: { seq: number; hash: string }[];
}

/** The deltas to fetch and apply, with their exact row counts for the change report. */
export interface DeltaPlan {
  parts: ManifestParts;
  missing: ManifestParts['deltas'];
  bytes: number;
  rows_added: number;
  rows_changed: number;
  rows_removed: number;
}

/** Whether delta downloads are off (DA_SYNC_PARTS=off: behave like a client without them). */
export function deltaDisabled(env: Record<string, string | undefined> = process.env): boolean {
  return env.DA_SYNC_PARTS === 'off';
}

/** The chain a full file of `m` equals, when the manifest's parts lead to that file. */
export function chainOfFull(m: ManifestTable): LocalChain | undefined {
  const p = m.parts;
  if (!p || !wellFormed(p, m.hash)) return undefined;
  return { base: p.base.hash, deltas: p.deltas.map((d) => ({ seq: d.seq, hash: d.hash })) };
}

function wellFormed(p: ManifestParts, hash: string): boolean {
  let seq = p.base.seq;
  for (const d of p.deltas) {
    if (!(d.seq > seq)) return false;
    seq = d.seq;
  }
  const end = p.deltas.length ? p.deltas[p.deltas.length - 1]!.full_hash : p.base.hash;
  return end === hash;
}

/** The deltas that bring a local file of `local` up to `m`, or why not (then: the full file). */
export function planDelta(local: LocalChain | undefined, m: ManifestTable): DeltaPlan | { why: string } {
  const p = m.parts;
  if (!p) return { why: 'not synced by delta' };
  if (!local) return { why: 'no local chain' };
  if (!wellFormed(p, m.hash)) return { why: 'the manifest lists parts out of order or not leading to the table' };
  if (p.base.hash !== local.base) return { why: 'the server compacted the table (new base)' };
  const prefix = local.deltas.every((d, i) => p.deltas[i]?.seq === d.seq && p.deltas[i]?.hash === d.hash);
  if (!prefix || local.deltas.length >= p.deltas.length) return { why: 'the parts do not extend the local ones' };
  const missing = p.deltas.slice(local.deltas.length);
  return {
    parts: p,
    missing,
    bytes: missing.reduce((s, d) => s + d.size_bytes, 0),
    rows_added: missing.reduce((s, d) => s + d.rows_inserted, 0),
    rows_changed: missing.reduce((s, d) => s + d.rows_updated, 0),
    rows_removed: missing.reduce((s, d) => s + d.rows_deleted, 0),
  };
}

/** Where downloaded delta parts wait for the merge: `server/parts/<dataset>/<table>/`. */
export function localPartsDir(serverDir: string, dataset: string, name: string): string {
  return join(serverDir, 'parts', dataset, name);
}

/**
 * Writes `target` anew as the local file merged with `deltas` (in order) on the primary key
 * (zstd level 1: the local copy is never sent anywhere, and level 1 writes ~3× faster):
 * a key's last delta row wins, deleted keys go. Through a temporary file, flushed, then
 * renamed: the old file (and the views over it) stay until the new one is complete.
 * Throws when the result does not have `expectRows` rows.
 */
export async function mergeDeltas(target: string, deltas: { seq: number; path: string }[], primaryKey: string[], expectRows: number | null): Promise<void> {
  const tmp = join(dirname(target), `.${Date.now()}-${process.pid}.merge.tmp`);
  const instance = await duckdb().DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const keys = primaryKey.map(ident).join(', ');
    const parts = deltas.map((d) => `SELECT *, ${d.seq} AS __da_seq FROM read_parquet(${literal(d.path)})`).join(' UNION ALL BY NAME ');
    await conn.run(
      `COPY (
         WITH d AS (${parts}),
              latest AS (SELECT * FROM d QUALIFY row_number() OVER (PARTITION BY ${keys} ORDER BY __da_seq DESC) = 1)
         SELECT cur.* FROM read_parquet(${literal(target)}) cur ANTI JOIN latest USING (${keys})
         UNION ALL BY NAME
         SELECT * EXCLUDE (__da_seq, ${ident(DELETED)}) FROM latest WHERE NOT ${ident(DELETED)}
       ) TO ${literal(tmp)} (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)`,
    );
    const rows = Number((await conn.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM read_parquet(${literal(tmp)})`)).getRows()[0]![0]);
    if (expectRows !== null && rows !== expectRows) {
      throw new CliError(`merging the deltas gave ${rows} rows, the manifest says ${expectRows}`, 1, { reason: 'delta_mismatch' });
    }
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
    fsyncDir(dirname(target));
  } catch (err) {
    rmSync(tmp, { force: true });
    if (err instanceof CliError) throw err;
    throw new CliError(`merging the deltas failed: ${oneLine((err as Error).message)}`, 1, { reason: 'delta_mismatch' }, { cause: err });
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
