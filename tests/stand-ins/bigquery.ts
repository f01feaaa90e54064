import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

type Json = Record<string, any>;

/** A column of a stand-in table, as BigQuery's schema names it. */
export interface StandInField {
  name: string;
  type: 'INT64' | 'FLOAT64' | 'NUMERIC' | 'BOOL' | 'STRING' | 'TIMESTAMP' | 'DATE' | 'DATETIME' | 'BYTES';
  description?: string;
}

export interface StandInTable {
  description?: string;
  fields: StandInField[];
  primaryKey?: string[];
  /** What a query over this table "scans" (default 1000 bytes per row). */
  bytes?: number;
}

export interface BigQueryStandIn {
  url: string;
  project: string;
  dataset: string;
  token: string;
  /** Every request as `METHOD path`. */
  requests: string[];
  /** The query text of every job inserted (dry runs marked `dry:`). */
  queries: string[];
  /** Creates a table of the dataset (or of another dataset of the project, `inDataset`). */
  createTable(name: string, table: StandInTable, inDataset?: string): Promise<void>;
  /** Holds every getQueryResults answer this long (to try time limits). */
  setResultDelay(ms: number): void;
  /** Job ids that were cancelled (jobs.cancel). */
  cancelled: string[];
  /** Inserts rows into `table` or `dataset.table` (DuckDB literals as SQL, e.g. `(1, 'a', TIMESTAMPTZ '2025-01-01 00:00:00+00')`). */
  insert(name: string, valuesSql: string): Promise<void>;
  setBytes(name: string, bytes: number): void;
  stop(): void;
}

/** BigQuery type → the stand-in's DuckDB column type (TIMESTAMP is absolute, DATETIME is wall-clock). */
const DUCK: Record<StandInField['type'], string> = {
  INT64: 'BIGINT', FLOAT64: 'DOUBLE', NUMERIC: 'DECIMAL(38,9)', BOOL: 'BOOLEAN', STRING: 'VARCHAR',
  TIMESTAMP: 'TIMESTAMPTZ', DATE: 'DATE', DATETIME: 'TIMESTAMP', BYTES: 'BLOB',
};

/** DuckDB result type → BigQuery field type. */
function bqTypeOf(duck: string): StandInField['type'] {
  if (duck === 'BIGINT' || duck === 'INTEGER' || duck === 'HUGEINT' || duck === 'SMALLINT') return 'INT64';
  if (duck === 'DOUBLE' || duck === 'FLOAT') return 'FLOAT64';
  if (duck.startsWith('DECIMAL')) return 'NUMERIC';
  if (duck === 'BOOLEAN') return 'BOOL';
  if (duck === 'TIMESTAMP WITH TIME ZONE') return 'TIMESTAMP';
  if (duck === 'TIMESTAMP') return 'DATETIME';
  if (duck === 'DATE') return 'DATE';
  if (duck === 'BLOB') return 'BYTES';
  return 'STRING';
}

/** A DuckDB expression giving a value as BigQuery's REST API writes it (TIMESTAMP as int64 microseconds). */
function wireExpr(col: string, type: StandInField['type']): string {
  switch (type) {
    case 'TIMESTAMP':
      return `epoch_us(${col})::VARCHAR`;
    case 'DATETIME':
      return `strftime(${col}, '%Y-%m-%dT%H:%M:%S.%f')`;
    case 'BYTES':
      return `to_base64(${col})`;
    default:
      return `${col}::VARCHAR`;
  }
}

const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/**
 * A local stand-in of the BigQuery REST API v2 over real HTTP, for the calls
 * @google-cloud/bigquery makes: datasets.get, tables.list, tables.get, jobs.insert (query,
 * with dryRun), jobs.get and jobs.getQueryResults (paged by pageToken, rows as
 * `{f:[{v}]}`). Every call needs `Authorization: Bearer <token>`. Queries run in an
 * in-memory DuckDB: backtick-quoted names become DuckDB identifiers, and
 * `project.dataset.table` the table. A query "processes" the bytes of each table it names.
 */
