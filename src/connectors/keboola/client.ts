/** The parts of Keboola Storage API v2 responses the connector reads. */
export interface KbcMetadata {
  key: string;
  value: string;
  provider?: string;
}

export interface KbcBucket {
  id: string;
  name: string;
  stage?: string;
  description?: string;
}

/** A typed table's column (tables with a native-types backend: `isTyped`). */
export interface KbcTypedColumn {
  name: string;
  basetype?: string;
  definition?: { type?: string; length?: string; nullable?: boolean };
}

export interface KbcTable {
  id: string;
  name: string;
  displayName?: string;
  primaryKey?: string[];
  rowsCount?: number | null;
  columns?: string[];
  columnMetadata?: Record<string, KbcMetadata[]>;
  /** Alias and linked-bucket tables: the column metadata of the table they point to. */
  sourceColumnMetadata?: Record<string, KbcMetadata[]>;
  metadata?: KbcMetadata[];
  isTyped?: boolean;
  isAlias?: boolean;
  sourceTable?: { id: string; project?: { id: number | string; name?: string } } | null;
  definition?: { columns?: KbcTypedColumn[] };
}

export interface KbcJob {
  id: number | string;
  status: 'waiting' | 'processing' | 'success' | 'error' | 'cancelled' | 'terminated' | string;
  createdTime?: string;
  /** `[]` or null while the job runs; `{file: {id}, cacheHit}` once an export succeeded. */
  results?: { file?: { id: number | string }; cacheHit?: boolean } | unknown[] | null;
  error?: { message?: string; code?: string; exceptionId?: string } | null;
}

/** A file's detail with `federationToken=1`: where its data is and the credentials to read it. */
export interface KbcFile {
  id: number | string;
  name?: string;
  /** Pre-signed HTTPS URL of the file (or of the slice manifest when sliced). */
  url: string;
  isSliced: boolean;
  provider?: 'aws' | 'azure' | 'gcp' | string;
  region?: string;
  /** AWS stacks. */
  credentials?: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string };
  s3Path?: { bucket: string; key: string };
  /** Azure stacks: `BlobEndpoint=https://<account>.blob.core.windows.net;SharedAccessSignature=sv=…`. */
  absCredentials?: { SASConnectionString: string; expiration?: string };
  absPath?: { container: string; name: string };
  /** GCP stacks: an OAuth access token for Cloud Storage. */
  gcsCredentials?: { access_token: string; token_type?: string; expires_in?: number; projectId?: string };
  gcsPath?: { bucket: string; key: string };
}

/** Thrown for a non-2xx answer of the Storage API, with Keboola's own message and exception id. */
export class KeboolaApiError extends Error {
  override name = 'KeboolaApiError';
  constructor(message: string, readonly status: number, readonly exceptionId: string | null = null) {
    super(message);
  }
}

/** How a client retries: 5xx (except 501) and 429 answers, failed connections and timeouts. */
export interface RetryPolicy {
  maxRetries: number;
  /** First backoff; doubles with each retry (at most a minute) unless the answer says Retry-After. */
  backoffMs: number;
  /** How long one attempt may take (an API call until its body is read, a download until it is written). */
  timeoutMs?: number;
}

/** True for answers worth asking again: 429 and 5xx except 501 (Not Implemented never changes). */
export function isRetryable(status: number): boolean {
  return status === 429 || (status >= 500 && status !== 501);
}

/** The wait a `Retry-After` header asks for (seconds or an HTTP date), at most five minutes; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const value = header.trim();
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - now;
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), 300_000) : undefined;
}

/**
 * `fetch` that retries as Keboola's official clients do: a 5xx other than 501, a 429 or a
 * failed connection is tried again after `Retry-After` when the answer gives one, else
 * after an exponential backoff. Other answers (also errors) are returned as they are.
 */
