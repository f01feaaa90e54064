import { Command } from 'clipanion';
import { BaseCommand } from '../../base.ts';
import { CliError } from '../../errors.ts';
import { registerAndSync, syncProblem } from './common.ts';

/** `da setup first-sync`: registers every source's tables and syncs them, waiting for the end (admin). */
export class SetupFirstSyncCommand extends BaseCommand {
  static paths = [['setup', 'first-sync']];
  static usage = Command.Usage({
    category: 'Setup',
    description: "Register every configured source's tables and run the first sync, with progress (admin)",
    details: `
      Over the API of the server you are logged in to: registers the tables of each source, starts a sync and waits until it ends. Exit 1 when the sync or a table failed, with the reason.
    `,
    examples: [['After da login', '$0 setup first-sync']],
  });

  async run() {
    const client = this.authedClient();
    const tty = Boolean((this.context.stderr as { isTTY?: boolean }).isTTY) && !this.json;
    const job = await registerAndSync(client, (line) => {
      if (tty) this.context.stderr.write(`da: ${line}\n`);
    });
    const problem = syncProblem(job);
    if (problem) throw new CliError(problem, 1, { job_id: job.job_id });
    const rows = job.tables.reduce((n, t) => n + (t.rows ?? 0), 0);
    this.emit({ job_id: job.job_id, status: job.status, tables: job.tables.length, rows }, () => `synced ${job.tables.length} tables (${rows} rows); sync ${job.job_id}`);
  }
}
