import { existsSync } from 'node:fs';
import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppDeps, AppEnv } from '../context.ts';
import { currentUser } from '../auth/middleware.ts';
import { NotFoundError } from '../errors.ts';
import type { DocsIndex } from '../sync/assets.ts';
import type { AccessCache, TableCatalog } from '../sync/catalog.ts';
import type { ManifestService } from '../sync/manifest.ts';
import type { MetricsService } from '../metrics/service.ts';
import type { MemoryService } from '../memory/service.ts';
import { DIGEST_PATH } from '../memory/digest.ts';
import { ManifestSchema as SharedManifestSchema } from '../sync/manifest-schema.ts';
import { isServed } from '../sync/catalog.ts';
import { parquetPath, parseTableId } from '../sync/paths.ts';
import { consistentChain, partPath } from '../sync/delta.ts';
import { createRouter, defineRoute } from './router.ts';
import { problem } from './problem.ts';
import { etagMatches } from './http.ts';
import { jsonResponse } from './schemas.ts';

// A fresh object over the shared shape: the shared schema may have been built before the OpenAPI layer
// extended zod (the CLI loads it without that layer), so it cannot be relied on to have .openapi().
export const ManifestSchema = z.object(SharedManifestSchema.shape).openapi('SyncManifest');

const binary = (description: string, type: string) => ({
  description,
  content: { [type]: { schema: z.string().openapi({ format: 'binary' }) } },
});
const notModified = { 304: { description: 'The If-None-Match ETag is current' } };
const notFound = { 404: { description: 'No such table, or not one you may read' } };

const getManifest = defineRoute({
  access: 'analyst', method: 'get', path: '/api/sync/manifest', operationId: 'sync.manifest', tags: ['sync'],
  summary: 'The tables and documents you may sync, with content hashes and download URLs',
  responses: { 200: jsonResponse(ManifestSchema, 'The manifest'), ...notModified },
});
const downloadTable = defineRoute({
  access: 'analyst', method: 'get', path: '/api/data/{table_id}/download', operationId: 'data.download', tags: ['sync'],
  summary: "A table's Parquet file (ETag = content hash; If-None-Match → 304; Range → 206)",
  request: { params: z.object({ table_id: z.string().max(200).openapi({ param: { name: 'table_id', in: 'path' }, example: 'sales.orders' }) }) },
  responses: {
    200: binary('The whole file', 'application/vnd.apache.parquet'),
    206: binary('The requested byte range', 'application/vnd.apache.parquet'),
    ...notModified,
    ...notFound,
    416: { description: 'The range lies outside the file' },
  },
});
const downloadPart = defineRoute({
  access: 'analyst', method: 'get', path: '/api/data/{table_id}/parts/{seq}', operationId: 'data.downloadPart', tags: ['sync'],
  summary: "A base or delta part file of a table synced by delta, as the manifest's `parts` list it (ETag = content hash; If-None-Match → 304; Range → 206)",
  request: {
    params: z.object({
      table_id: z.string().max(200).openapi({ param: { name: 'table_id', in: 'path' }, example: 'sales.orders' }),
      seq: z.string().regex(/^[0-9]{1,9}$/, 'a part number (digits)').openapi({ param: { name: 'seq', in: 'path' }, example: '3' }),
    }),
  },
  responses: {
    200: binary('The whole part file', 'application/vnd.apache.parquet'),
    206: binary('The requested byte range', 'application/vnd.apache.parquet'),
    ...notModified,
    404: { description: 'No such table or part, or not one you may read' },
    416: { description: 'The range lies outside the file' },
  },
});
const downloadAsset = defineRoute({
  access: 'analyst', method: 'get', path: '/api/assets/{path{.+}}', operationId: 'assets.download', tags: ['sync'],
  summary: 'A document (`docs/…`), table profile (`profiles/<table_id>.json`) certified metric (`metrics/<name>.yaml`, `docs/metrics.md`), mandatory knowledge rule (`rules/km_<id>.md`) or knowledge digest (`docs/knowledge.md`) listed in the manifest',
  request: { params: z.object({ path: z.string().max(1000).openapi({ param: { name: 'path', in: 'path' }, example: 'docs/rules/sql.md' }) }) },
  responses: {
    200: {
      description: 'The asset: a Markdown document, a profile (JSON), or another document as bytes',
      content: {
        'text/markdown': { schema: z.string() },
        'application/json': { schema: z.unknown().openapi({ description: 'A table profile' }) },
        'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) },
      },
    },
    ...notModified,
    404: { description: 'No such asset, or not one you may read' },
  },
});


/** A single byte range that starts past the end (or asks for the last 0 bytes): RFC 9110 §14.1.2. */
function unsatisfiableRange(header: string | undefined, size: number): boolean {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? '');
  if (!m) return false;
  if (m[1] === '') return m[2] === '0';
  return Number(m[1]) >= size;
}

function cacheHeaders(etag: string, hash: string): Record<string, string> {
  return { etag, 'x-content-sha256': hash, 'cache-control': 'private, no-cache' };
}

