import type { MethodEffects } from '../cache/change-counter.ts';

export interface StoredProfile {
  table_id: string;
  profile: unknown;
  profiled_at: string | null;
}

/** Table profiles (the profiler's output, one JSON document per table). */
export interface ProfilesRepository {
  get(tableId: string): Promise<StoredProfile | undefined>;
  /** By table id. */
  list(): Promise<StoredProfile[]>;
  /** Stores the table's profile, replacing the previous one; profiled now. */
  put(tableId: string, profile: unknown): Promise<void>;
  remove(tableId: string): Promise<void>;
}

/** Which methods change what the table catalog holds (`changes` bumps `repos.changes.data`). */
export const PROFILES_METHODS = {
  get: 'read',
  list: 'read',
  put: 'changes',
  remove: 'changes',
} as const satisfies MethodEffects<ProfilesRepository>;
