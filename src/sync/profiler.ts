import { statSync } from 'node:fs';
import { quoteIdent, quoteLiteral } from '../db/connection.ts';
import { openScratchDb, readParquet, type ScratchDb } from '../connectors/duck.ts';
import type { ColumnProfile, ProfileAlert, TableProfile } from './profile-schema.ts';

export interface ProfileOptions {
  /** Stored in the profile; defaults to the file name. */
  tableId?: string;
  /** Above this many rows, column statistics come from a sample. */
  sampleThreshold?: number;
  /** Roughly how many rows the sample holds. */
  sampleRows?: number;
  /** Rows up to which distinct counts are exact (HyperLogLog above). */
  exactDistinctLimit?: number;
  histogramBins?: number;
  topValues?: number;
  /** Reuse an open scratch database (its settings apply). */
  db?: ScratchDb;
}

type Kind = ColumnProfile['kind'];

/** Which statistics a DuckDB type gets. */
export function kindOf(type: string): Kind {
  const t = type.toUpperCase();
  if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|REAL|DECIMAL)/.test(t)) return 'numeric';
  if (/^(DATE|TIMESTAMP)/.test(t)) return 'date';
  if (/^(VARCHAR|UUID|ENUM)/.test(t)) return 'text';
  if (t === 'BOOLEAN') return 'boolean';
  return 'other';
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const round = (v: number | null, digits = 6): number | null =>
  v === null || !Number.isFinite(v) ? null : Math.round(v * 10 ** digits) / 10 ** digits;

/**
 * Profiles a Parquet file with DuckDB aggregates in two passes over the data (plus the
 * row count from the Parquet footer and 5 sample rows): pass one gathers counts,
 * distinct counts, extremes, moments, quantiles and top-value candidates for every
 * column at once; pass two fills equal-width histograms and the counts of the top values.
 * Tables above `sampleThreshold` rows are profiled on a system sample.
 *
 * @example const profile = await profileParquet('data/parquet/sales/orders.parquet', { tableId: 'sales.orders' })
 */
