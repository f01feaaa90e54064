import { Command, Option, UsageError } from 'clipanion';
import * as t from 'typanion';
import { BaseCommand } from '../base.ts';
import { listTables } from '../disk.ts';
import { formatBytes } from '../format.ts';
import { lostLine } from '../durability.ts';
import { retryPolicyFromEnv } from '../retry.ts';
import { deltaDisabled } from '../delta.ts';
import { runSync, type SyncError, type SyncReport } from '../workspace-sync.ts';
import { refreshClaudeMd } from '../claude-md.ts';
import { workspacePaths } from '../workspace.ts';

/** `da sync`: brings the workspace in line with what the server offers this user. */
export class SyncCommand extends BaseCommand {
  static paths = [['sync']];
  static usage = Command.Usage({
    category: 'Data',
    description: 'Download permitted tables and docs, rebuild local views, upload sessions',
    details: `
      Runs in the workspace (the current directory):

      - fetches the manifest and downloads only tables whose hash changed, four at a time, into \`./server/parquet/<dataset>/<table>.parquet\`; a partial download (\`.part\`) is resumed with HTTP Range; every file is checked against its sha256 and renamed into place;
      - for a table the server keeps as a base plus delta parts (incremental tables with a primary key), downloads only the delta parts the local file lacks, each checked against its sha256, and merges them into the local file on the primary key (a new file renamed into place); after a compaction, or when the parts do not extend the local ones, downloads the full file (\`DA_SYNC_PARTS=off\` always does);
      - removes tables you may no longer read; a local file that was changed or damaged is downloaded again;
      - writes docs, rules and table profiles under \`./server/\`;
      - rebuilds the views in \`./user/duckdb/analytics.duckdb\` (\`<dataset>.<table>\` and, where unique, \`<table>\`); your own tables and views there are kept;
      - uploads new session transcripts (\`./user/sessions/**/*.jsonl\` and Claude Code's transcripts of this directory), \`./user/artifacts/**\` and \`./CLAUDE.local.md\`;
      - checks that every view exists and reads its table's file, and rebuilds them when one was dropped or the workspace folder moved, even when nothing was downloaded (\`--verify\` also re-hashes every file and downloads what does not match);
      - refreshes the data section (tables, rules) of a \`CLAUDE.md\` that \`da init\` wrote;
      - records what it did in \`$DA_CONFIG_DIR/sync-state/\`.

      A file gets its final name, and is recorded as synced, only after every byte was written, flushed to disk and its sha256 checked; a failed table keeps its previous file and view.

      Before downloading, the bytes needed are compared with the free space of the workspace's disk; when they do not fit, \`da sync\` stops with one line (needed, free, which tables) and changes nothing. A disk that fills up anyway (or a file-size limit) fails the tables being written, keeps what was written for the next run and stops the other downloads.

      Dropped or refused connections, stalled responses and 502/503/504 answers are retried with growing pauses, each try resuming from the bytes on disk, for up to 60 s per table without progress (\`DA_SYNC_RETRY_SECONDS\`; first pause \`DA_SYNC_BACKOFF_MS\`, default 250; a response silent for \`DA_SYNC_TIMEOUT_SECONDS\`, default 60, counts as dropped).

      A local database that cannot be opened (e.g. cut off by a full disk) is moved aside to \`analytics.duckdb.damaged-<time>\`, never deleted (your own tables are in it), and the views are rebuilt in a new one.

      \`--json\` prints the change report (tables added/changed/removed with bytes and row deltas, assets, uploads, errors). Exit 1 when any table failed (the others are kept). Errors are one line each; \`--verbose\` (or DA_DEBUG=1) adds the underlying error.
    `,
    examples: [
      ['Sync everything', '$0 sync'],
      ['Only two tables', '$0 sync --table sales.orders --table customers'],
      ['Every table of one dataset', "$0 sync --table 'sales.*'"],
      ['What would change, as JSON', '$0 sync --dry-run --json'],
      ['Upload session notes only (Claude Code SessionEnd hook)', '$0 sync --upload-only --quiet'],
    ],
  });

  table = Option.Array('--table', [], { description: 'Only this table (id `dataset.table`, name, or a glob such as `sales.*`); repeatable' });
  uploadOnly = Option.Boolean('--upload-only', false, { description: 'Only upload sessions, artifacts and CLAUDE.local.md' });
  docsOnly = Option.Boolean('--docs-only', false, { description: 'Only docs, rules and profiles (no tables, no uploads)' });
  dryRun = Option.Boolean('--dry-run', false, { description: 'Report what would change; change nothing' });
  quiet = Option.Boolean('--quiet,-q', false, { description: 'Print nothing on success (errors still go to stderr)' });
  verify = Option.Boolean('--verify', false, { description: 'Hash every local file instead of trusting size and mtime' });
  concurrency = Option.String('--concurrency', '4', {
    description: 'Downloads at once, 1 to 32 (default 4)',
    validator: t.cascade(t.isNumber(), [t.isInteger(), t.isInInclusiveRange(1, 32)]),
  });

