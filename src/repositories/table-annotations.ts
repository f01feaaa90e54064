import type { MethodEffects } from '../cache/change-counter.ts';

/** Who said it: an admin (edits win) or the OpenMetadata enrichment job. */
export type AnnotationOrigin = 'admin' | 'openmetadata';

/** What one origin says about a table and its columns; null/absent = says nothing. */
export interface TableAnnotation {
  table_id: string;
  origin: AnnotationOrigin;
  description: string | null;
  /** null: no say on tags (an empty list clears them). */
  tags: string[] | null;
  /** Column name → its description. */
  columns: Record<string, string>;
  /** For OpenMetadata: the FQN the entry came from. */
  detail: string | null;
  updated_by: string | null;
  updated_at: string;
}

/** What one run of the enrichment from an outside catalog did. */
export interface EnrichmentRun {
  id: string;
  origin: 'openmetadata';
  started_at: string;
  finished_at: string;
  status: 'succeeded' | 'failed';
  error: string | null;
  result: EnrichmentResult;
}

/** Tables enriched, not found in the outside catalog, not mapped to it, and failed. */
export interface EnrichmentResult {
  enriched: string[];
  not_found: Array<{ table: string; fqn: string }>;
  skipped: Array<{ table: string; reason: string }>;
  errors: Array<{ table: string; fqn: string; error: string }>;
}

/** Table and column descriptions and tags beside the source's (state table table_annotations). */
export interface TableAnnotationsRepository {
  get(tableId: string, origin: AnnotationOrigin): Promise<TableAnnotation | undefined>;
  /** Every annotation, by table id then origin. */
  list(): Promise<TableAnnotation[]>;
  /** Stores what `origin` says about the table, replacing what it said before; updated now. */
  put(a: Omit<TableAnnotation, 'updated_at'>): Promise<TableAnnotation>;
  /** Forgets what every origin said about the table (it was unregistered). */
  remove(tableId: string): Promise<void>;
  /** Keeps what an enrichment run did (the catalog-enrich job). */
  recordRun(run: EnrichmentRun): Promise<void>;
  /** The newest enrichment run, if any. */
  lastRun(): Promise<EnrichmentRun | undefined>;
}

/** Which methods change what the table catalog holds (`changes` bumps `repos.changes.data`). */
export const TABLE_ANNOTATIONS_METHODS = {
  get: 'read',
  list: 'read',
  put: 'changes',
  remove: 'changes',
  recordRun: 'write',
  lastRun: 'read',
} as const satisfies MethodEffects<TableAnnotationsRepository>;