export async function startBigQueryStandIn(opts: { pageSize?: number } = {}): Promise<BigQueryStandIn> {
  const pageSize = opts.pageSize ?? 3;
  const project = 'acme-analytics';
  const dataset = 'sales';
  const token = 'ya29.stand-in-' + Math.random().toString(36).slice(2);
  const requests: string[] = [];
  const queries: string[] = [];
  /** Tables of the main dataset by name; tables of other datasets as `dataset.name`. */
  const tables = new Map<string, StandInTable & { created: number }>();
  const otherDatasets = new Set<string>();
  const cancelled: string[] = [];
  let resultDelay = 0;
  const jobs = new Map<string, { resource: Json; schema: Json; rows: Json[] }>();
  const instance = await DuckDBInstance.create(':memory:');
  const conn: DuckDBConnection = await instance.connect();
  await conn.run(`SET TimeZone = 'UTC'`);

  const json = (body: unknown, status = 200) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=UTF-8' } });
  const error = (status: number, reason: string, message: string) =>
    json({ error: { code: status, message, errors: [{ message, domain: 'global', reason }], status: reason.toUpperCase() } }, status);

  async function rowCount(name: string): Promise<number> {
    const r = await conn.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM ${name.split(".").map(quote).join(".")}`);
    return Number(r.getRowObjects()[0]!.n);
  }

  async function tableResource(name: string): Promise<Json> {
    const t = tables.get(name)!;
    const rows = await rowCount(name);
    return {
      kind: 'bigquery#table', id: `${project}:${dataset}.${name}`, type: 'TABLE',
      tableReference: { projectId: project, datasetId: dataset, tableId: name },
      ...(t.description ? { description: t.description } : {}),
      schema: { fields: t.fields.map((f) => ({ name: f.name, type: f.type === 'INT64' ? 'INTEGER' : f.type === 'FLOAT64' ? 'FLOAT' : f.type === 'BOOL' ? 'BOOLEAN' : f.type, mode: 'NULLABLE', ...(f.description ? { description: f.description } : {}) })) },
      ...(t.primaryKey ? { tableConstraints: { primaryKey: { columns: t.primaryKey } } } : {}),
      numRows: String(rows), numBytes: String(t.bytes ?? rows * 1000), creationTime: String(t.created),
    };
  }

  /** The BigQuery SQL as DuckDB SQL, and the tables it reads. */
  function translate(sql: string): { sql: string; tables: string[] } {
    const read: string[] = [];
    const resolve = (ds: string, name: string, ident: string) => {
      const key = ds === dataset ? name : `${ds}.${name}`;
      if (!tables.has(key)) throw new Error(`Not found: Table ${project}:${ds}.${name} was not found in location US`);
      read.push(key);
      return ds === dataset ? quote(name) : `${quote(ds)}.${quote(name)}`;
    };
    let out = sql.replace(/`([^`]+)`/g, (_, ident: string) => {
      const parts = ident.split('.');
      if (parts.length === 3) {
        if (parts[0] !== project) throw new Error(`Not found: Project ${parts[0]}`);
        return resolve(parts[1]!, parts[2]!, ident);
      }
      return quote(ident);
    });
    // Unquoted dataset.table names resolve in the job's project, as in BigQuery.
    out = out.replace(/(?<![\w."])([A-Za-z_]\w*)\.([A-Za-z_]\w*)(?![\w."])/g, (m, ds: string, name: string) =>
      ds === dataset || otherDatasets.has(ds) ? resolve(ds, name, m) : m);
    return { sql: out, tables: read };
  }

  async function describe(duckSql: string): Promise<Array<{ name: string; type: StandInField['type']; mode: string }>> {
    const described = (await conn.runAndReadAll(`DESCRIBE ${duckSql}`)).getRowObjects() as Array<{ column_name: string; column_type: string }>;
    return described.map((d) => ({ name: d.column_name, type: bqTypeOf(d.column_type), mode: 'NULLABLE' }));
  }

  async function runQuery(sql: string): Promise<{ schema: Json; rows: Json[] }> {
    const { sql: duckSql } = translate(sql);
    const fields = await describe(duckSql);
    const select = fields.map((f, i) => `${wireExpr(quote(f.name), f.type)} AS c${i}`).join(', ');
    const result = await conn.runAndReadAll(`SELECT ${select} FROM (${duckSql})`);
    const rows = (result.getRows() as Array<Array<string | null>>).map((r) => ({ f: r.map((v) => ({ v })) }));
    return { schema: { fields }, rows };
  }

  async function insertJob(body: Json): Promise<Response> {
    const config = body.configuration ?? {};
    const sql: string = config.query?.query ?? '';
    const dry = config.dryRun === true;
    const jobId: string = body.jobReference?.jobId ?? crypto.randomUUID();
    queries.push(`${dry ? 'dry:' : ''}${sql}`);
    let read: string[];
    let dryFields: Json[] = [];
    try {
      read = translate(sql).tables;
      if (dry && /^\s*(SELECT|WITH|\()/i.test(sql)) dryFields = await describe(translate(sql).sql);
    } catch (err) {
      const msg = (err as Error).message;
      return error(msg.startsWith('Not found') ? 404 : 400, msg.startsWith('Not found') ? 'notFound' : 'invalidQuery', msg);
    }
    let processed = 0;
    for (const name of read) processed += tables.get(name)!.bytes ?? (await rowCount(name)) * 1000;
    const resource: Json = {
      kind: 'bigquery#job', id: `${project}:US.${jobId}`,
      jobReference: { projectId: project, jobId, location: 'US' },
      configuration: config, status: { state: 'DONE' },
      statistics: {
        totalBytesProcessed: String(processed),
        query: {
          totalBytesProcessed: String(processed), totalBytesBilled: String(dry ? 0 : Math.max(processed, 10 * 1024 * 1024)),
          statementType: /^\s*(SELECT|WITH|\()/i.test(sql) ? 'SELECT' : sql.trim().split(/\s+/)[0]!.toUpperCase(),
          referencedTables: [...new Set(read)].map((t) => (t.includes('.') ? { projectId: project, datasetId: t.split('.')[0], tableId: t.split('.')[1] } : { projectId: project, datasetId: dataset, tableId: t })),
        },
      },
    };
    const limit = config.query?.maximumBytesBilled;
    if (!dry && limit !== undefined && processed > Number(limit)) {
      resource.status = { state: 'DONE', errorResult: { reason: 'bytesBilledLimitExceeded', message: `Query exceeded limit for bytes billed: ${limit}.` } };
      resource.status.errors = [resource.status.errorResult];
      return json(resource);
    }
    if (dry) {
      resource.statistics.query.schema = { fields: dryFields };
      return json(resource);
    }
    try {
      const { schema, rows } = await runQuery(sql);
      jobs.set(jobId, { resource, schema, rows });
      resource.statistics.query.schema = schema;
    } catch (err) {
      resource.status = { state: 'DONE', errorResult: { reason: 'invalidQuery', message: (err as Error).message } };
      resource.status.errors = [resource.status.errorResult];
    }
    return json(resource);
  }

  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const url = new URL(req.url);
      requests.push(`${req.method} ${url.pathname}`);
      if (req.headers.get('authorization') !== `Bearer ${token}`) {
        return error(401, 'unauthorized', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.');
      }
      const m = /^\/bigquery\/v2\/projects\/([^/]+)(\/.*)?$/.exec(url.pathname);
      if (!m) return error(404, 'notFound', `Not found: ${url.pathname}`);
      if (m[1] !== project) return error(404, 'notFound', `Not found: Project ${m[1]}`);
      const rest = m[2] ?? '';
      let d: RegExpExecArray | null;
      if ((d = /^\/datasets\/([^/]+)(\/tables(?:\/([^/]+))?)?$/.exec(rest)) && req.method === 'GET') {
        if (d[1] !== dataset) return error(404, 'notFound', `Not found: Dataset ${project}:${d[1]}`);
        if (!d[2]) return json({ kind: 'bigquery#dataset', id: `${project}:${dataset}`, datasetReference: { projectId: project, datasetId: dataset }, location: 'US' });
        if (!d[3]) {
          const names = [...tables.keys()].filter((k) => !k.includes('.')).sort();
          const start = Number(url.searchParams.get('pageToken') ?? 0);
          const max = Number(url.searchParams.get('maxResults') ?? 2);
          const slice = names.slice(start, start + max);
          return json({
            kind: 'bigquery#tableList', totalItems: names.length,
            tables: slice.map((n) => ({ kind: 'bigquery#table', id: `${project}:${dataset}.${n}`, type: 'TABLE', tableReference: { projectId: project, datasetId: dataset, tableId: n } })),
            ...(start + max < names.length ? { nextPageToken: String(start + max) } : {}),
          });
        }
        const name = decodeURIComponent(d[3]);
        if (!tables.has(name)) return error(404, 'notFound', `Not found: Table ${project}:${dataset}.${name}`);
        return json(await tableResource(name));
      }
      if (rest === '/jobs' && req.method === 'POST') return insertJob((await req.json()) as Json);
      if ((d = /^\/jobs\/([^/]+)\/cancel$/.exec(rest)) && req.method === 'POST') {
        cancelled.push(decodeURIComponent(d[1]!));
        return json({ kind: 'bigquery#jobCancelResponse', job: jobs.get(decodeURIComponent(d[1]!))?.resource ?? {} });
      }
      if ((d = /^\/jobs\/([^/]+)$/.exec(rest)) && req.method === 'GET') {
        const job = jobs.get(decodeURIComponent(d[1]!));
        return job ? json(job.resource) : error(404, 'notFound', `Not found: Job ${project}:${d[1]}`);
      }
      if ((d = /^\/queries\/([^/]+)$/.exec(rest)) && req.method === 'GET') {
        const jobId = decodeURIComponent(d[1]!);
        const job = jobs.get(jobId);
        if (!job) return error(404, 'notFound', `Not found: Job ${project}:${jobId}`);
        if (resultDelay) await Bun.sleep(resultDelay);
        const start = Number(url.searchParams.get('pageToken') ?? url.searchParams.get('startIndex') ?? 0);
        const max = Math.min(Number(url.searchParams.get('maxResults') ?? pageSize), pageSize);
        const slice = job.rows.slice(start, start + max);
        return json({
          kind: 'bigquery#getQueryResultsResponse', jobReference: job.resource.jobReference, jobComplete: true,
          schema: job.schema, totalRows: String(job.rows.length), rows: slice, totalBytesProcessed: job.resource.statistics.totalBytesProcessed,
          cacheHit: false, ...(start + max < job.rows.length ? { pageToken: String(start + max) } : {}),
        });
      }
      return error(404, 'notFound', `Not found: ${req.method} ${url.pathname}`);
    },
  });

  return {
    url: `http://127.0.0.1:${server.port}`,
    project, dataset, token, requests, queries, cancelled,
    async createTable(name, table, inDataset = dataset) {
      const columns = table.fields.map((f) => `${quote(f.name)} ${DUCK[f.type]}`).join(', ');
      if (inDataset === dataset) {
        tables.set(name, { ...table, created: Date.now() });
        await conn.run(`CREATE TABLE ${quote(name)} (${columns})`);
        return;
      }
      otherDatasets.add(inDataset);
      tables.set(`${inDataset}.${name}`, { ...table, created: Date.now() });
      await conn.run(`CREATE SCHEMA IF NOT EXISTS ${quote(inDataset)}`);
      await conn.run(`CREATE TABLE ${quote(inDataset)}.${quote(name)} (${columns})`);
    },
    setResultDelay(ms) {
      resultDelay = ms;
    },
    async insert(name, valuesSql) {
      await conn.run(`INSERT INTO ${name.split('.').map(quote).join('.')} VALUES ${valuesSql}`);
    },
    setBytes(name, bytes) {
      tables.get(name)!.bytes = bytes;
    },
    stop() {
      server.stop(true);
      conn.closeSync();
      instance.closeSync();
    },
  };
}
