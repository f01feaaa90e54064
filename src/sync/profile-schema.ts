import { z } from '@hono/zod-openapi';

/** A JSON scalar as it appears in profiles (numbers for numeric columns, ISO text for dates). */
const ScalarSchema = z.union([z.number(), z.string(), z.boolean(), z.null()]);

export const HistogramBinSchema = z
  .object({ lower: ScalarSchema, upper: ScalarSchema, count: z.number().int() })
  .openapi('HistogramBin');

export const ColumnProfileSchema = z
  .object({
    name: z.string(),
    type: z.string().openapi({ description: 'DuckDB type, e.g. BIGINT, DECIMAL(12,2), TIMESTAMP' }),
    kind: z.enum(['numeric', 'date', 'text', 'boolean', 'other']),
    null_count: z.number().int(),
    null_pct: z.number().openapi({ description: '0–100' }),
    distinct_count: z.number().int().openapi({ description: 'Exact up to 100k rows, HyperLogLog estimate above' }),
    distinct_exact: z.boolean(),
    min: ScalarSchema,
    max: ScalarSchema,
    mean: z.number().nullable(),
    stddev: z.number().nullable(),
    skewness: z.number().nullable(),
    quantiles: z
      .object({ p05: z.number(), p25: z.number(), p50: z.number(), p75: z.number(), p95: z.number() })
      .nullable()
      .openapi({ description: 'Numeric columns only' }),
    histogram: z.array(HistogramBinSchema).nullable().openapi({ description: 'Numeric and date columns: equal-width bins' }),
    top_values: z
      .array(z.object({ value: ScalarSchema, count: z.number().int() }))
      .nullable()
      .openapi({ description: 'Text and boolean columns: most frequent values' }),
    min_length: z.number().int().nullable(),
    max_length: z.number().int().nullable(),
    description: z.string().nullable().optional().openapi({
      description: 'What the column holds, as an admin or OpenMetadata says (added when served, not stored by the profiler)',
    }),
  })
  .openapi('ColumnProfile');

export const ProfileAlertSchema = z
  .object({
    column: z.string(),
    kind: z.enum(['constant', 'all_unique', 'high_missing', 'high_cardinality', 'skewed']),
    message: z.string(),
  })
  .openapi('ProfileAlert');

/** The profile of one table, as stored in table_profiles and served by the catalog. */
export const ProfileSchema = z
  .object({
    profile_version: z.literal(1),
    table_id: z.string(),
    profiled_at: z.string(),
    elapsed_ms: z.number(),
    rows: z.number().int(),
    column_count: z.number().int(),
    bytes: z.number().int().openapi({ description: 'Size of the Parquet file' }),
    sampled: z.boolean().openapi({ description: 'True when column statistics come from a sample' }),
    sample_rows: z.number().int().openapi({ description: 'Rows the column statistics were computed over' }),
    date_range: z
      .object({ column: z.string(), min: z.string().nullable(), max: z.string().nullable() })
      .nullable()
      .openapi({ description: 'Span of the first date or timestamp column' }),
    columns: z.array(ColumnProfileSchema),
    alerts: z.array(ProfileAlertSchema),
    sample: z.array(z.record(z.string(), z.unknown())).openapi({ description: 'Up to 5 rows, JSON-safe (64-bit integers and decimals as strings)' }),
  })
  .openapi('TableProfile');

export type TableProfile = z.infer<typeof ProfileSchema>;
export type ColumnProfile = z.infer<typeof ColumnProfileSchema>;
export type ProfileAlert = z.infer<typeof ProfileAlertSchema>;
