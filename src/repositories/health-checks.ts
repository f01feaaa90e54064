/** One check of the health job: what it looked at, whether it passed, and what it found. */
export interface HealthFinding {
  name: string;
  ok: boolean;
  detail: string;
  checked_at: string;
}

/** What the health job found at its last run. */
export interface HealthChecksRepository {
  /** Replaces the findings with those of this run. */
  record(findings: Array<Omit<HealthFinding, 'checked_at'>>): Promise<void>;
  /** Asks the state database a question: how many schema migrations it has applied. */
  ping(): Promise<number>;
  /** The findings of the last run, by name. */
  list(): Promise<HealthFinding[]>;
}
