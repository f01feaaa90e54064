import { CliError, oneLine } from './errors.ts';
import { duckdb, literal, tableSelect, type ViewTable } from './local-db.ts';
import type { ManifestParts, ManifestTable } from '../src/sync/manifest-schema.ts';

/**
 * Delta sync, client side. A table synced by delta is kept locally as the file last
 * downloaded whole (the base) plus the delta part files fetched since
 * (`./server/parts/<dataset>/<table>/<seq>.parquet`); its views merge them on the primary
 * key at query time (cli/local-db.ts `tableSelect`), so a sync costs time in proportion to
 * the change, not to the table. The state remembers which chain of server parts the local
 * data equals (`LocalChain`: the base's hash and the deltas applied) and which part files are
 * kept. When the manifest's chain starts with the same base and extends ours, only the
 * missing deltas are downloaded and the merge is checked (row count against the manifest,
 * columns against the base). Anything else (a new base after a compaction, a chain that does
 * not extend ours, another primary key, a check that fails) means the full file, downloaded
 * as before; the parts it replaces are deleted once the views no longer read them.
 */

/** Which server parts the local data equals. */
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

/**
 * Checks that a table's merged view (its file and delta parts, `t`) reads like the server's
 * full file: the columns and types of the base file, and `expectRows` rows. Reads only
 * metadata and the key columns. Throws a `delta_mismatch` CliError (the caller then
 * downloads the full file) when it does not.
 */
export async function checkMerged(t: ViewTable, expectRows: number | null): Promise<void> {
  const instance = await duckdb().DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const columns = async (sql: string) => JSON.stringify((await conn.runAndReadAll(`DESCRIBE ${sql}`)).getRows().map((r) => [r[0], r[1]]));
    const [want, got] = [await columns(`SELECT * FROM read_parquet(${literal(t.path)})`), await columns(tableSelect(t))];
    if (want !== got) throw new CliError('the delta parts do not have the columns of the table', 1, { reason: 'delta_mismatch' });
    if (expectRows === null) return;
    const rows = Number((await conn.runAndReadAll(`SELECT count(*)::BIGINT FROM (${tableSelect(t)})`)).getRows()[0]![0]);
    if (rows !== expectRows) throw new CliError(`merging the deltas gives ${rows} rows, the manifest says ${expectRows}`, 1, { reason: 'delta_mismatch' });
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`reading the delta parts failed: ${oneLine((err as Error).message)}`, 1, { reason: 'delta_mismatch' }, { cause: err });
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/**
 * Writes the merge of a delta table's file and parts (`t`) as one Parquet file at `target`,
 * for readers that take a file rather than a view (a local script run mounts files).
 */
export async function writeMerged(t: ViewTable, target: string): Promise<void> {
  const instance = await duckdb().DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    await conn.run(`COPY (${tableSelect(t)}) TO ${literal(target)} (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)`);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}
