import { Command, Option } from 'clipanion';
import { resolve } from 'node:path';
import { BaseCommand } from '../../base.ts';
import { CliError } from '../../errors.ts';
import { formatBytes } from '../../format.ts';
import { RestoreError, restoreBackup } from '../../../src/ops/restore.ts';

/** `da server restore FILE --data-dir DIR`: restores a backup into an empty folder, checking every hash. */
export class ServerRestoreCommand extends BaseCommand {
  static paths = [['server', 'restore']];
  static usage = Command.Usage({
    category: 'Server',
    description: 'Restore a backup archive into a new, empty data directory',
    details: `
      Works offline on this machine: reads the archive from \`da server backup\` (or the scheduled backup job), checks every file against the archive's sha256 manifest and each table's file against the hash sync_state recorded, and only then puts the data directory in place. A damaged, truncated or foreign archive, or a folder that is not empty, is refused and nothing is written.

      Then start a server on it: \`DA_DATA_DIR=DIR da server start\` (with your instance.yaml and secrets; the archive's \`config/effective-config.json\` shows the config it ran with, secrets removed).
    `,
    examples: [['Restore into /srv/da-restored', '$0 server restore da-backup-….tar.gz --data-dir /srv/da-restored']],
  });
  file = Option.String({ name: 'FILE' });
  dataDir = Option.String('--data-dir', { required: true, description: 'Folder to restore into: must not exist or be empty' });

  async run() {
    const tty = Boolean((this.context.stderr as { isTTY?: boolean }).isTTY) && !this.json;
    let last = 0;
    let result;
    try {
      result = await restoreBackup(resolve(this.context.cwd, this.file), resolve(this.context.cwd, this.dataDir), {
        onProgress: (bytes) => {
          const now = performance.now();
          if (!tty || now - last < 200) return;
          last = now;
          this.context.stderr.write(`\rda: restoring… ${formatBytes(bytes)}   `);
        },
      });
    } catch (err) {
      if (err instanceof RestoreError) throw new CliError(err.message);
      throw err;
    }
    if (tty) this.context.stderr.write('\r');
    this.emit(
      { data_dir: result.dataDir, files: result.files, bytes: result.bytes, tables: result.tables, created_at: result.header.created_at, schema_version: result.header.schema_version, server_version: result.header.server_version },
      () => [
        `restored ${result.files} files (${formatBytes(result.bytes)}, ${result.tables} tables) into ${result.dataDir}; every hash checked`,
        `backup of ${result.header.created_at} by da ${result.header.server_version} (schema ${result.header.schema_version})`,
        `next: DA_DATA_DIR=${result.dataDir} da server start`,
      ],
    );
  }
}
