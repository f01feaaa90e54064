import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppEnv } from '../context.ts';
import { currentUser } from '../auth/middleware.ts';
import type { UploadStore } from '../sync/uploads.ts';
import { UPLOAD_LIMITS, type UploadKind } from '../sync/upload-rules.ts';
import { createRouter, defineRoute, errorResponse } from './router.ts';
import { jsonResponse } from './schemas.ts';

export const UploadResultSchema = z
  .object({
    kind: z.enum(['sessions', 'artifacts', 'local-md']),
    name: z.string(),
    size_bytes: z.number().int(),
    sha256: z.string(),
    stored_at: z.string(),
  })
  .openapi('UploadResult');

const NameQuery = z.object({
  name: z.string().min(1).max(800).openapi({ description: 'Relative file name; segments of [A-Za-z0-9._-], at most 6 deep' }),
});
const binaryBody = (description: string) => ({
  body: {
    required: true,
    description,
    content: { 'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) } },
  },
});
const tags = ['uploads'];
const tooLarge = { 413: errorResponse('Larger than the limit for this kind, or over your upload quota (uploads.quota_bytes / quota_files; the problem states `usage` and `limit`)') };

const sessionsRoute = defineRoute({
  access: 'analyst', method: 'post', path: '/api/upload/sessions', operationId: 'upload.sessions', tags,
  summary: `Upload an AI session transcript (.jsonl, up to ${UPLOAD_LIMITS.sessions / 1024 ** 2} MB); replaces one of the same name`,
  request: { query: NameQuery, ...binaryBody('The transcript') },
  responses: { 201: jsonResponse(UploadResultSchema, 'Stored'), ...tooLarge },
});
const artifactsRoute = defineRoute({
  access: 'analyst', method: 'post', path: '/api/upload/artifacts', operationId: 'upload.artifacts', tags,
  summary: `Upload an analysis artifact (any file, up to ${UPLOAD_LIMITS.artifacts / 1024 ** 2} MB)`,
  request: { query: NameQuery, ...binaryBody('The file') },
  responses: { 201: jsonResponse(UploadResultSchema, 'Stored'), ...tooLarge },
});
const localMdRoute = defineRoute({
  access: 'analyst', method: 'post', path: '/api/upload/local-md', operationId: 'upload.localMd', tags,
  summary: "Upload the analyst's CLAUDE.local.md (UTF-8 text, up to 1 MB); replaces the previous one",
  request: {
    body: { required: true, content: { 'text/markdown': { schema: z.string() }, 'text/plain': { schema: z.string() } } },
  },
  responses: { 201: jsonResponse(UploadResultSchema, 'Stored'), ...tooLarge, 422: errorResponse('The body is not UTF-8 text') },
});

/** Session transcripts, artifacts and CLAUDE.local.md from `da sync` (stored by src/sync/uploads.ts). */
export function createUploadRouter(uploads: UploadStore) {
  const answer = async (c: Context<AppEnv>, kind: UploadKind) => {
    const declared = Number(c.req.header('content-length') ?? NaN);
    const stored = await uploads.receive(currentUser(c).id, kind, c.req.query('name') ?? '', c.req.raw.body, declared);
    return c.json(stored, 201);
  };
  return createRouter()
    .openapi(sessionsRoute, (c) => answer(c, 'sessions'))
    .openapi(artifactsRoute, (c) => answer(c, 'artifacts'))
    .openapi(localMdRoute, (c) => answer(c, 'local-md'));
}
