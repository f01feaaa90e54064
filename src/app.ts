import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { AppEnv } from './context.ts';
import type { Runtime } from './boot.ts';
import { authenticate } from './auth/middleware.ts';
import { auditTrail } from './middleware/audit.ts';
import { requestContext } from './middleware/request.ts';
import { securityHeaders } from './middleware/security-headers.ts';
import { logUnexpectedError, problem, problemFromError } from './api/problem.ts';
import { mountDocs } from './api/docs.ts';
import { createAuthRouter } from './api/auth.ts';
import { createAuditRouter } from './api/audit.ts';
import { createHealthRouter } from './api/health.ts';
import { createUsersRouter } from './api/users.ts';
import { createUploadRouter } from './api/upload.ts';
import { createCliRouter } from './api/cli.ts';
import { pageStyleHashes } from './web/page-styles.tsx';
import { createPageRouter, isMachinePath } from './web/router.ts';
import { PAGES } from './web/pages.ts';
import { createTablesRouter } from './api/tables.ts';
import { createSyncRouter } from './api/sync.ts';
import { createCatalogRouter } from './api/catalog.ts';
import { createManifestRouter } from './api/manifest.ts';
import { createQueryRouter } from './api/query.ts';
import { createJobsRouter } from './api/jobs.ts';
import { createBackupRouter } from './api/backup.ts';
import { createAccessRequestsRouter } from './api/access-requests.ts';
import { createMetricsRouter } from './api/metrics.ts';
import { createMemoryRouter } from './api/memory.ts';
import { createNotificationPreferencesRouter, createNotificationSocketRouter } from './api/notifications.ts';
import { createTelegramRouter, createTelegramWebhookRouter } from './api/telegram.ts';
import { createScriptsRouter } from './api/scripts.ts';
import { createJiraWebhookRouter } from './api/jira.ts';

/**
 * Builds the Hono app from its parts. No port, no timers: tests call `app.request()`
 * or serve it on an ephemeral port.
 */
export function createApp(runtime: Runtime) {
  const { deps, services } = runtime;
  const app = new OpenAPIHono<AppEnv>();
  // The web pages (src/web/pages.ts), and the HTML error pages of every path outside the API.
  const pages = createPageRouter(runtime, PAGES);

  const { server, auth } = deps.config;
  app.use('*', requestContext({ logger: deps.logger, trustProxy: server.trust_proxy }));
  app.use('*', securityHeaders({ trustProxy: server.trust_proxy, styleHashes: pageStyleHashes() }));
  // Sign-in bodies are small: refuse more before anything reads it (registered before the
  // general limit, which would buffer a body without Content-Length up to its own size).
  const signInLimit = { maxSize: auth.max_body_bytes };
  app.use('/auth/*', bodyLimit({ ...signInLimit, onError: (c) => problem(c, 413, `request body is larger than ${auth.max_body_bytes} bytes`) }));
  const signInFormTooLarge = (c: Context<AppEnv>) => pages.errorPage(c, 413, 'The sign-in form sent more data than a sign-in needs.');
  for (const path of ['/login', '/login/*', '/setup', '/forgot', '/reset', '/set-password']) {
    app.use(path, bodyLimit({ ...signInLimit, onError: signInFormTooLarge }));
  }
  const tooLarge = `request body is larger than ${deps.config.server.max_body_bytes} bytes`;
  app.use(
    '*',
    bodyLimit({
      maxSize: deps.config.server.max_body_bytes,
      onError: (c) => (isMachinePath(c.req.path) ? problem(c, 413, tooLarge) : pages.errorPage(c, 413, `The ${tooLarge}.`)),
    }),
  );
  app.use('*', authenticate(deps));
  app.use(
    '*',
    auditTrail(deps.repos.audit, {
      // The pages' form posts too: a change made in the browser is on record like one made through the API.
      pageForms: (path) => !isMachinePath(path),
      onError: (err) => deps.logger.error('audit write failed', { error: String(err) }),
    }),
  );

  app.route('/', createHealthRouter(deps, services.stateDb));
  app.route('/', createAuthRouter(deps, services));
  app.route('/', createUsersRouter(deps));
  app.route('/', createUploadRouter(services.uploads));
  app.route('/', createCliRouter(deps));
  app.route('/', pages.routes);
  app.route('/', createAuditRouter(deps));
  app.route('/', createTablesRouter(deps, services.sync));
  app.route('/', createSyncRouter(deps, services.sync));
  app.route('/', createCatalogRouter(deps, services));
  app.route('/', createManifestRouter(deps, services));
  app.route('/', createQueryRouter(deps, services));
  app.route('/', createJobsRouter(services.jobs));
  app.route('/', createBackupRouter(deps));
  app.route('/', createAccessRequestsRouter(deps, services));
  app.route('/', createMetricsRouter(services.metrics));
  app.route('/', createMemoryRouter(services));
  app.route('/', createNotificationPreferencesRouter(deps));
  app.route('/', createNotificationSocketRouter(deps, services.notifications));
  app.route('/', createTelegramRouter(services.notifications));
  app.route('/', createTelegramWebhookRouter(services.notifications));
  app.route('/', createJiraWebhookRouter(deps, services.sync));
  app.route('/', createScriptsRouter(services.scripts));
  mountDocs(app, deps.config);

  // Machines (/api, /auth, /cli) get problem+json; browsers everywhere else get an HTML page.
  app.notFound((c) => (isMachinePath(c.req.path) ? problem(c, 404, `no route for ${c.req.method} ${c.req.path}`) : pages.notFound(c)));
  app.onError((err, c) => {
    if (!isMachinePath(c.req.path)) return pages.onError(err, c);
    const mapped = problemFromError(c, err);
    if (mapped) return mapped;
    if (err instanceof HTTPException && err.status < 500) {
      // e.g. the validator's "Malformed JSON in request body"
      return problem(c, err.status, err.message || 'bad request');
    }
    return problem(c, 500, logUnexpectedError(deps.logger, c, err));
  });
  return app;
}

export type App = ReturnType<typeof createApp>;