  async run() {
    if (this.uploadOnly && this.docsOnly) throw new UsageError('--upload-only and --docs-only exclude each other');
    if (this.uploadOnly && this.table.length) throw new UsageError('--upload-only takes no --table');
    const concurrency = this.concurrency;
    const retry = retryPolicyFromEnv(this.context.env);
    const client = this.authedClient();
    const stderr = this.context.stderr as NodeJS.WriteStream;
    const showProgress = Boolean(stderr.isTTY) && !this.quiet && !this.json;
    let last = 0;
    const report = await runSync(client, this.store.paths.dir, this.context.cwd, {
      tables: this.table,
      uploadOnly: this.uploadOnly,
      docsOnly: this.docsOnly,
      dryRun: this.dryRun,
      verify: this.verify,
      concurrency,
      retry,
      env: this.context.env,
      parts: !deltaDisabled(this.context.env),
      onProgress: showProgress
        ? (p) => {
            const now = performance.now();
            if (now - last < 100 && p.done < p.total) return;
            last = now;
            const pct = p.totalBytes ? Math.min(100, Math.floor((p.bytes / p.totalBytes) * 100)) : 100;
            const bar = '#'.repeat(Math.floor(pct / 5)).padEnd(20, '.');
            stderr.write(`\r[${bar}] ${pct}%  ${p.done}/${p.total} tables  ${formatBytes(p.bytes)} / ${formatBytes(p.totalBytes)}   `);
          }
        : undefined,
    });
    if (showProgress && last) stderr.write('\n');
    // The data section of a CLAUDE.md that da init wrote follows what is now synced.
    if (!this.dryRun && !this.uploadOnly && !this.table.length) {
      try {
        refreshClaudeMd(this.store.paths.dir, workspacePaths(this.context.cwd), client.server);
      } catch (err) {
        report.errors.push({ id: 'CLAUDE.md', message: `data section not refreshed: ${(err as Error).message}` });
      }
    }
    if (report.lost?.length) {
      this.context.stderr.write(`da: ${lostLine(report.lost)}; downloaded again\n`);
    }
    if (report.views.moved_aside) {
      this.context.stderr.write(`da: the local database could not be opened; moved it to ${report.views.moved_aside} (your own tables are in that copy) and rebuilt the views\n`);
    }
    for (const line of errorLines(report.errors, this.detailed)) this.context.stderr.write(`${line}\n`);
    if (this.json) this.emit(report, () => undefined);
    else if (!this.quiet) this.context.stdout.write(summarise(report) + '\n');
    return report.errors.length ? 1 : 0;
  }
}

/** The human summary of a sync report. */
export function summarise(r: SyncReport): string {
  const t = r.tables;
  const lines = [
    `${r.dry_run ? 'would sync' : 'synced'}: ${t.added.length} added, ${t.changed.length} changed, ${t.removed.length} removed, ${t.unchanged} unchanged; ` +
      `${formatBytes(r.bytes_downloaded)} in ${(r.elapsed_ms / 1000).toFixed(1)} s`,
  ];
  for (const a of t.added) lines.push(`  + ${a.id} (${a.rows ?? '?'} rows)`);
  for (const c of t.changed) {
    const rows = c.via === 'delta' ? `, by delta: +${c.rows_added} ~${c.rows_changed} -${c.rows_removed} rows` : c.row_delta !== null ? `, ${c.row_delta >= 0 ? '+' : ''}${c.row_delta} rows` : '';
    lines.push(`  ~ ${c.id} (${c.reason}${rows})`);
  }
  for (const d of t.removed) lines.push(`  - ${d.id}`);
  if (t.removed.length) lines.push('  (removed: no longer readable by you, or switched off in your sync settings on the web settings page)');
  if (r.remote_tables?.length) lines.push(`  remote (queried in the warehouse with da query --remote, not downloaded): ${r.remote_tables.join(', ')}`);
  if (r.assets.updated.length || r.assets.removed.length) lines.push(`  docs: ${r.assets.updated.length} updated, ${r.assets.removed.length} removed`);
  const up = r.uploads.sessions.length + r.uploads.artifacts.length + (r.uploads.local_md ? 1 : 0);
  if (up) lines.push(`  uploaded: ${r.uploads.sessions.length} sessions, ${r.uploads.artifacts.length} artifacts${r.uploads.local_md ? ', CLAUDE.local.md' : ''}`);
  for (const s of r.uploads.skipped) lines.push(`  not uploaded: ${s.name} (${s.reason})`);
  if (r.views.skipped.length) lines.push(`  views not created (your own table/view has the name): ${r.views.skipped.join(', ')}`);
  return lines.join('\n');
}

const MAX_ERROR_LINES = 5;

/**
 * Errors for the terminal: one line per distinct message (tables that failed alike share it),
 * at most a handful; with `detailed`, the runtime's own words under each.
 */
export function errorLines(errors: SyncError[], detailed = false): string[] {
  const groups = new Map<string, SyncError[]>();
  for (const e of errors) groups.set(e.message, [...(groups.get(e.message) ?? []), e]);
  const lines: string[] = [];
  for (const [message, items] of groups) {
    if (lines.length >= MAX_ERROR_LINES && !detailed) {
      const rest = [...groups.values()].slice(MAX_ERROR_LINES).flat();
      lines.push(`da: and ${rest.length} more failed (${listTables(rest)}); see da sync --json`);
      break;
    }
    lines.push(`da: ${listTables(items)}: ${message}`);
    if (detailed) for (const d of new Set(items.map((e) => e.detail).filter(Boolean))) lines.push(`    detail: ${d}`);
  }
  return lines;
}
