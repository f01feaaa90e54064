import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { SourceConfig } from '../../config.ts';
import { quoteIdent, quoteLiteral } from '../../db/connection.ts';
import { copyToParquet, openScratchDb, writeMerged, type ScratchDb } from '../duck.ts';
import { normaliseTableName, type Connector, type PullRequest, type PullResult, type SourceTable } from '../types.ts';
import { ServiceUnavailableError } from '../../errors.ts';

type LocalSource = Extract<SourceConfig, { type: 'local' }>;

/** File endings the local connector reads, each with its DuckDB reader. */
const READERS: Array<[RegExp, (path: string) => string]> = [
  [/\.(csv|tsv|txt)(\.gz)?$/i, (p) => `read_csv(${quoteLiteral(p)}, auto_detect = true, header = true, sample_size = 20480)`],
  [/\.parquet$/i, (p) => `read_parquet(${quoteLiteral(p)})`],
  [/\.(json|jsonl|ndjson)(\.gz)?$/i, (p) => `read_json_auto(${quoteLiteral(p)})`],
];

/** Rows are counted for the table list only in files up to this size (bigger ones are not worth a scan). */
const COUNT_LIMIT_BYTES = 64 * 1024 * 1024;

function readerFor(path: string): string | undefined {
  const hit = READERS.find(([re]) => re.test(path));
  return hit?.[1](path);
}

function stemOf(file: string): string {
  return file.replace(/(\.gz)?$/i, '').replace(/\.[^.]+$/, '');
}

/**
 * The `local` connector: a folder of CSV, Parquet and JSON files, one table per file,
 * read with DuckDB. Incremental pulls need `tables.<name>.watermark_column` in the
 * source config and a primary key; rows whose watermark is newer than the last pull's
 * are merged into the previous file on the key.
 */
export function createLocalConnector(dataset: string, source: LocalSource): Connector {
  const folder = source.path;

  const fileOf = (sourceTable: string): string => {
    // source_table is a plain file name inside the folder, never a path.
    if (sourceTable !== basename(sourceTable) || sourceTable.startsWith('.')) {
      throw new Error(`source table ${sourceTable} is not a file name in ${folder}`);
    }
    const path = join(folder, sourceTable);
    if (!existsSync(path)) throw new Error(`source file ${path} does not exist`);
    if (!readerFor(path)) throw new Error(`source file ${path} is not CSV, Parquet or JSON`);
    return path;
  };

  const describe = async (db: ScratchDb, reader: string) =>
    (await db.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${reader}`)).map((r) => ({
      name: r.column_name,
      type: r.column_type,
    }));

  return {
    type: 'local',

    async listTables({ brief = false }: { brief?: boolean } = {}) {
      if (!existsSync(folder)) throw new ServiceUnavailableError(`source ${dataset}: folder ${folder} does not exist`, 60);
      const files = readdirSync(folder)
        .filter((f) => !f.startsWith('.') && readerFor(f) && statSync(join(folder, f)).isFile())
        .sort();
      const db = await openScratchDb({ threads: 1 });
      try {
        const tables: SourceTable[] = [];
        for (const file of files) {
          const path = join(folder, file);
          const reader = readerFor(path)!;
          const name = normaliseTableName(stemOf(file));
          const options = source.tables[name] ?? {};
          let columns: SourceTable['columns'] = null;
          let rows: number | null = null;
          // A brief listing reads no file at all.
          if (!brief) {
            try {
              columns = await describe(db, reader);
              if (statSync(path).size <= COUNT_LIMIT_BYTES) {
                rows = Number((await db.all<{ n: string }>(`SELECT count(*)::BIGINT AS n FROM ${reader}`))[0]!.n);
              }
            } catch {
              // An unreadable file is still listed; pulling it reports the reader's error.
            }
          }
          tables.push({
            source_table: file,
            name,
            description: options.description ?? null,
            primary_key: options.primary_key ?? null,
            row_estimate: rows,
            columns,
          });
        }
        return tables;
      } finally {
        db.close();
      }
    },

    async pull(req: PullRequest): Promise<PullResult> {
      const path = fileOf(req.source_table);
      const reader = readerFor(path)!;
      const options = source.tables[normaliseTableName(stemOf(req.source_table))] ?? {};
      const primaryKey = req.primary_key ?? options.primary_key ?? null;
      const wmColumn = options.watermark_column;
      const db = await openScratchDb({ threads: 2 });
      try {
        const maxWatermark = async (sql: string) => {
          if (!wmColumn) return null;
          const [r] = await db.all<{ w: string | null }>(`SELECT max(${quoteIdent(wmColumn)})::VARCHAR AS w FROM ${sql}`);
          return r?.w ?? null;
        };
        if (req.mode === 'incremental' && req.existing && req.watermark && wmColumn) {
          if (!primaryKey?.length) throw new Error(`incremental sync of ${req.source_table} needs a primary key`);
          const columns = await describe(db, reader);
          const wm = columns.find((c) => c.name === wmColumn);
          if (!wm) throw new Error(`watermark column ${wmColumn} is not in ${req.source_table}`);
          const changedSql = `SELECT * FROM ${reader} WHERE ${quoteIdent(wmColumn)} > CAST($1 AS ${wm.type})`;
          // The watermark is bound as a value; the type name comes from DuckDB's own DESCRIBE.
          await db.run(`SET VARIABLE __wm = ?`, [req.watermark]);
          const rows = await writeMerged(db, {
            existing: req.existing,
            changedSql: changedSql.replace('$1', 'getvariable(\'__wm\')'),
            primaryKey,
            target: req.target,
          });
          const watermark = await maxWatermark(`read_parquet(${quoteLiteral(req.target)})`);
          return { mode: 'incremental', rows_read: rows, watermark: watermark ?? req.watermark };
        }
        const rows = await copyToParquet(db, `SELECT * FROM ${reader}`, req.target);
        return { mode: 'full', rows_read: rows, watermark: await maxWatermark(`read_parquet(${quoteLiteral(req.target)})`) };
      } finally {
        db.close();
      }
    },
  };
}
