import { BigQuery, type Job } from '@google-cloud/bigquery';
import { readFileSync } from 'node:fs';
import { JWT, OAuth2Client } from 'google-auth-library';
import type { SourceConfig } from '../../config.ts';
import type { BqField } from './types.ts';

export type BigQuerySource = Extract<SourceConfig, { type: 'bigquery' }>;
type Json = Record<string, any>;

/** A table of the dataset as tables.get describes it. */
export interface BqTable {
  id: string;
  description: string | null;
  fields: BqField[];
  primary_key: string[] | null;
  num_rows: number | null;
}

/** What a dry run says a query would do. */
export interface DryRun {
  bytes: number;
  fields: BqField[] | null;
  /** `SELECT`, `SCRIPT`, `INSERT`…: what BigQuery would run. */
  statement_type: string | null;
  /** Every table the query would read, as `project.dataset.table`. */
  referenced_tables: string[];
}

/** The first line of a client error, without the library's stack or JSON dump. */
export function describeError(err: unknown): string {
  const e = err as { message?: string; code?: number; errors?: Array<{ message?: string }> };
  const text = e?.errors?.[0]?.message ?? e?.message ?? String(err);
  const first = text.split('\n')[0]!.slice(0, 500);
  return e?.code === 401 || e?.code === 403 ? `access denied (${e.code}): ${first}` : first;
}

/** A service-account key file as an auth client (the token exchange goes to the key's Google token endpoint). */
function serviceAccountClient(path: string): JWT {
  let key: { client_email?: string; private_key?: string; private_key_id?: string };
  try {
    key = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`credentials_file ${path} cannot be read as JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  if (!key.client_email || !key.private_key) {
    throw new Error(`credentials_file ${path} is not a service-account key (it needs client_email and private_key)`);
  }
  return new JWT({ email: key.client_email, key: key.private_key, keyId: key.private_key_id, scopes: ['https://www.googleapis.com/auth/bigquery'] });
}

/**
 * The BigQuery REST API through @google-cloud/bigquery, with the source's credentials:
 * a service-account key file, or an OAuth2 access token (sent as `Bearer`; it is not
 * refreshed). `api_endpoint` sends every call elsewhere (a stand-in, a proxy).
 */
export function createBigQueryClient(source: BigQuerySource) {
  const options: ConstructorParameters<typeof BigQuery>[0] = {
    projectId: source.project,
    ...(source.api_endpoint ? { apiEndpoint: source.api_endpoint.replace(/\/+$/, '') } : {}),
    ...(source.location ? { location: source.location } : {}),
    // The engine retries on the next sync; a hanging warehouse must not hold the job.
    autoRetry: true,
    maxRetries: 2,
  };
  let keyError: Error | null = null;
  if (source.access_token) {
    const auth = new OAuth2Client();
    auth.setCredentials({ access_token: source.access_token, token_type: 'Bearer' });
    options.authClient = auth;
  } else {
    try {
      options.authClient = serviceAccountClient(source.credentials_file!);
    } catch (err) {
      // Reported by the first call, so a bad key fails this source's listing, not the server.
      keyError = err as Error;
    }
  }
  const usable = () => {
    if (keyError) throw keyError;
  };
  const bq = new BigQuery(options);
  const dataset = bq.dataset(source.dataset);

  return {
    /** Checks that the dataset exists and the credentials may read it. */
    async checkDataset(): Promise<void> {
      usable();
      try {
        await dataset.get();
      } catch (err) {
        const code = (err as { code?: number }).code;
        if (code === 404) throw new Error(`BigQuery dataset ${source.project}.${source.dataset} does not exist`);
        throw new Error(`BigQuery dataset ${source.project}.${source.dataset}: ${describeError(err)}`);
      }
    },

    /** Every table and view of the dataset, with schema and description (tables.list, then tables.get for each). */
    async listTables(): Promise<BqTable[]> {
      const [tables] = await dataset.getTables({ autoPaginate: true });
      const out: BqTable[] = [];
      const queue = [...tables];
      // A few tables.get calls at once: a dataset may hold hundreds of tables.
      await Promise.all(Array.from({ length: Math.min(8, queue.length) }, async () => {
        for (let t = queue.shift(); t; t = queue.shift()) {
          const [meta] = (await t.getMetadata()) as unknown as [Json];
          out.push({
            id: t.id!,
            description: meta.description ?? null,
            fields: meta.schema?.fields ?? [],
            primary_key: meta.tableConstraints?.primaryKey?.columns ?? null,
            num_rows: meta.numRows !== undefined ? Number(meta.numRows) : null,
          });
        }
      }));
      return out.sort((a, b) => a.id.localeCompare(b.id));
    },

    /** Dry-runs a query: the bytes it would process and its result schema. */
    async dryRun(sql: string): Promise<DryRun> {
      usable();
      const [, resp] = (await bq.createQueryJob({ query: sql, useLegacySql: false, dryRun: true })) as unknown as [Job, Json];
      const stats = resp.statistics ?? {};
      return {
        bytes: Number(stats.query?.totalBytesProcessed ?? stats.totalBytesProcessed ?? 0),
        fields: stats.query?.schema?.fields ?? null,
        statement_type: stats.query?.statementType ?? null,
        referenced_tables: ((stats.query?.referencedTables ?? []) as Json[]).map((r) => `${r.projectId}.${r.datasetId}.${r.tableId}`),
      };
    },

    /**
     * Runs a query job and yields its result pages (jobs.getQueryResults by pageToken) as
     * raw REST rows; `maxBytes` makes BigQuery itself refuse a bigger scan.
     */
    async *query(sql: string, opts: { maxBytes?: number; pageSize: number; signal?: AbortSignal; jobTimeoutMs?: number; onJob?: (cancel: () => Promise<unknown>) => void }) {
      const [job] = await bq.createQueryJob({
        query: sql, useLegacySql: false, ...(opts.maxBytes ? { maximumBytesBilled: String(opts.maxBytes) } : {}),
        ...(opts.jobTimeoutMs ? { jobTimeoutMs: opts.jobTimeoutMs } : {}),
      });
      opts.onJob?.(() => job.cancel());
      let request: Json | null = { autoPaginate: false, maxResults: opts.pageSize, skipParsing: true };
      while (request) {
        opts.signal?.throwIfAborted();
        const [rows, next, resp] = (await job.getQueryResults(request)) as unknown as [Json[], Json | null, Json];
        if (resp.jobComplete === false) {
          request = { ...request };
          continue;
        }
        yield { fields: (resp.schema?.fields ?? []) as BqField[], rows, jobId: job.id!, totalRows: Number(resp.totalRows ?? 0) };
        request = next?.pageToken ? { ...request, pageToken: next.pageToken } : null;
      }
    },

    /** The bytes the finished job processed and billed (jobs.get). */
    async jobStatistics(jobId: string): Promise<{ processed: number; billed: number }> {
      const [meta] = (await bq.job(jobId, source.location ? { location: source.location } : {}).getMetadata()) as unknown as [Json];
      const q = meta.statistics?.query ?? {};
      return { processed: Number(q.totalBytesProcessed ?? meta.statistics?.totalBytesProcessed ?? 0), billed: Number(q.totalBytesBilled ?? 0) };
    },
  };
}

export type BigQueryClient = ReturnType<typeof createBigQueryClient>;
