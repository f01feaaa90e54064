import { z } from 'zod';

/**
 * The sync manifest (`GET /api/sync/manifest`), the one definition the server writes
 * and `da sync` reads. Plain zod, so the CLI takes it without the OpenAPI layer; the
 * route names it for the OpenAPI document.
 */
export const ManifestTableSchema = z.object({
  dataset: z.string(),
  name: z.string(),
  hash: z.string().describe('sha256 (hex) of the Parquet file'),
  size_bytes: z.number().int().nullable(),
  rows: z.number().int().nullable(),
  columns: z.number().int().nullable(),
  updated_at: z.string().nullable(),
  url: z.string(),
  /** Merged (admin over OpenMetadata over the source); absent from servers before catalog enrichment. */
  description: z.string().nullable().optional(),
  tags: z.array(z.string()).optional(),
  /** Column name → description. */
  column_descriptions: z.record(z.string(), z.string()).optional(),
});

export const ManifestAssetSchema = z.object({ hash: z.string(), size_bytes: z.number().int().nullable(), url: z.string() });

export const ManifestSchema = z.object({
  manifest_version: z.literal(1),
  generated_at: z.string(),
  server_version: z.string(),
  tables: z.record(z.string(), ManifestTableSchema),
  assets: z.record(z.string(), ManifestAssetSchema),
});

export type ManifestTable = z.infer<typeof ManifestTableSchema>;
export type ManifestAsset = z.infer<typeof ManifestAssetSchema>;
export type Manifest = z.infer<typeof ManifestSchema>;
