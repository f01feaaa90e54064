/** A Jira webhook event the server accepted, kept until every table of its dataset has applied it. */
export interface StoredJiraEvent {
  /** Increases with every event of the server; a table's watermark says up to which it has applied. */
  seq: number;
  dataset: string;
  event: string;
  /** The row changes the event makes (JSON of a JiraChange). */
  change: unknown;
  /** The event deletes rows; kept after it is applied, so an older event replayed later cannot bring them back. */
  deletes: boolean;
  received_at: string;
}

/** Accepted Jira webhook events waiting to be (or kept after being) applied to the dataset's Parquet tables. */
export interface JiraEventsRepository {
  /** Stores an event; returns its seq. */
  append(input: { dataset: string; event: string; change: unknown; deletes: boolean }): Promise<number>;
  /** The dataset's stored events, oldest first. */
  list(dataset: string): Promise<StoredJiraEvent[]>;
  /** Removes the dataset's events up to `seq` that delete nothing (every table has applied them). */
  prune(dataset: string, seq: number): Promise<number>;
}
