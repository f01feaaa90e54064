/** A metric definition: one read-only SELECT over the datasets it names. */
export interface Metric {
  id: string;
  name: string;
  description: string;
  sql: string;
  datasets: string[];
  owner: string;
  unit: string;
  grain: string;
  tags: string[];
  status: 'draft' | 'certified';
}

/** A stored metric with who created it (an analyst may edit only their own drafts). */
export interface StoredMetric extends Metric {
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

/** The metrics catalog. */
export interface MetricsRepository {
  list(): Promise<StoredMetric[]>;
  get(id: string): Promise<StoredMetric | undefined>;
  getByName(name: string): Promise<StoredMetric | undefined>;
  insert(metric: Metric, createdBy: string | null): Promise<void>;
  /** Replaces every field of the metric but its id and creator. */
  update(metric: Metric): Promise<void>;
  delete(id: string): Promise<boolean>;
}
