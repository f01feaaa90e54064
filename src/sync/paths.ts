import { join } from 'node:path';

const NAME = '[a-z_][a-z0-9_]{0,63}';

/** `^[a-z_][a-z0-9_]{0,63}$`: the shape of every dataset and table name (the one definition). */
export const NAME_PATTERN = new RegExp(`^${NAME}$`);

/** `<dataset>.<table>`, each part a NAME_PATTERN name. */
export const TABLE_ID_PATTERN = new RegExp(`^(${NAME})\\.(${NAME})$`);

/** Where a table's Parquet file lives on the server: `<data>/parquet/<dataset>/<table>.parquet`. */
export function parquetPath(dataDir: string, dataset: string, table: string): string {
  if (!NAME_PATTERN.test(dataset) || !NAME_PATTERN.test(table)) {
    throw new Error(`invalid table id ${dataset}.${table}`);
  }
  return join(dataDir, 'parquet', dataset, `${table}.parquet`);
}

/** Splits `<dataset>.<table>`; undefined when the id is not of that shape. */
export function parseTableId(id: string): { dataset: string; table: string } | undefined {
  const m = TABLE_ID_PATTERN.exec(id);
  return m ? { dataset: m[1]!, table: m[2]! } : undefined;
}

/** The server's analytics database (views over the Parquet files, one schema per dataset). */
export function analyticsDbPath(dataDir: string): string {
  return join(dataDir, 'analytics', 'server.duckdb');
}
