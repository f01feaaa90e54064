import { openScratchDb } from '../../src/connectors/duck.ts';
import { quoteLiteral } from '../../src/db/connection.ts';

/** A Parquet file as tests compare it: column name → DuckDB type, and its rows in `order`. */
export async function readParquetFile(path: string, order = '1'): Promise<{ types: Record<string, string>; rows: Record<string, unknown>[] }> {
  const db = await openScratchDb();
  try {
    const file = quoteLiteral(path);
    const types = await db.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM read_parquet(${file})`);
    const rows = await db.all<Record<string, unknown>>(`SELECT * FROM read_parquet(${file}) ORDER BY ${order}`);
    return { types: Object.fromEntries(types.map((t) => [t.column_name, t.column_type])), rows };
  } finally {
    db.close();
  }
}
