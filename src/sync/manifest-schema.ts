import { z } from 'zod';

/**
 * The sync manifest (`GET /api/sync/manifest`), the one definition the server writes
 * and `da sync` reads. Plain zod, so the CLI takes it without the OpenAPI layer; the
 * route names it for the OpenAPI document.
 */
const PartFileSchema = z.object({
  seq: z.number().int().nonnegative(),
  hash: z.string().describe('sha256 (hex) of the part file'),
  size_bytes: z.number().int().nonnegative(),
  url: z.string(),
});

/**
 * Delta sync: the table as a base file plus deltas keyed by `primary_key` (rows new or changed,
 * and deleted keys marked `_da_deleted`). Applying the deltas in `seq` order to the base gives
 * the rows of the full file; each delta's `full_hash` is the hash of the full file it leads to
 * (the last one is the table's `hash`). Clients that do not know `parts` download `url`.
 */
export const ManifestPartsSchema = z.object({
  primary_key: z.array(z.string()).min(1),
  base: PartFileSchema,
  deltas: z.array(
    PartFileSchema.extend({
      rows_upserted: z.number().int().nonnegative(),
      rows_inserted: z.number().int().nonnegative(),
      rows_updated: z.number().int().nonnegative(),
      rows_deleted: z.number().int().nonnegative(),
      full_hash: z.string(),
    }),
  ),
});

export const ManifestTableSchema = z.object({
  dataset: z.string(),
  name: z.string(),
  hash: z.string().describe('sha256 (hex) of the Parquet file'),
  size_bytes: z.number().int().nullable(),
  rows: z.number().int().nullable(),
  columns: z.number().int().nullable(),
  updated_at: z.string().nullable(),
  url: z.string(),
  parts: ManifestPartsSchema.optional(),
  /** Merged (admin over OpenMetadata over the source); absent from servers before catalog enrichment. */
  description: z.string().nullable().optional(),
  tags: z.array(z.string()).optional(),
  /** Column name → description. */
  column_descriptions: z.record(z.string(), z.string()).optional(),
});

/** A table that stays in its warehouse (a remote BigQuery source): nothing to download; query it with `da query --remote`. */
export const ManifestRemoteTableSchema = z.object({
  dataset: z.string(),
  name: z.string(),
  remote: z.literal(true),
  /** The engine the query runs on, e.g. `bigquery`. */
  engine: z.string(),
  description: z.string().nullable().optional(),
  tags: z.array(z.string()).optional(),
});

export const ManifestAssetSchema = z.object({ hash: z.string(), size_bytes: z.number().int().nullable(), url: z.string() });

export const ManifestSchema = z.object({
  manifest_version: z.literal(1),
  generated_at: z.string(),
  server_version: z.string(),
  tables: z.record(z.string(), ManifestTableSchema),
  /** Tables queried in their warehouse, never downloaded (absent from servers without remote sources). */
  remote_tables: z.record(z.string(), ManifestRemoteTableSchema).optional(),
  assets: z.record(z.string(), ManifestAssetSchema),
});

export type ManifestParts = z.infer<typeof ManifestPartsSchema>;
export type ManifestTable = z.infer<typeof ManifestTableSchema>;
export type ManifestAsset = z.infer<typeof ManifestAssetSchema>;
export type Manifest = z.infer<typeof ManifestSchema>;
