import { createBackup } from '../src/ops/backup.ts';
import { backupDir, pruneBackups, saveBackup } from '../src/ops/backup-file.ts';
import type { JobContext, JobDefinition } from './types.ts';

/**
 * Scheduled backup (config `backup`, off unless `backup.schedule` is set): one archive into
 * `backup.dir`, then all but the `backup.keep` newest archives there are deleted.
 */
export const backupJob = {
  name: 'backup',
  schedule: (config) => config.backup.schedule,
  async run({ deps }: JobContext): Promise<{ path: string; bytes: number; files: number; deleted: string[] }> {
    const { config } = deps;
    const dir = backupDir(config.dataDir, config.backup.dir);
    const backup = await createBackup({ config, db: deps.db, syncState: deps.repos.syncState, logger: deps.logger });
    const saved = await saveBackup(backup, dir);
    const deleted = pruneBackups(dir, config.backup.keep);
    deps.logger.info('backup written', { path: saved.path, bytes: saved.bytes, files: Object.keys(saved.manifest.files).length, deleted: deleted.length });
    return { path: saved.path, bytes: saved.bytes, files: Object.keys(saved.manifest.files).length, deleted };
  },
} satisfies JobDefinition;