/** A Parquet file, whole or the asked byte range. */
function parquetResponse(c: Context<AppEnv>, file: ReturnType<typeof Bun.file>): Response {
  // Said here rather than left to Bun, which answers 416 with an empty body of the file's type.
  const range = c.req.header('range');
  if (unsatisfiableRange(range, file.size)) {
    return problem(c, 416, `range ${range} lies outside the file (${file.size} bytes)`, { headers: { 'content-range': `bytes */${file.size}` } });
  }
  return new Response(file, { headers: { 'content-type': 'application/vnd.apache.parquet', 'accept-ranges': 'bytes' } });
}

/** 304 when the client holds this version, else the body with its ETag. */
function serve(c: Context<AppEnv>, hash: string, body: () => Response): Response {
  const etag = `"${hash}"`;
  if (etagMatches(c.req.header('if-none-match'), etag)) {
    return new Response(null, { status: 304, headers: cacheHeaders(etag, hash) });
  }
  const res = body();
  for (const [k, v] of Object.entries(cacheHeaders(etag, hash))) res.headers.set(k, v);
  return res;
}

/** Manifest, table downloads and asset downloads: what `da sync` pulls. */
export function createManifestRouter(
  deps: AppDeps,
  plane: { access: AccessCache; catalog: TableCatalog; docs: DocsIndex; manifest: ManifestService; metrics: MetricsService; memory: MemoryService },
) {
  return createRouter()
    .openapi(getManifest, async (c) => {
      const { body, etag } = await plane.manifest.forUser(currentUser(c));
      if (etagMatches(c.req.header('if-none-match'), etag)) return new Response(null, { status: 304, headers: { etag } });
      return new Response(body, { status: 200, headers: { 'content-type': 'application/json', etag, 'cache-control': 'private, no-cache' } });
    })
    .openapi(downloadTable, async (c) => {
      const { table_id } = c.req.valid('param');
      const missing = new NotFoundError(`table ${table_id} not found`);
      // Validated before anything touches the file system; unknown and forbidden look alike.
      const id = parseTableId(table_id);
      if (!id) throw missing;
      const [access, snapshot] = await Promise.all([plane.access.forUser(currentUser(c)), plane.catalog.snapshot()]);
      const table = snapshot.byId.get(table_id);
      if (!table || !isServed(table) || !access.canRead(table.dataset)) throw missing;
      const path = parquetPath(deps.config.dataDir, id.dataset, id.table);
      const file = Bun.file(path);
      if (!existsSync(path)) throw missing;
      return serve(c, table.hash!, () => parquetResponse(c, file));
    })
    .openapi(downloadPart, async (c) => {
      const { table_id, seq } = c.req.valid('param');
      const missing = new NotFoundError(`part ${seq} of table ${table_id} not found`);
      const id = parseTableId(table_id);
      if (!id) throw missing;
      const [access, snapshot] = await Promise.all([plane.access.forUser(currentUser(c)), plane.catalog.snapshot()]);
      const table = snapshot.byId.get(table_id);
      if (!table || !isServed(table) || !access.canRead(table.dataset)) throw missing;
      // Only a part of the chain the manifest offers now: older parts are gone after a compaction.
      const chain = consistentChain(await deps.repos.tableParts.list(table_id), table.hash);
      const part = chain?.find((p) => p.seq === Number(seq));
      if (!part) throw missing;
      const path = partPath(deps.config.dataDir, id.dataset, id.table, part.seq);
      if (!existsSync(path)) throw missing;
      return serve(c, part.hash, () => parquetResponse(c, Bun.file(path)));
    })
    .openapi(downloadAsset, async (c) => {
      const { path } = c.req.valid('param');
      const missing = new NotFoundError(`asset ${path} not found`);
      const access = await plane.access.forUser(currentUser(c));
      const profile = /^profiles\/(.+)\.json$/.exec(path);
      if (profile) {
        const id = parseTableId(profile[1]!);
        if (!id || !access.canRead(id.dataset)) throw missing;
        const table = (await plane.catalog.snapshot()).byId.get(profile[1]!);
        if (!table || !isServed(table)) throw missing;
        const text = await deps.repos.dataCatalog.profileText(table.id);
        if (text === undefined) throw missing;
        const hash = new Bun.CryptoHasher('sha256').update(text).digest('hex');
        return serve(c, hash, () => new Response(text, { headers: { 'content-type': 'application/json' } }));
      }
      if (path === DIGEST_PATH || path.startsWith('rules/')) {
        const asset = (await plane.memory.assetsFor(currentUser(c))).find((a) => a.path === path);
        if (asset) return serve(c, asset.hash, () => new Response(asset.text, { headers: { 'content-type': 'text/markdown; charset=utf-8' } }));
        if (path !== DIGEST_PATH) throw missing;
      }
      if (path === 'docs/metrics.md' || path.startsWith('metrics/')) {
        const asset = (await plane.metrics.assetsFor((d) => access.canRead(d))).find((a) => a.path === path);
        if (!asset) throw missing;
        const type = path.endsWith('.md') ? 'text/markdown; charset=utf-8' : 'application/yaml; charset=utf-8';
        return serve(c, asset.hash, () => new Response(asset.text, { headers: { 'content-type': type } }));
      }
      const doc = plane.docs.get(path);
      if (!doc || (doc.dataset !== null && !access.canRead(doc.dataset))) throw missing;
      const type = doc.path.endsWith('.md') ? 'text/markdown; charset=utf-8' : 'application/octet-stream';
      return serve(c, doc.hash, () => new Response(Bun.file(doc.file), { headers: { 'content-type': type } }));
    });
}
