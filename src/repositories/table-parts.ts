/**
 * The part files of a table kept as a base plus deltas (delta sync): seq numbers grow per
 * table and are never reused, so a part URL always names the same bytes.
 */
export interface TablePart {
  table_id: string;
  seq: number;
  kind: 'base' | 'delta';
  hash: string;
  size_bytes: number;
  /** Rows of the part that are new keys (a base: every row). */
  rows_inserted: number;
  /** Rows of the part that replace a row with the same key. */
  rows_updated: number;
  /** Keys the part deletes. */
  rows_deleted: number;
  /** sha256 of the full table file once this part is applied: chains the parts to the served file. */
  full_hash: string;
  created_at: string;
}

export type NewTablePart = Omit<TablePart, 'created_at'>;

export interface TablePartsRepository {
  /** The parts of one table: base first, then the deltas by seq. */
  list(tableId: string): Promise<TablePart[]>;
  /** Every table's parts, by table id (for the manifest). */
  listAll(): Promise<Map<string, TablePart[]>>;
  /** Replaces every part of a table by `parts` (a new base, with or without deltas) in one transaction. */
  replace(tableId: string, parts: NewTablePart[]): Promise<void>;
  /** Appends one delta. */
  add(part: NewTablePart): Promise<void>;
  remove(tableId: string): Promise<void>;
}

export const TABLE_PARTS_METHODS = {
  list: 'read',
  listAll: 'read',
  replace: 'write',
  add: 'write',
  remove: 'write',
} as const;
