import { existsSync, lstatSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Cron } from 'croner';
import type { Config } from '../config.ts';
import type { AuthUser } from '../context.ts';
import { hasRole } from '../auth/roles.ts';
import { newId } from '../auth/secrets.ts';
import { ConflictError, NotFoundError, ServiceUnavailableError, ValidationError } from '../errors.ts';
import type { EventBus } from '../events.ts';
import type { Logger } from '../log.ts';
import type { Script, ScriptLanguage, ScriptRun, ScriptsRepository } from '../repositories/scripts.ts';
import type { UsersRepository } from '../repositories/users.ts';
import { readableFiles, type AccessCache, type TableCatalog } from '../sync/catalog.ts';
import type { JobRunner } from '../../jobs/runner.ts';
import { ARTIFACT_NAME, artifactsDir, runDir, runScript, type RunResult } from './runner.ts';
import { sandboxStatus, type SandboxLimits, type SandboxStatus } from './sandbox.ts';

/** Script names: what `da scripts run NAME` takes. */
export const SCRIPT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** What a caller sends to deploy a script. */
export interface ScriptInput {
  name: string;
  language: ScriptLanguage;
  source: string;
  schedule?: string | null;
  enabled?: boolean;
}

/** A script as the API shows it: the stored one and a summary of its newest run. */
export interface ScriptView extends Script {
  last_run: { run_id: string; status: ScriptRun['status']; queued_at: string; finished_at: string | null } | null;
}

/** A run started: its id, and a promise of its end (never rejecting). */
export interface StartedRun {
  runId: string;
  done: Promise<ScriptRun>;
}

export interface ScriptsService {
  /** The caller's scripts; every script for admins. */
  list(user: AuthUser): Promise<ScriptView[]>;
  /** One script of the caller's (any for admins), or NotFoundError. */
  get(user: AuthUser, id: string): Promise<ScriptView>;
  create(user: AuthUser, input: ScriptInput): Promise<ScriptView>;
  update(user: AuthUser, id: string, patch: Partial<ScriptInput>): Promise<ScriptView>;
  remove(user: AuthUser, id: string): Promise<void>;
  /** Queues a run now; refused (ServiceUnavailableError) where the sandbox is missing. */
  run(user: AuthUser, id: string): Promise<StartedRun>;
  runs(user: AuthUser, id: string, limit?: number): Promise<ScriptRun[]>;
  getRun(user: AuthUser, id: string, runId: string): Promise<ScriptRun>;
  /** The file of one artifact of a run, or NotFoundError. */
  artifactPath(user: AuthUser, id: string, runId: string, name: string): Promise<string>;
  /** Registers every enabled scheduled script with the job runner (at start-up). */
  scheduleAll(): Promise<void>;
  sandbox(): SandboxStatus;
  /** Waits for the runs under way. */
  close(): Promise<void>;
}

export interface ScriptsServiceInputs {
  config: Pick<Config, 'scripts' | 'dataDir'>;
  repo: ScriptsRepository;
  users: UsersRepository;
  access: AccessCache;
  catalog: TableCatalog;
  events: EventBus;
  jobs: JobRunner;
  logger: Logger;
}

/** Where runs keep their artifacts: `<data>/scripts/runs/<run_id>/out/`. */
export function scriptRunsDir(dataDir: string): string {
  return join(dataDir, 'scripts', 'runs');
}

/** The job that runs a scheduled script. */
export function scriptJobName(id: string): string {
  return `script:${id}`;
}

/** The limits of one run, from config `scripts`. */
export function sandboxLimits(s: Config['scripts']): SandboxLimits {
  return {
    timeoutMs: s.timeout_s * 1000,
    memoryMb: s.memory_mb,
    cpuSeconds: s.cpu_s ?? s.timeout_s,
    maxFileMb: s.max_file_mb,
    maxDiskMb: s.max_disk_mb,
    maxProcesses: s.max_processes,
    maxOutputBytes: s.max_output_bytes,
  };
}

function invalid(path: string, message: string): ValidationError {
  return new ValidationError('request validation failed', [{ path, message }]);
}

