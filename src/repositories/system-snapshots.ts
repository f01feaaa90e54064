/**
 * State tables an admin may query as `system.<table>`. Tables that hold nothing but
 * secrets (one-time token hashes, revoked JWT ids, Telegram link codes) are left out;
 * a table added by a later migration stays hidden until it is listed here.
 */
export const SNAPSHOT_TABLES = [
  'users', 'user_sync_settings', 'dataset_permissions', 'sync_state', 'sync_history', 'sync_jobs',
  'memory_items', 'memory_votes', 'memory_contributors', 'memory_history', 'audit_log', 'telegram_links', 'scripts', 'script_runs',
  'table_registry', 'table_source_status', 'table_profiles', 'personal_access_tokens', 'schema_migrations', 'job_runs', 'health_checks',
  'notification_preferences', 'access_requests', 'metrics',
] as const;

/** Columns never exported, whatever table they are in (`sync_state.hash` is a file hash, not a secret). */
export function isSecretColumn(table: string, column: string): boolean {
  if (table === 'sync_state' && column === 'hash') return false;
  return /password|secret|token_hash|hash$|^token$|_token$|api_key|credential/i.test(column);
}

/** Secret-free copies of the state tables, for the admin query sandbox. */
export interface SystemSnapshotsRepository {
  /**
   * Writes one Parquet file per table of SNAPSHOT_TABLES into `dir` (`<table>.parquet`),
   * without the columns isSecretColumn names. A file is replaced whole (a reader of the old
   * file never sees half a new one). Returns the files written.
   */
  exportSafe(dir: string): Promise<Array<{ name: string; path: string; columns: string[] }>>;
}