export async function fetchWithRetry(
  doFetch: typeof fetch,
  url: string,
  init: RequestInit,
  policy: RetryPolicy,
): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    let res: Response | undefined;
    let failure: unknown;
    const signals = [init.signal, policy.timeoutMs ? AbortSignal.timeout(policy.timeoutMs) : undefined].filter((x): x is AbortSignal => !!x);
    try {
      res = await doFetch(url, { ...init, signal: signals.length ? AbortSignal.any(signals) : undefined });
    } catch (err) {
      failure = policy.timeoutMs && (err as Error).name === 'TimeoutError' ? new Error(`no answer within ${policy.timeoutMs / 1000} s`) : err;
    }
    if (res && !isRetryable(res.status)) return res;
    if (attempt >= policy.maxRetries || init.signal?.aborted) {
      if (res) return res;
      throw failure;
    }
    const wait = retryAfterMs(res?.headers.get('retry-after') ?? null) ?? Math.min(policy.backoffMs * 2 ** attempt, 60_000);
    await res?.body?.cancel().catch(() => {});
    await Bun.sleep(wait);
  }
}

const DOWNLOAD_TIMEOUT_MS = 30 * 60 * 1000;

/** A thin Storage API client: base URL and token from the source config. */
export function createStorageClient(opts: { url: string; token: string; fetch?: typeof fetch; retry?: RetryPolicy }) {
  const base = opts.url.replace(/\/+$/, '');
  const doFetch = opts.fetch ?? fetch;
  const retry = opts.retry ?? { maxRetries: 6, backoffMs: 1000 };

  async function call<T>(method: string, path: string, body?: Record<string, string>): Promise<T> {
    const headers: Record<string, string> = { 'X-StorageApi-Token': opts.token, accept: 'application/json' };
    let payload: string | undefined;
    if (body) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      payload = new URLSearchParams(body).toString();
    }
    let res: Response;
    try {
      res = await fetchWithRetry(doFetch, base + path, { method, headers, body: payload }, retry);
    } catch (err) {
      throw new KeboolaApiError(`Keboola Storage API at ${base} is unreachable: ${(err as Error).message}`, 0);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw new KeboolaApiError(`Keboola ${method} ${path.split('?')[0]} broke off: ${(err as Error).message}`, 0);
    }
    if (!res.ok) {
      let detail = text.slice(0, 500);
      let exceptionId: string | null = null;
      try {
        const parsed = JSON.parse(text) as { error?: string; message?: string; exceptionId?: string };
        detail = parsed.error ?? parsed.message ?? detail;
        exceptionId = parsed.exceptionId ?? null;
      } catch {}
      const id = exceptionId ? ` (exceptionId ${exceptionId})` : '';
      throw new KeboolaApiError(`Keboola ${method} ${path.split('?')[0]} answered ${res.status}: ${detail}${id}`, res.status, exceptionId);
    }
    return JSON.parse(text) as T;
  }

  const enc = encodeURIComponent;
  return {
    listBuckets: () => call<KbcBucket[]>('GET', '/v2/storage/buckets'),
    listTables: (bucketId: string) =>
      call<KbcTable[]>('GET', `/v2/storage/buckets/${enc(bucketId)}/tables?include=columns,columnMetadata,metadata`),
    getTable: (tableId: string) => call<KbcTable>('GET', `/v2/storage/tables/${enc(tableId)}`),
    exportAsync: (tableId: string, params: Record<string, string>) =>
      call<KbcJob>('POST', `/v2/storage/tables/${enc(tableId)}/export-async`, params),
    getJob: (jobId: string | number) => call<KbcJob>('GET', `/v2/storage/jobs/${enc(String(jobId))}`),
    getFile: (fileId: string | number) => call<KbcFile>('GET', `/v2/storage/files/${enc(String(fileId))}?federationToken=1`),
    /** Fetches a file URL (pre-signed, or with the headers the storage needs); retried like API calls. */
    async download(url: string, init: { headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Response> {
      let res: Response;
      try {
        // A slice may be large: an attempt gets half an hour, not an API call's time.
        res = await fetchWithRetry(doFetch, url, { headers: init.headers, signal: init.signal }, { ...retry, timeoutMs: DOWNLOAD_TIMEOUT_MS });
      } catch (err) {
        throw new KeboolaApiError(`download of ${url.split('?')[0]} failed: ${(err as Error).message}`, 0);
      }
      if (!res.ok) {
        const detail = (await res.text().catch(() => '')).replace(/\s+/g, ' ').slice(0, 300);
        throw new KeboolaApiError(`download of ${url.split('?')[0]} answered ${res.status}${detail ? `: ${detail}` : ''}`, res.status);
      }
      return res;
    },
  };
}

export type StorageClient = ReturnType<typeof createStorageClient>;
