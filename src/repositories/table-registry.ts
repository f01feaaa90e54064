import type { MethodEffects } from '../cache/change-counter.ts';

export interface RegisteredTable {
  id: string;
  name: string;
  dataset: string;
  source_table: string;
  sync_strategy: 'full' | 'incremental';
  primary_key: string[] | null;
  description: string | null;
  enabled: boolean;
  registered_by: string | null;
  registered_at: string | null;
  updated_at: string | null;
  /** When the source stopped offering this table (its last file is still served); null while it does. */
  missing_since: string | null;
}

/** The registry of tables the server pulls from its sources (dataset = the spec's `folder`). */
export interface TableRegistryRepository {
  /** By id. */
  list(): Promise<RegisteredTable[]>;
  get(id: string): Promise<RegisteredTable | undefined>;
  /** Registers a table (enabled unless said otherwise), registered now; an existing id is an error. */
  insert(t: Omit<RegisteredTable, 'registered_at' | 'updated_at' | 'enabled' | 'missing_since'> & { enabled?: boolean }): Promise<RegisteredTable>;
  /** Applies the given fields; returns the table (undefined when unknown). */
  update(
    id: string,
    patch: Partial<Pick<RegisteredTable, 'sync_strategy' | 'primary_key' | 'description' | 'enabled'>>,
  ): Promise<RegisteredTable | undefined>;
  remove(id: string): Promise<void>;
  /**
   * Records which tables their source offers no more (`missing`, since now unless already
   * missing) and which it offers again (`present`: back to normal).
   */
  setMissing(change: { missing: string[]; present: string[] }): Promise<void>;
}

/** Which methods change what the table catalog holds (`changes` bumps `repos.changes.data`). */
export const TABLE_REGISTRY_METHODS = {
  list: 'read',
  get: 'read',
  insert: 'changes',
  update: 'changes',
  remove: 'changes',
  setMissing: 'changes',
} as const satisfies MethodEffects<TableRegistryRepository>;
