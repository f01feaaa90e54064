import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, Option, UsageError } from 'clipanion';
import * as t from 'typanion';
import { newId } from '../../../src/auth/secrets.ts';
import type { ScriptLanguage } from '../../../src/repositories/scripts.ts';
import { artifactsDir, listArtifacts, runScript } from '../../../src/scripts/runner.ts';
import { sandboxStatus } from '../../../src/scripts/sandbox.ts';
import type { ReadableFile } from '../../../src/sync/catalog.ts';
import { BaseCommand } from '../../base.ts';
import { CliError } from '../../errors.ts';
import { viewTableOf, workspacePaths, type WorkspacePaths } from '../../workspace.ts';
import { readSyncState } from '../../sync-state.ts';
import { writeMerged } from '../../delta.ts';
import { findScript, formatRun, languageOf, type RemoteRun } from './shared.ts';

/**
 * A delta-synced table is its file plus kept delta parts, merged by the views: a script reads
 * files, so it gets the merge written to `dir` (removed after the run).
 */
async function mergedFiles(files: ReadableFile[], ws: WorkspacePaths, configDir: string, dir: string): Promise<ReadableFile[]> {
  const state = readSyncState(configDir, ws.root);
  return Promise.all(files.map(async (f) => {
    const t = state.tables[`${f.dataset}.${f.name}`];
    if (!t?.delta_parts?.parts.length) return f;
    const path = join(dir, f.dataset, `${f.name}.parquet`);
    mkdirSync(join(dir, f.dataset), { recursive: true });
    await writeMerged(viewTableOf(ws, t), path);
    return { ...f, path };
  }));
}

/** The synced tables of the workspace: what a local run may read. */
function syncedFiles(ws: WorkspacePaths): ReadableFile[] {
  const files: ReadableFile[] = [];
  const list = (dir: string) => (existsSync(dir) ? readdirSync(dir).sort() : []);
  for (const dataset of list(ws.parquetDir)) {
    for (const f of list(join(ws.parquetDir, dataset))) {
      if (f.endsWith('.parquet')) files.push({ dataset, name: f.slice(0, -'.parquet'.length), path: join(ws.parquetDir, dataset, f), hash: '' });
    }
  }
  return files;
}

/** `da scripts run NAME`: runs a deployed script on the server now, or in the local sandbox with --local. */
export class ScriptsRunCommand extends BaseCommand {
  static paths = [['scripts', 'run']];
  static usage = Command.Usage({
    category: 'Scripts',
    description: 'Run a script now: on the server (waits for the end), or with --local in the sandbox on this machine over the synced tables',
    details:
      'With --local, NAME may be a script file (offline) or a deployed script (its source is fetched). The local run uses the same sandbox as the server (bubblewrap, no network, only the synced Parquet files under $DA_DATA, results in $DA_OUT) and refuses to run where bubblewrap is missing. Exit 1 when the run did not succeed.',
    examples: [['On the server', '$0 scripts run daily-revenue'], ['Locally, offline', '$0 scripts run revenue.sql --local']],
  });
  name = Option.String({ name: 'name' });
  local = Option.Boolean('--local', false, { description: 'Run here, in the local sandbox, over the synced workspace' });
  timeout = Option.String('--timeout', '300', { description: 'Local runs: wall-clock limit in seconds', validator: t.cascade(t.isNumber(), [t.isInteger(), t.isInInclusiveRange(1, 86_400)]) });

  async run() {
    const run = this.local ? await this.runLocal() : await this.runRemote();
    this.emit(run, () => formatRun(run));
    return run.status === 'succeeded' ? 0 : 1;
  }

  private async runRemote(): Promise<RemoteRun> {
    const client = this.authedClient();
    const script = await findScript(client, this.name);
    return client.post<RemoteRun>(`/api/scripts/${script.id}/run`, undefined, { query: { wait: 'true' } });
  }

  private async runLocal(): Promise<RemoteRun & { artifacts_dir: string }> {
    const status = sandboxStatus();
    if (!status.available) throw new CliError(`cannot run locally: ${status.detail}. Run it on the server instead (without --local)`);
    const path = resolve(this.context.cwd, this.name);
    let language: string | undefined;
    let source: string;
    if (existsSync(path)) {
      language = languageOf(path);
      if (!language) throw new UsageError(`cannot tell the language of ${this.name} from its extension (.sql, .ts, .js, .py)`);
      source = readFileSync(path, 'utf8');
    } else {
      const script = await findScript(this.authedClient(), this.name);
      language = script.language;
      source = script.source;
    }
    const ws = workspacePaths(this.context.cwd);
    const runsDir = join(ws.userDir, 'scripts', 'runs');
    const runId = newId();
    const merged = join(ws.userDir, 'scripts', `.merged-${runId}`);
    let result;
    try {
      result = await runScript({
        runsDir, runId, language: language as ScriptLanguage, source, files: await mergedFiles(syncedFiles(ws), ws, this.store.paths.dir, merged),
        limits: {
          timeoutMs: this.timeout * 1000, memoryMb: 512, cpuSeconds: this.timeout, maxFileMb: 100, maxDiskMb: 500,
          maxProcesses: 256, maxOutputBytes: 1024 * 1024,
        },
      });
    } finally {
      rmSync(merged, { recursive: true, force: true });
    }
    const out = artifactsDir(runsDir, runId);
    return {
      run_id: runId, status: result.status, exit_code: result.exit_code, reason: result.reason, stdout: result.stdout,
      stderr: result.stderr, truncated: result.truncated, duration_ms: result.duration_ms, queued_at: new Date().toISOString(),
      artifacts: listArtifacts(out).map((a) => ({ ...a, url: join(out, a.name) })),
      artifacts_dir: out,
    };
  }
}
