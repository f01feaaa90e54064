import { z } from '@hono/zod-openapi';
import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { AppDeps } from '../context.ts';
import { currentUser } from '../auth/middleware.ts';
import type { Context } from 'hono';
import type { AppEnv } from '../context.ts';
import { BadRequestError, ConflictError, PayloadTooLargeError, ValidationError } from '../errors.ts';
import { createRouter, defineRoute } from './router.ts';
import { jsonResponse } from './schemas.ts';
import { parseUploadName, UPLOAD_LIMITS, type UploadKind as Kind } from '../sync/upload-rules.ts';

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
const tooLarge = { 413: { description: 'Larger than the limit for this kind' } };

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
  responses: { 201: jsonResponse(UploadResultSchema, 'Stored'), ...tooLarge },
});

/** A file where a folder is needed (or the reverse) means two upload names clash: 409. */
function clashOrError(err: unknown): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST' || code === 'ENOTEMPTY') {
    return new ConflictError('this name clashes with an earlier upload: one is a file where the other needs a folder');
  }
  return err;
}

/**
 * Streams a request body into `target` through a temp file: refuses more than `limit`
 * bytes (nothing is left behind) and returns the size and sha256.
 */
async function storeBody(req: Request, target: string, limit: number, check?: (bytes: Uint8Array) => void) {
  const declared = Number(req.headers.get('content-length') ?? NaN);
  if (declared > limit) return { tooLarge: true as const };
  const tmp = `${target}.${crypto.randomUUID()}.tmp`;
  let fd: number;
  try {
    mkdirSync(join(target, '..'), { recursive: true });
    fd = openSync(tmp, 'w', 0o600);
  } catch (err) {
    throw clashOrError(err);
  }
  const hasher = new Bun.CryptoHasher('sha256');
  let size = 0;
  const parts: Uint8Array[] = [];
  let stored = false;
  try {
    if (req.body) {
      const reader = req.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > limit) {
          await reader.cancel();
          return { tooLarge: true as const };
        }
        writeSync(fd, value);
        hasher.update(value);
        if (check) parts.push(value);
      }
    }
    if (check) check(Buffer.concat(parts));
    closeSync(fd);
    try {
      renameSync(tmp, target);
    } catch (err) {
      throw clashOrError(err);
    }
    stored = true;
    return { tooLarge: false as const, size, sha256: hasher.digest('hex') };
  } finally {
    if (!stored) {
      try {
        closeSync(fd);
      } catch {
        // already closed before a failed rename
      }
      rmSync(tmp, { force: true });
    }
  }
}

/** Session transcripts, artifacts and CLAUDE.local.md from `da sync`, stored per user under uploads/. */
export function createUploadRouter(deps: AppDeps) {
  const root = join(deps.config.dataDir, 'uploads');
  const userDir = (id: string) => {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new BadRequestError('unexpected user id');
    return join(root, id);
  };

  const receive = async (c: Context<AppEnv>, kind: Kind) => {
    const user = currentUser(c);
    let name: string;
    let target: string;
    if (kind === 'local-md') {
      name = 'CLAUDE.local.md';
      target = join(userDir(user.id), name);
    } else {
      name = c.req.query('name') ?? '';
      const segs = parseUploadName(name, kind);
      if (!segs) {
        throw new ValidationError(
          kind === 'sessions'
            ? 'name must be a relative .jsonl path of [A-Za-z0-9._-] segments (at most 6)'
            : 'name must be a relative path of [A-Za-z0-9._-] segments (at most 6)',
        );
      }
      target = join(userDir(user.id), kind, ...segs);
    }
    const stored = await storeBody(c.req.raw, target, UPLOAD_LIMITS[kind], kind === 'local-md'
      ? (bytes) => {
          try {
            new TextDecoder('utf-8', { fatal: true }).decode(bytes);
          } catch {
            throw new ValidationError('CLAUDE.local.md must be UTF-8 text');
          }
        }
      : undefined);
    if (stored.tooLarge) throw new PayloadTooLargeError(`${kind} uploads are limited to ${UPLOAD_LIMITS[kind]} bytes`);
    return { kind, name, size_bytes: stored.size, sha256: stored.sha256, stored_at: new Date().toISOString() };
  };

  return createRouter()
    .openapi(sessionsRoute, async (c) => c.json(await receive(c, 'sessions'), 201))
    .openapi(artifactsRoute, async (c) => c.json(await receive(c, 'artifacts'), 201))
    .openapi(localMdRoute, async (c) => c.json(await receive(c, 'local-md'), 201));
}
