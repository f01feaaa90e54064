import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { quoteIdent, quoteLiteral } from '../../db/connection.ts';
import { copyToParquet, openScratchDb, readParquet, writeMerged } from '../duck.ts';
import { normaliseTableName, type Connector, type PullRequest, type PullResult, type SourceTable } from '../types.ts';
import { createBigQueryClient, describeError, type BigQueryClient, type BigQuerySource } from './client.ts';
import { castExpr, duckTypeOf, quoteBq, tablePath, watermarkLiteral, wireText, type BqField } from './types.ts';

const TIB = 2 ** 40;

/** Where an incremental pull continues: the newest value of the incremental column, and its BigQuery type. */
export interface BigQueryWatermark {
  value: string;
  type: string;
}

export function parseBigQueryWatermark(text: string | null): BigQueryWatermark | null {
  if (!text) return null;
  try {
    const w = JSON.parse(text) as Partial<BigQueryWatermark>;
    if (typeof w.value === 'string' && typeof w.type === 'string') return { value: w.value, type: w.type };
  } catch {}
  return null;
}

/** `12.3 MB` */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let n = bytes;
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/** Thrown when a query's dry run would scan more than `max_bytes_scanned`. */
export class CostGuardError extends Error {
  override name = 'CostGuardError';
}

/**
 * Dry-runs `sql` and refuses it when it would scan more than the source allows.
 * Returns the bytes the dry run reported.
 */
export async function guardCost(client: BigQueryClient, source: BigQuerySource, sql: string) {
  const dry = await client.dryRun(sql);
  if (source.max_bytes_scanned !== undefined && dry.bytes > source.max_bytes_scanned) {
    throw new CostGuardError(
      `refused by the cost guard: the query would scan ${formatBytes(dry.bytes)} (${dry.bytes} bytes), over max_bytes_scanned ` +
        `${formatBytes(source.max_bytes_scanned)} (${source.max_bytes_scanned} bytes); raise the limit or narrow the query`,
    );
  }
  return dry;
}

/**
 * The `bigquery` connector: offers the tables and views of one BigQuery dataset (with
 * descriptions, schemas and primary-key constraints) plus the queries configured under
 * `tables:`. A pull dry-runs its query (the cost guard), runs it as a query job with
 * `maximumBytesBilled`, pages the results into DuckDB and writes typed Parquet; with an
 * `incremental_column` and a previous file it reads only rows whose column is at least the
 * last watermark and merges them on the primary key. The bytes scanned and their estimated
 * cost are in the result.
 */
