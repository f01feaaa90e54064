import { mkdirSync, openSync, readSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { constants, gunzipSync } from 'node:zlib';
import type { KbcFile, StorageClient } from './client.ts';

/** Where the stacks' file storages are, when not where the file detail says (a proxy, a local stand-in). */
export interface StorageEndpoints {
  /** S3 endpoint (default: AWS's for the file's region). */
  s3?: string;
  /** Cloud Storage endpoint (default https://storage.googleapis.com). */
  gcs?: string;
  /** Azure blob endpoint (default: the BlobEndpoint of the file's absCredentials). */
  azure?: string;
}

/** The downloaded parts of an export. */
export interface DownloadedExport {
  paths: string[];
  /** Sliced exports never have a header row; a single file may, so it is checked. */
  sliced: boolean;
}

/** `BlobEndpoint=…;SharedAccessSignature=…` → its parts. */
function parseConnectionString(text: string): { endpoint?: string; sas?: string } {
  const parts = new Map<string, string>();
  for (const item of text.split(';')) {
    const at = item.indexOf('=');
    if (at > 0) parts.set(item.slice(0, at).trim(), item.slice(at + 1).trim());
  }
  return { endpoint: parts.get('BlobEndpoint'), sas: parts.get('SharedAccessSignature') };
}

const encodePath = (path: string) => path.split('/').map(encodeURIComponent).join('/');

/**
 * How to fetch one slice URL of a file manifest over signed HTTPS: `https://` URLs are
 * pre-signed; `s3://bucket/key` is presigned with the file's federation token
 * (Bun.S3Client); `azure://<account>.blob.core.windows.net/<container>/<blob>` is read
 * from the blob endpoint with the SAS of `absCredentials`; `gs://bucket/object` from
 * Cloud Storage with the `gcsCredentials` bearer token.
 */
export function sliceRequest(url: string, file: KbcFile, endpoints: StorageEndpoints = {}): { url: string; headers?: Record<string, string> } {
  if (/^https?:\/\//i.test(url)) return { url };
  const scheme = /^([a-z0-9]+):\/\/([^/]+)\/(.+)$/i.exec(url);
  const [, kind, host, path] = scheme ?? [];
  if (kind === 's3' && host && path) {
    if (!file.credentials) throw new Error(`file ${file.id} lists s3:// slices but its detail carries no AWS credentials`);
    const s3 = new Bun.S3Client({
      accessKeyId: file.credentials.AccessKeyId,
      secretAccessKey: file.credentials.SecretAccessKey,
      sessionToken: file.credentials.SessionToken,
      region: file.region,
      bucket: host,
      // AWS itself: virtual-hosted addresses (path style is deprecated there); another endpoint: path style.
      ...(endpoints.s3 ? { endpoint: endpoints.s3 } : { virtualHostedStyle: true }),
    });
    return { url: s3.presign(decodeURIComponent(path), { expiresIn: 3600 }) };
  }
  if (kind === 'azure' && host && path) {
    const conn = file.absCredentials?.SASConnectionString;
    if (!conn) throw new Error(`file ${file.id} lists azure:// slices but its detail carries no absCredentials`);
    const { endpoint, sas } = parseConnectionString(conn);
    const base = (endpoints.azure ?? endpoint ?? `https://${host}`).replace(/\/+$/, '');
    if (!sas) throw new Error(`the absCredentials of file ${file.id} carry no SharedAccessSignature`);
    return { url: `${base}/${path}?${sas.replace(/^\?/, '')}`, headers: { 'x-ms-version': '2021-08-06' } };
  }
  if (kind === 'gs' && host && path) {
    const token = file.gcsCredentials?.access_token;
    if (!token) throw new Error(`file ${file.id} lists gs:// slices but its detail carries no gcsCredentials`);
    const base = (endpoints.gcs ?? 'https://storage.googleapis.com').replace(/\/+$/, '');
    return { url: `${base}/${encodeURIComponent(host)}/${encodePath(decodeURIComponent(path))}`, headers: { authorization: `Bearer ${token}` } };
  }
  throw new Error(`slice URL ${url.split('?')[0]} uses a storage this connector cannot read (provider ${file.provider ?? 'unknown'})`);
}

/** Downloads every slice (or the single file) of an export into `dir`, a few at a time. */
export async function downloadExport(
  client: StorageClient,
  file: KbcFile,
  dir: string,
  opts: { endpoints?: StorageEndpoints; signal?: AbortSignal } = {},
): Promise<DownloadedExport> {
  mkdirSync(dir, { recursive: true });
  const fetchTo = async (url: string, dest: string) => {
    const req = sliceRequest(url, file, opts.endpoints);
    await Bun.write(dest, await client.download(req.url, { headers: req.headers, signal: opts.signal }));
  };
  if (!file.isSliced) {
    const dest = join(dir, 'export.csv.gz');
    await fetchTo(file.url, dest);
    return { paths: [dest], sliced: false };
  }
  const manifest = (await (await client.download(file.url, { signal: opts.signal })).json()) as { entries?: Array<{ url: string }> };
  const queue = (manifest.entries ?? []).map((e, i) => ({ url: e.url, dest: join(dir, `slice-${String(i).padStart(5, '0')}.csv.gz`) }));
  const paths = queue.map((q) => q.dest);
  const workers = Array.from({ length: Math.min(4, queue.length) }, async () => {
    for (let next = queue.shift(); next; next = queue.shift()) await fetchTo(next.url, next.dest);
  });
  await Promise.all(workers);
  return { paths, sliced: true };
}

/**
 * The first line of a (possibly gzipped) CSV file, read from its first 64 KiB only.
 * Used to tell whether a single-file export starts with a header row.
 */
export function firstLine(path: string): string {
  const fd = openSync(path, 'r');
  let head: Buffer;
  try {
    const buf = Buffer.alloc(64 * 1024);
    head = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0));
  } finally {
    closeSync(fd);
  }
  const text = head[0] === 0x1f && head[1] === 0x8b ? gunzipSync(head, { finishFlush: constants.Z_SYNC_FLUSH }).toString('utf8') : head.toString('utf8');
  return text.split(/\r?\n/, 1)[0] ?? '';
}

/** True when `line` is exactly the column names (quoted or not), i.e. a header row. */
export function isHeaderRow(line: string, columns: string[]): boolean {
  const fields = line.split(',').map((f) => f.trim().replace(/^"(.*)"$/, '$1'));
  return fields.length === columns.length && fields.every((f, i) => f === columns[i]);
}
