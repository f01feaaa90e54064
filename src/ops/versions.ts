/**
 * Versions an operator needs to know about: the state schema (migrations in
 * src/db/migrations.ts) and the layout of the data directory (where Parquet, uploads and
 * docs live). Both are reported by GET /api/health and recorded in backups.
 */

/** The layout of `$DA_DATA_DIR` (state/, parquet/<dataset>/<table>.parquet, uploads/, docs/). */
export const DATA_LAYOUT_VERSION = 1;

/** The copy of the state database taken before it is migrated to `target`. */
export function preMigrationCopyPath(dbPath: string, target: number): string {
  return `${dbPath}.pre-v${target}`;
}

/**
 * A migration failed on start. The state database was left as it was (every pending
 * migration runs in one transaction); the message says how to go back to the previous
 * version of da.
 */
export class MigrationFailedError extends Error {
  override name = 'MigrationFailedError';
  constructor(
    readonly dbPath: string,
    readonly from: number,
    readonly target: number,
    readonly failed: { version: number; name: string },
    readonly cause: unknown,
    readonly copy: string | undefined,
  ) {
    const reason = (cause instanceof Error ? cause.message : String(cause)).split('\n')[0];
    super(
      `migration ${failed.version} (${failed.name}) failed: ${reason}. ` +
        `${dbPath} is unchanged at schema version ${from}; ` +
        (copy ? `a copy taken before the upgrade is ${copy}. ` : '') +
        `To roll back, run the previous da release (the one that wrote schema ${from}) on this data directory` +
        (copy ? `, or stop da and copy ${copy} over ${dbPath}` : '') +
        '; then report the error above.',
    );
  }
}