export function createBigQueryConnector(dataset: string, source: BigQuerySource): Connector {
  const client = createBigQueryClient(source);

  function optionsFor(sourceTable: string) {
    return source.tables[sourceTable] ?? source.tables[normaliseTableName(sourceTable)];
  }

  /** The SQL of a source table: its configured query, or the whole table. */
  function baseSql(sourceTable: string): string {
    const query = optionsFor(sourceTable)?.query;
    return query ?? `SELECT * FROM ${tablePath(source.project, source.dataset, sourceTable)}`;
  }

  const wrap = (err: unknown, what: string) =>
    err instanceof CostGuardError ? err : new Error(`BigQuery ${what}: ${describeError(err)}`);

  return {
    type: 'bigquery',

    async listTables(options = {}): Promise<SourceTable[]> {
      await client.checkDataset();
      let tables;
      try {
        tables = await client.listTables();
      } catch (err) {
        throw wrap(err, `listing ${source.project}.${source.dataset}`);
      }
      const offered: SourceTable[] = tables.map((t) => {
        const opts = optionsFor(t.id);
        return {
          source_table: t.id,
          name: normaliseTableName(t.id),
          description: opts?.description ?? t.description,
          primary_key: opts?.primary_key ?? t.primary_key,
          row_estimate: t.num_rows,
          columns: t.fields.map((f) => ({ name: f.name, type: duckTypeOf(f) })),
        };
      });
      for (const [name, opts] of Object.entries(source.tables)) {
        if (!opts.query) continue;
        let columns: SourceTable['columns'] = null;
        if (!options.brief) {
          // A configured query's schema comes from its dry run (which costs nothing).
          const dry = await client.dryRun(opts.query).catch((err) => {
            throw wrap(err, `query of table ${name}`);
          });
          columns = dry.fields?.map((f) => ({ name: f.name, type: duckTypeOf(f) })) ?? null;
        }
        offered.push({
          source_table: name, name: normaliseTableName(name), description: opts.description ?? null,
          primary_key: opts.primary_key ?? null, row_estimate: null, columns,
        });
      }
      return offered;
    },

    async pull(req: PullRequest): Promise<PullResult> {
      if (source.mode === 'remote') throw new Error(`source ${dataset} is remote: its tables stay in BigQuery and are not extracted`);
      const opts = optionsFor(req.source_table);
      const previous = parseBigQueryWatermark(req.watermark);
      const column = opts?.incremental_column;
      const incremental = req.mode === 'incremental' && !!req.existing && !!previous && !!column && !!req.primary_key?.length;
      const notes: string[] = [];
      if (req.mode === 'incremental' && !incremental) {
        notes.push(column ? 'full pull: no previous watermark' : 'full pull: the table has no incremental_column in instance.yaml');
      }
      const base = baseSql(req.source_table);
      const sql = incremental
        ? `SELECT * FROM (${base}) WHERE ${quoteBq(column!)} >= ${watermarkLiteral(previous!.value, previous!.type)}`
        : base;

      const dry = await guardCost(client, source, sql).catch((err) => {
        throw wrap(err, `dry run of ${req.source_table}`);
      });

      // Pages go to NDJSON on disk (columns c0…cN as BigQuery's text), then DuckDB types them.
      const ndjson = join(req.scratch_dir, 'rows.ndjson');
      const out = createWriteStream(ndjson);
      let fields: BqField[] | null = null;
      let jobId: string | null = null;
      let rowsRead = 0;
      try {
        for await (const page of client.query(sql, { maxBytes: source.max_bytes_scanned, pageSize: source.page_size, signal: req.signal })) {
          fields ??= page.fields;
          jobId = page.jobId;
          let chunk = '';
          for (const row of page.rows as Array<{ f: Array<{ v: unknown }> }>) {
            const line: Record<string, string | null> = {};
            fields.forEach((f, i) => (line[`c${i}`] = wireText(row.f[i]?.v, f)));
            chunk += JSON.stringify(line) + '\n';
          }
          rowsRead += page.rows.length;
          if (chunk && !out.write(chunk)) await once(out, 'drain');
        }
      } catch (err) {
        throw wrap(err, `query of ${req.source_table}`);
      } finally {
        out.end();
        await once(out, 'close');
      }
      fields ??= dry.fields ?? [];
      if (!fields.length) throw new Error(`BigQuery query of ${req.source_table} returned no schema`);

      const typed = fields.map((f, i) => `${castExpr(`c${i}`, f)} AS ${quoteIdent(f.name)}`).join(', ');
      const spec = `{${fields.map((_, i) => `'c${i}': 'VARCHAR'`).join(', ')}}`;
      const select = rowsRead
        ? `SELECT ${typed} FROM read_json(${quoteLiteral(ndjson)}, format = 'newline_delimited', columns = ${spec})`
        : `SELECT ${fields.map((f) => `NULL::${duckTypeOf(f)} AS ${quoteIdent(f.name)}`).join(', ')} WHERE false`;

      const db = await openScratchDb({ threads: 2 });
      let watermark: BigQueryWatermark | null = previous;
      try {
        if (incremental) await writeMerged(db, { existing: req.existing!, changedSql: select, primaryKey: req.primary_key!, target: req.target });
        else await copyToParquet(db, select, req.target);
        const field = column ? fields.find((f) => f.name === column) : undefined;
        if (column && !field) throw new Error(`incremental_column ${column} is not a column of ${req.source_table}`);
        if (field) {
          const [row] = await db.all<{ m: string | null }>(`SELECT max(${quoteIdent(column!)})::VARCHAR AS m FROM ${readParquet(req.target)}`);
          if (row?.m) watermark = { value: row.m, type: field.type.toUpperCase() };
        }
      } finally {
        db.close();
      }

      const stats = jobId ? await client.jobStatistics(jobId).catch(() => null) : null;
      const scanned = stats?.processed || dry.bytes;
      const billed = stats?.billed ?? null;
      const cost = ((billed ?? scanned) / TIB) * source.price_per_tib_usd;
      notes.push(`BigQuery scanned ${formatBytes(scanned)}${billed !== null ? `, billed ${formatBytes(billed)}` : ''} (estimated $${cost.toFixed(4)})`);
      return {
        mode: incremental ? 'incremental' : 'full',
        rows_read: rowsRead,
        watermark: watermark ? JSON.stringify(watermark) : null,
        notes,
        bytes_scanned: scanned,
        estimated_cost_usd: Number(cost.toFixed(6)),
      };
    },
  };
}
