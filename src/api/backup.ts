import { z } from '@hono/zod-openapi';
import type { AppDeps } from '../context.ts';
import { createBackup } from '../ops/backup.ts';
import { createRouter, defineRoute } from './router.ts';

const backupRoute = defineRoute({
  access: 'admin', method: 'post', path: '/api/backup', operationId: 'backup.create', tags: ['backup'],
  summary: 'Back up the server: one tar.gz of the state database (consistent, through the write queue), the Parquet files, uploads, docs and the config without secrets, with a sha256 manifest',
  responses: {
    200: {
      description: 'The archive, streamed (`da-backup.json` first, `MANIFEST.json` last). Restore it with `da server restore FILE --data-dir DIR`.',
      content: { 'application/gzip': { schema: z.string().openapi({ format: 'binary' }) } },
    },
  },
});

/** `POST /api/backup` (admin): streams a backup archive (src/ops/backup.ts). */
export function createBackupRouter(deps: AppDeps) {
  return createRouter().openapi(backupRoute, async (c) => {
    const backup = await createBackup({ config: deps.config, db: deps.db, syncState: deps.repos.syncState, logger: deps.logger });
    backup.done.then(
      (m) => deps.logger.info('backup streamed', { files: Object.keys(m.files).length, tables: Object.keys(m.tables).length }),
      (err) => deps.logger.error('backup failed', { error: (err as Error).message }),
    );
    return c.body(backup.stream, 200, {
      'content-type': 'application/gzip',
      'content-disposition': `attachment; filename="${backup.fileName}"`,
      'cache-control': 'no-store',
    });
  });
}
