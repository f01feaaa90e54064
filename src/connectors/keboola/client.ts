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

export interface KbcTable {
  id: string;
  name: string;
  displayName?: string;
  primaryKey?: string[];
  rowsCount?: number | null;
  columns?: string[];
  columnMetadata?: Record<string, KbcMetadata[]>;
  metadata?: KbcMetadata[];
  isTyped?: boolean;
  definition?: { columns?: Array<{ name: string; basetype?: string; definition?: { type?: string; length?: string; nullable?: boolean } }> };
}

export interface KbcJob {
  id: number | string;
  status: 'waiting' | 'processing' | 'success' | 'error' | 'cancelled' | 'terminated' | string;
  createdTime?: string;
  results?: { file?: { id: number | string } } | null;
  error?: { message?: string; code?: string } | null;
}

export interface KbcFile {
  id: number | string;
  name?: string;
  url: string;
  isSliced: boolean;
  provider?: string;
  region?: string;
  credentials?: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string };
  s3Path?: { bucket: string; key: string };
}

/** Thrown for a non-2xx answer of the Storage API, with Keboola's own message. */
export class KeboolaApiError extends Error {
  override name = 'KeboolaApiError';
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

/** A thin Storage API client: base URL and token from the source config. */
export function createStorageClient(opts: { url: string; token: string; fetch?: typeof fetch }) {
  const base = opts.url.replace(/\/+$/, '');
  const doFetch = opts.fetch ?? fetch;

  async function call<T>(method: string, path: string, body?: Record<string, string>): Promise<T> {
    const headers: Record<string, string> = { 'X-StorageApi-Token': opts.token, accept: 'application/json' };
    let payload: string | undefined;
    if (body) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      payload = new URLSearchParams(body).toString();
    }
    let res: Response;
    try {
      res = await doFetch(base + path, { method, headers, body: payload });
    } catch (err) {
      throw new KeboolaApiError(`Keboola Storage API at ${base} is unreachable: ${(err as Error).message}`, 0);
    }
    const text = await res.text();
    if (!res.ok) {
      let detail = text.slice(0, 500);
      try {
        const parsed = JSON.parse(text) as { error?: string; message?: string };
        detail = parsed.error ?? parsed.message ?? detail;
      } catch {}
      throw new KeboolaApiError(`Keboola ${method} ${path.split('?')[0]} answered ${res.status}: ${detail}`, res.status);
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
    /** Fetches a URL the API handed out (file manifest, slices): no token, those are pre-signed. */
    async download(url: string, signal?: AbortSignal): Promise<Response> {
      const res = await doFetch(url, { signal });
      if (!res.ok) throw new KeboolaApiError(`download of ${url.split('?')[0]} answered ${res.status}`, res.status);
      return res;
    },
  };
}

export type StorageClient = ReturnType<typeof createStorageClient>;
