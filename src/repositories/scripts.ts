export interface Script {
  id: string;
  name: string;
  owner: string | null;
  schedule: string | null;
  source: string;
  deployed_at: string | null;
  last_run: string | null;
  last_status: string | null;
}

/** The registry of deployed user scripts. */
export interface ScriptsRepository {
  /** By name; only `owner`'s scripts when given. */
  list(owner?: string): Promise<Script[]>;
  get(id: string): Promise<Script | undefined>;
  /** Deploys a script, or redeploys it (same id: name, schedule and source replaced; the owner stays). */
  deploy(s: { id: string; name: string; owner: string; schedule: string | null; source: string }): Promise<Script>;
  recordRun(id: string, status: string): Promise<void>;
  remove(id: string): Promise<void>;
}
