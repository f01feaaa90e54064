/** The languages a script may be written in. */
export const SCRIPT_LANGUAGES = ['sql', 'typescript', 'javascript', 'python'] as const;
export type ScriptLanguage = (typeof SCRIPT_LANGUAGES)[number];

/** A deployed user script. */
export interface Script {
  id: string;
  name: string;
  /** The owner's user id: whose permitted tables the script sees. */
  owner: string;
  language: ScriptLanguage;
  source: string;
  /** Cron pattern, or null for a script run only on demand. */
  schedule: string | null;
  enabled: boolean;
  created_at: string;
  updated_at: string;
}

export const RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'timed_out', 'killed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** A file the run wrote to $DA_OUT. */
export interface RunArtifact {
  name: string;
  size_bytes: number;
}

/** One run of a script. */
export interface ScriptRun {
  id: string;
  script_id: string;
  trigger: 'manual' | 'schedule';
  requested_by: string | null;
  status: RunStatus;
  exit_code: number | null;
  /** Why it did not succeed, in words (null when it did). */
  reason: string | null;
  stdout: string;
  stderr: string;
  /** stdout or stderr was cut at the output cap. */
  truncated: boolean;
  duration_ms: number | null;
  artifacts: RunArtifact[];
  queued_at: string;
  started_at: string | null;
  finished_at: string | null;
}

/** How a run ended, as the runner records it. */
export type RunOutcome = Pick<ScriptRun, 'status' | 'exit_code' | 'reason' | 'stdout' | 'stderr' | 'truncated' | 'duration_ms' | 'artifacts'>;

/** The registry of deployed user scripts and the record of their runs. */
export interface ScriptsRepository {
  /** By name; only `owner`'s scripts when given. */
  list(owner?: string): Promise<Script[]>;
  get(id: string): Promise<Script | undefined>;
  getByName(owner: string, name: string): Promise<Script | undefined>;
  insert(script: Omit<Script, 'created_at' | 'updated_at'>): Promise<Script>;
  /** Replaces name, language, source, schedule and enabled (owner and id stay). */
  update(script: Omit<Script, 'created_at' | 'updated_at' | 'owner'>): Promise<Script>;
  /** Deletes the script and its runs; returns the ids of the runs deleted. */
  remove(id: string): Promise<string[]>;

  /** Records a run as `queued`, now. */
  queueRun(run: { id: string; script_id: string; trigger: ScriptRun['trigger']; requested_by: string | null }): Promise<ScriptRun>;
  startRun(id: string): Promise<void>;
  /** The finished run; undefined when it is gone (its script was undeployed meanwhile). */
  finishRun(id: string, outcome: RunOutcome): Promise<ScriptRun | undefined>;
  getRun(id: string): Promise<ScriptRun | undefined>;
  /** Newest first. */
  listRuns(scriptId: string, limit: number): Promise<ScriptRun[]>;
  /** The newest run of each of these scripts. */
  lastRuns(scriptIds: string[]): Promise<Map<string, ScriptRun>>;
  /** Runs a dead process left queued or running are failed with `reason` (at start-up). */
  failUnfinished(reason: string): Promise<number>;
  /**
   * Deletes finished runs beyond the newest `keep` of each script and those older than
   * `days`; returns the ids deleted (their artifacts go too).
   */
  purgeRuns(keep: number, days: number): Promise<string[]>;
}