export async function profileParquet(path: string, options: ProfileOptions = {}): Promise<TableProfile> {
  const {
    tableId = path.split('/').pop()!.replace(/\.parquet$/, ''),
    sampleThreshold = 5_000_000,
    sampleRows = 1_000_000,
    exactDistinctLimit = 100_000,
    histogramBins = 20,
    topValues = 5,
  } = options;
  const started = performance.now();
  const db = options.db ?? (await openScratchDb());
  try {
    const file = readParquet(path);
    const described = await db.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${file}`);
    const [{ n }] = await db.all<{ n: string }>(`SELECT count(*)::BIGINT AS n FROM ${file}`);
    const rows = Number(n);
    const sampled = rows > sampleThreshold;
    const pct = sampled ? Math.min(100, Math.max(0.01, (sampleRows / rows) * 100)) : 100;
    // System sampling picks whole vectors: cheap on huge files, and the fixed seed keeps it repeatable.
    const source = sampled ? `(SELECT * FROM ${file} USING SAMPLE ${pct.toFixed(4)}% (system, 42))` : file;
    const cols = described.map((d, i) => ({ name: d.column_name, type: d.column_type, kind: kindOf(d.column_type), a: `c${i}` }));

    // Pass one: everything that needs only one look at each value.
    const exact = !sampled && rows <= exactDistinctLimit;
    const select: string[] = ['count(*)::BIGINT AS _rows'];
    for (const c of cols) {
      const q = quoteIdent(c.name);
      select.push(`count(${q})::BIGINT AS ${c.a}_nn`);
      const distinctArg = c.kind === 'other' ? `${q}::VARCHAR` : q;
      select.push(`${exact ? `count(DISTINCT ${distinctArg})` : `approx_count_distinct(${distinctArg})`}::BIGINT AS ${c.a}_d`);
      if (c.kind === 'numeric') {
        const d = `${q}::DOUBLE`;
        select.push(
          `min(${d}) AS ${c.a}_min`, `max(${d}) AS ${c.a}_max`, `avg(${d}) AS ${c.a}_mean`, `stddev_samp(${d}) AS ${c.a}_sd`,
          `skewness(${d}) AS ${c.a}_sk`, `approx_quantile(${d}, [0.05, 0.25, 0.5, 0.75, 0.95]) AS ${c.a}_q`,
        );
      } else if (c.kind === 'date') {
        select.push(`min(${q})::VARCHAR AS ${c.a}_min`, `max(${q})::VARCHAR AS ${c.a}_max`,
          `epoch(min(${q}))::DOUBLE AS ${c.a}_emin`, `epoch(max(${q}))::DOUBLE AS ${c.a}_emax`);
      } else if (c.kind === 'text') {
        select.push(`min(${q}::VARCHAR) AS ${c.a}_min`, `max(${q}::VARCHAR) AS ${c.a}_max`,
          `min(length(${q}::VARCHAR)) AS ${c.a}_lmin`, `max(length(${q}::VARCHAR)) AS ${c.a}_lmax`,
          `approx_top_k(${q}::VARCHAR, ${topValues}) AS ${c.a}_top`);
      } else if (c.kind === 'boolean') {
        select.push(`count_if(${q})::BIGINT AS ${c.a}_true`);
      }
    }
    const [p1] = await db.all<Record<string, any>>(`SELECT ${select.join(', ')} FROM ${source}`);
    const scanned = Number(p1!._rows);

    // Pass two: histograms (bins need pass one's extremes) and exact counts of the top values.
    const select2: string[] = [];
    const bins = new Map<string, { lo: number; width: number }>();
    for (const c of cols) {
      const q = quoteIdent(c.name);
      if (c.kind === 'numeric' || c.kind === 'date') {
        const lo = num(c.kind === 'numeric' ? p1![`${c.a}_min`] : p1![`${c.a}_emin`]);
        const hi = num(c.kind === 'numeric' ? p1![`${c.a}_max`] : p1![`${c.a}_emax`]);
        if (lo === null || hi === null || !(hi > lo)) continue;
        const width = (hi - lo) / histogramBins;
        bins.set(c.a, { lo, width });
        const v = c.kind === 'numeric' ? `${q}::DOUBLE` : `epoch(${q})::DOUBLE`;
        select2.push(`histogram(least(floor((${v} - ${lo}) / ${width})::INTEGER, ${histogramBins - 1})) AS ${c.a}_h`);
      } else if (c.kind === 'text') {
        const top = (p1![`${c.a}_top`] as string[] | null) ?? [];
        if (top.length) {
          select2.push(`histogram(${q}::VARCHAR) FILTER (WHERE ${q}::VARCHAR IN (${top.map(quoteLiteral).join(', ')})) AS ${c.a}_tv`);
        }
      }
    }
    const p2 = select2.length ? (await db.all<Record<string, any>>(`SELECT ${select2.join(', ')} FROM ${source}`))[0]! : {};

    const columns: ColumnProfile[] = cols.map((c) => {
      const nn = Number(p1![`${c.a}_nn`]);
      const nulls = scanned - nn;
      const profile: ColumnProfile = {
        name: c.name,
        type: c.type,
        kind: c.kind,
        null_count: sampled ? Math.round((nulls / Math.max(scanned, 1)) * rows) : nulls,
        null_pct: round(scanned ? (nulls / scanned) * 100 : 0, 2)!,
        distinct_count: Number(p1![`${c.a}_d`]),
        distinct_exact: exact,
        min: null, max: null, mean: null, stddev: null, skewness: null, quantiles: null, histogram: null, top_values: null,
        min_length: null, max_length: null,
      };
      if (c.kind === 'numeric') {
        profile.min = num(p1![`${c.a}_min`]);
        profile.max = num(p1![`${c.a}_max`]);
        profile.mean = round(num(p1![`${c.a}_mean`]));
        profile.stddev = round(num(p1![`${c.a}_sd`]));
        profile.skewness = round(num(p1![`${c.a}_sk`]), 4);
        const q = p1![`${c.a}_q`] as number[] | null;
        if (q && q.every((x) => x !== null)) {
          profile.quantiles = { p05: round(q[0]!)!, p25: round(q[1]!)!, p50: round(q[2]!)!, p75: round(q[3]!)!, p95: round(q[4]!)! };
        }
      } else if (c.kind === 'date' || c.kind === 'text') {
        profile.min = (p1![`${c.a}_min`] as string | null) ?? null;
        profile.max = (p1![`${c.a}_max`] as string | null) ?? null;
      }
      if (c.kind === 'text') {
        profile.min_length = num(p1![`${c.a}_lmin`]);
        profile.max_length = num(p1![`${c.a}_lmax`]);
        const tv = (p2[`${c.a}_tv`] as Array<{ key: string; value: string }> | null) ?? [];
        profile.top_values = tv
          .map((e) => ({ value: e.key, count: Number(e.value) }))
          .sort((a, b) => b.count - a.count || String(a.value).localeCompare(String(b.value)));
      } else if (c.kind === 'boolean') {
        const t = Number(p1![`${c.a}_true`]);
        profile.top_values = [{ value: true, count: t }, { value: false, count: nn - t }].sort((a, b) => b.count - a.count);
      }
      const bin = bins.get(c.a);
      if (bin) {
        const counts = new Map(((p2[`${c.a}_h`] as Array<{ key: string; value: string }> | null) ?? []).map((e) => [Number(e.key), Number(e.value)]));
        const edge = (i: number) => {
          const x = bin.lo + bin.width * i;
          return c.kind === 'date' ? new Date(x * 1000).toISOString() : round(x)!;
        };
        profile.histogram = Array.from({ length: histogramBins }, (_, i) => ({ lower: edge(i), upper: edge(i + 1), count: counts.get(i) ?? 0 }));
      }
      return profile;
    });

    const sample = await db.all<Record<string, unknown>>(`SELECT * FROM ${file} LIMIT 5`);
    const firstDate = columns.find((c) => c.kind === 'date');
    return {
      profile_version: 1,
      table_id: tableId,
      profiled_at: new Date().toISOString(),
      elapsed_ms: Math.round(performance.now() - started),
      rows,
      column_count: columns.length,
      bytes: statSync(path).size,
      sampled,
      sample_rows: scanned,
      date_range: firstDate ? { column: firstDate.name, min: firstDate.min as string | null, max: firstDate.max as string | null } : null,
      columns,
      alerts: alertsFor(columns, scanned),
      sample,
    };
  } finally {
    if (!options.db) db.close();
  }
}

/** Data-quality alerts derived from column statistics. */
export function alertsFor(columns: ColumnProfile[], scanned: number): ProfileAlert[] {
  const alerts: ProfileAlert[] = [];
  for (const c of columns) {
    const nn = scanned - Math.round((c.null_pct / 100) * scanned);
    if (c.null_pct >= 20) {
      alerts.push({ column: c.name, kind: 'high_missing', message: `${c.null_pct}% of values are missing` });
    }
    if (nn > 0 && c.distinct_count === 1) {
      alerts.push({ column: c.name, kind: 'constant', message: `every non-missing value is ${JSON.stringify(c.min ?? c.top_values?.[0]?.value ?? null)}` });
      continue;
    }
    // HyperLogLog can overshoot slightly, so an estimate within 2% counts as all unique.
    const unique = nn > 1 && (c.distinct_exact ? c.distinct_count === nn : c.distinct_count >= nn * 0.98);
    if (unique && (c.kind === 'numeric' || c.kind === 'text')) {
      alerts.push({ column: c.name, kind: 'all_unique', message: 'every value is different (an identifier?)' });
    } else if (c.kind === 'text' && c.distinct_count > 50 && c.distinct_count > nn * 0.5) {
      alerts.push({ column: c.name, kind: 'high_cardinality', message: `${c.distinct_count} distinct values in ${nn} rows` });
    }
    if (c.kind === 'numeric' && c.skewness !== null && Math.abs(c.skewness) > 2) {
      alerts.push({ column: c.name, kind: 'skewed', message: `skewness ${c.skewness.toFixed(2)}` });
    }
  }
  return alerts;
}
