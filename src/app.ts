import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { AppEnv } from './context.ts';
import type { Runtime } from './boot.ts';
import { authenticate } from './auth/middleware.ts';
import { auditTrail } from './middleware/audit.ts';
import { requestContext } from './middleware/request.ts';
import { securityHeaders } from './middleware/security-headers.ts';
import { problem, problemFromError } from './api/problem.ts';
import { mountDocs } from './api/docs.ts';
import { createAuthRouter } from './api/auth.ts';
import { createAuditRouter } from './api/audit.ts';
import { createHealthRouter } from './api/health.ts';
import { createUsersRouter } from './api/users.ts';
import { createUploadRouter } from './api/upload.ts';
import { createCliRouter } from './api/cli.ts';
import { createLoginRouter, signInFormTooLarge } from './web/login.tsx';
import { pageStyleHashes } from './web/page-styles.tsx';
import { createHomeRouter } from './web/home.tsx';
import { createTablesRouter } from './api/tables.ts';
import { createSyncRouter } from './api/sync.ts';
import { createCatalogRouter } from './api/catalog.ts';
import { createManifestRouter } from './api/manifest.ts';
import { createQueryRouter } from './api/query.ts';
import { createJobsRouter } from './api/jobs.ts';

/**
 * Builds the Hono app from its parts. No port, no timers: tests call `app.request()`
 * or serve it on an ephemeral port.
 */
export function createApp({ deps, services }: Runtime) {
  const app = new OpenAPIHono<AppEnv>();

  const { server, auth } = deps.config;
  app.use('*', requestContext({ logger: deps.logger, trustProxy: server.trust_proxy }));
  app.use('*', securityHeaders({ trustProxy: server.trust_proxy, styleHashes: pageStyleHashes() }));
  // Sign-in bodies are small: refuse more before anything reads it (registered before the
  // general limit, which would buffer a body without Content-Length up to its own size).
  const signInLimit = { maxSize: auth.max_body_bytes };
  app.use('/auth/*', bodyLimit({ ...signInLimit, onError: (c) => problem(c, 413, `request body is larger than ${auth.max_body_bytes} bytes`) }));
  app.use('/login', bodyLimit({ ...signInLimit, onError: signInFormTooLarge }));
  app.use('/login/*', bodyLimit({ ...signInLimit, onError: signInFormTooLarge }));
  app.use(
    '*',
    bodyLimit({
      maxSize: deps.config.server.max_body_bytes,
      onError: (c) => problem(c, 413, `request body is larger than ${deps.config.server.max_body_bytes} bytes`),
    }),
  );
  app.use('*', authenticate(deps));
  app.use(
    '*',
    auditTrail(deps.repos.audit, { onError: (err) => deps.logger.error('audit write failed', { error: String(err) }) }),
  );

  app.route('/', createHealthRouter(deps));
  app.route('/', createAuthRouter(deps));
  app.route('/', createUsersRouter(deps));
  app.route('/', createUploadRouter(deps));
  app.route('/', createCliRouter(deps));
  app.route('/', createLoginRouter(deps));
  app.route('/', createHomeRouter(deps, services));
  app.route('/', createAuditRouter(deps));
  app.route('/', createTablesRouter(deps, services.sync));
  app.route('/', createSyncRouter(deps, services.sync));
  app.route('/', createCatalogRouter(deps, services));
  app.route('/', createManifestRouter(deps, services));
  app.route('/', createQueryRouter(deps, services));
  app.route('/', createJobsRouter(services.jobs));
  mountDocs(app);

  app.notFound((c) => problem(c, 404, `no route for ${c.req.method} ${c.req.path}`));
  app.onError((err, c) => {
    const mapped = problemFromError(c, err);
    if (mapped) return mapped;
    if (err instanceof HTTPException && err.status < 500) {
      // e.g. the validator's "Malformed JSON in request body"
      return problem(c, err.status, err.message || 'bad request');
    }
    deps.logger.error('unhandled error', {
      request_id: c.get('requestId'),
      path: c.req.path,
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
    return problem(c, 500, `internal error; quote request id ${c.get('requestId')} to your administrator`);
  });
  return app;
}

export type App = ReturnType<typeof createApp>;
