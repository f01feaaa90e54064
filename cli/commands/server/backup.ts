import { Command, Option } from 'clipanion';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BaseCommand } from '../../base.ts';
import { CliError, EXIT } from '../../errors.ts';
import { formatBytes } from '../../format.ts';
import { writeStreamToFile } from '../../../src/ops/backup-file.ts';
import { RestoreError, verifyBackup } from '../../../src/ops/restore.ts';

/** `da server backup [--out FILE]`: downloads one consistent backup archive from the server (admin). */
export class ServerBackupCommand extends BaseCommand {
  static paths = [['server', 'backup']];
  static usage = Command.Usage({
    category: 'Server',
    description: 'Download a backup of the server: state, Parquet files, uploads, docs, config (admin)',
    details: `
      Asks the server (\`POST /api/backup\`) for one tar.gz archive: the state database copied through the server's write queue (no write lost or half in), every Parquet file with the hash sync_state recorded, uploads, docs, and the effective config without secrets, with a sha256 manifest of every file. The download is checked against that manifest before it is kept; a broken transfer leaves no file.

      The signing key is not in the archive: after a restore, web sessions sign in again; personal access tokens keep working. Restore with \`da server restore FILE --data-dir DIR\`.
    `,
    examples: [
      ['Into the current folder, named by the server', '$0 server backup'],
      ['To a chosen file', '$0 server backup --out /backups/da.tar.gz'],
    ],
  });
  out = Option.String('--out', { description: 'File to write (default: the name the server gives, in the current folder)' });

  async run() {
    const client = this.authedClient();
    let res: Response;
    try {
      res = await client.request('POST', '/api/backup');
    } catch (err) {
      // Reachable, but the connection dropped before the answer began: the server gave up
      // on the backup (e.g. a file that does not match its recorded hash; its log says why).
      if (err instanceof CliError && err.details.reason === 'unreachable' && ['ConnectionClosed', 'ECONNRESET', 'EPIPE'].includes(String(err.details.code))) {
        throw new CliError(`the server broke off the backup before sending it; no file was written — see the server log for why`, EXIT.failure, {}, { cause: err });
      }
      throw err;
    }
    const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'da-backup.tar.gz';
    const target = resolve(this.context.cwd, this.out ?? name);
    if (this.out && existsSync(target) && statSync(target).isDirectory()) return this.save(res, join(target, name));
    return this.save(res, target);
  }

  private async save(res: Response, target: string) {
    const tty = Boolean((this.context.stderr as { isTTY?: boolean }).isTTY) && !this.json;
    let last = 0;
    const progress = (bytes: number) => {
      const now = performance.now();
      if (!tty || now - last < 200) return;
      last = now;
      this.context.stderr.write(`\rda: backing up… ${formatBytes(bytes)}   `);
    };
    let bytes: number;
    try {
      bytes = await writeStreamToFile(res.body!, target, progress);
    } catch (err) {
      throw new CliError(`the backup download broke off (${(err as Error).message}); no file was written — see the server log`, EXIT.failure, {}, { cause: err });
    }
    if (tty) this.context.stderr.write('\r');
    let check;
    try {
      check = await verifyBackup(target);
    } catch (err) {
      rmSync(target, { force: true });
      if (err instanceof RestoreError) throw new CliError(`the server sent a backup that does not check out (${err.message}); it was deleted — see the server log`);
      throw err;
    }
    this.emit({ file: target, bytes, files: check.files, tables: check.tables, created_at: check.header.created_at, schema_version: check.header.schema_version }, () =>
      `backup written to ${target} (${formatBytes(bytes)}, ${check.files} files, ${check.tables} tables; verified)`,
    );
  }
}