/** Refuses (422) a cron pattern croner cannot read. */
export function checkSchedule(schedule: string | null | undefined): void {
  if (!schedule) return;
  try {
    new Cron(schedule, { paused: true }).stop();
  } catch (err) {
    throw invalid('schedule', `not a cron pattern: ${(err as Error).message}`);
  }
}

/**
 * The script registry and its runs: who may see and change which script (owner or admin),
 * runs queued at most `scripts.max_concurrent` at once, each in the sandbox with the
 * owner's permitted tables as they are when it starts (a revoked grant applies to the
 * next run), recorded with output and artifacts, and announced as `script.finished` or
 * `script.failed`. Scheduled scripts are jobs of the job runner named `script:<id>`.
 */
export function createScriptsService(inputs: ScriptsServiceInputs): ScriptsService {
  const { config, repo, users, access, catalog, events, jobs, logger } = inputs;
  const runsDir = scriptRunsDir(config.dataDir);
  const inFlight = new Set<Promise<unknown>>();
  const waiting: Array<() => void> = [];
  let active = 0;

  async function slot(): Promise<() => void> {
    if (active >= config.scripts.max_concurrent) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    return () => {
      active--;
      waiting.shift()?.();
    };
  }

  async function view(s: Script): Promise<ScriptView> {
    return (await views([s]))[0]!;
  }

  async function views(list: Script[]): Promise<ScriptView[]> {
    const last = await repo.lastRuns(list.map((s) => s.id));
    return list.map((s) => {
      const r = last.get(s.id);
      return { ...s, last_run: r ? { run_id: r.id, status: r.status, queued_at: r.queued_at, finished_at: r.finished_at } : null };
    });
  }

  /** The script, when the caller owns it or is an admin; NotFoundError otherwise (no existence leak). */
  async function mine(user: AuthUser, id: string): Promise<Script> {
    const s = await repo.get(id);
    if (!s || (s.owner !== user.id && !hasRole(user.role, 'admin'))) throw new NotFoundError(`script ${id} not found`);
    return s;
  }

  function check(input: ScriptInput): void {
    if (!SCRIPT_NAME.test(input.name)) throw invalid('name', `script names match ${SCRIPT_NAME.source}`);
    const bytes = Buffer.byteLength(input.source);
    if (bytes > config.scripts.max_source_bytes) {
      throw invalid('source', `the source is ${bytes} bytes; at most ${config.scripts.max_source_bytes} are accepted`);
    }
    checkSchedule(input.schedule);
  }

  function schedule(s: Script): void {
    const name = scriptJobName(s.id);
    if (!s.schedule || !s.enabled) {
      jobs.remove(name);
      return;
    }
    jobs.add({
      name,
      schedule: s.schedule,
      run: async () => {
        const script = await repo.get(s.id);
        if (!script) return;
        const run = await (await start(script, 'schedule', null)).done;
        if (run.status !== 'succeeded') throw new Error(`script ${script.name}: ${run.reason ?? run.status}`);
      },
    });
  }

  async function ownerOf(s: Script): Promise<AuthUser | null> {
    const u = await users.get(s.owner);
    return u && u.active ? { id: u.id, email: u.email, name: u.name, role: u.role, via: 'pat' } : null;
  }

  async function execute(s: Script, runId: string): Promise<RunResult> {
    const owner = await ownerOf(s);
    if (!owner) {
      return { status: 'failed', exit_code: null, reason: 'the owner of this script is no longer an active user', stdout: '', stderr: '', truncated: false, duration_ms: 0, artifacts: [] };
    }
    // Taken now, at the start of the run: a grant revoked since the last run no longer applies.
    const files = await readableFiles({ access, catalog, dataDir: config.dataDir }, owner);
    return runScript({ runsDir, runId, language: s.language, source: s.source, files, limits: sandboxLimits(config.scripts), bwrap: config.scripts.bwrap });
  }

  async function start(s: Script, trigger: ScriptRun['trigger'], requestedBy: string | null): Promise<StartedRun> {
    const status = sandboxStatus(config.scripts.bwrap);
    if (!status.available) throw new ServiceUnavailableError(status.detail, 3600);
    const runId = newId();
    await repo.queueRun({ id: runId, script_id: s.id, trigger, requested_by: requestedBy });
    const done = (async (): Promise<ScriptRun> => {
      const release = await slot();
      let result: RunResult;
      try {
        await repo.startRun(runId);
        result = await execute(s, runId);
      } catch (err) {
        logger.error('script run failed to start', { script_id: s.id, run_id: runId, error: (err as Error).message });
        result = { status: 'failed', exit_code: null, reason: `the run could not start: ${(err as Error).message}`, stdout: '', stderr: '', truncated: false, duration_ms: 0, artifacts: [] };
      } finally {
        release();
      }
      const run = await repo.finishRun(runId, result);
      if (!run) {
        // Undeployed while it ran: nothing is kept, nobody is told.
        rmSync(runDir(runsDir, runId), { recursive: true, force: true });
        const now = new Date().toISOString();
        return { ...result, id: runId, script_id: s.id, trigger, requested_by: requestedBy, queued_at: now, started_at: now, finished_at: now };
      }
      const ok = run.status === 'succeeded';
      const base = {
        at: new Date().toISOString(), scriptId: s.id, name: s.name, owner: s.owner, runId,
        exitCode: run.exit_code, durationMs: run.duration_ms ?? 0, reason: run.reason,
      };
      if (ok) events.emit({ type: 'script.finished', ...base, status: 'succeeded' });
      else events.emit({ type: 'script.failed', ...base, status: run.status as 'failed' | 'timed_out' | 'killed' });
      logger.info('script run finished', { script_id: s.id, run_id: runId, status: run.status, duration_ms: run.duration_ms });
      return run;
    })();
    inFlight.add(done);
    done.finally(() => inFlight.delete(done)).catch(() => {});
    return { runId, done };
  }

  return {
    async list(user) {
      return views(await repo.list(hasRole(user.role, 'admin') ? undefined : user.id));
    },

    async get(user, id) {
      return view(await mine(user, id));
    },

    async create(user, input) {
      check(input);
      if (await repo.getByName(user.id, input.name)) throw new ConflictError(`you already have a script named ${input.name}`);
      const s = await repo.insert({
        id: newId(), name: input.name, owner: user.id, language: input.language, source: input.source,
        schedule: input.schedule ?? null, enabled: input.enabled ?? true,
      });
      schedule(s);
      return view(s);
    },

    async update(user, id, patch) {
      const s = await mine(user, id);
      const next = {
        name: patch.name ?? s.name,
        language: patch.language ?? s.language,
        source: patch.source ?? s.source,
        schedule: patch.schedule === undefined ? s.schedule : patch.schedule,
        enabled: patch.enabled ?? s.enabled,
      };
      check(next);
      const other = await repo.getByName(s.owner, next.name);
      if (other && other.id !== id) throw new ConflictError(`a script named ${next.name} already exists`);
      const updated = await repo.update({ id, ...next });
      schedule(updated);
      return view(updated);
    },

    async remove(user, id) {
      await mine(user, id);
      jobs.remove(scriptJobName(id));
      const runIds = await repo.remove(id);
      for (const r of runIds) rmSync(runDir(runsDir, r), { recursive: true, force: true });
    },

    async run(user, id) {
      return start(await mine(user, id), 'manual', user.id);
    },

    async runs(user, id, limit = 50) {
      await mine(user, id);
      return repo.listRuns(id, limit);
    },

    async getRun(user, id, runId) {
      await mine(user, id);
      const run = await repo.getRun(runId);
      if (!run || run.script_id !== id) throw new NotFoundError(`run ${runId} not found`);
      return run;
    },

    async artifactPath(user, id, runId, name) {
      const run = await this.getRun(user, id, runId);
      const missing = new NotFoundError(`run ${runId} has no artifact ${name}`);
      if (!ARTIFACT_NAME.test(name) || !run.artifacts.some((a) => a.name === name)) throw missing;
      const path = join(artifactsDir(runsDir, runId), name);
      // Only a regular file the run left there: never a link it made to something else.
      if (!existsSync(path) || !lstatSync(path).isFile()) throw missing;
      return path;
    },

    async scheduleAll() {
      for (const s of await repo.list()) schedule(s);
    },

    sandbox: () => sandboxStatus(config.scripts.bwrap),

    async close() {
      await Promise.allSettled([...inFlight]);
    },
  };
}
