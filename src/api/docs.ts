import { swaggerUI } from '@hono/swagger-ui';
import { Hono } from 'hono';
import { join, dirname } from 'node:path';
import { createRequire } from 'node:module';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../context.ts';
import { VERSION } from '../version.ts';

const require = createRequire(import.meta.url);
/** swagger-ui-dist's files, served by us: the docs page works offline, with no CDN. */
const ASSET_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
};
/** Starts Swagger UI; a file of its own because the Content-Security-Policy allows no inline script. */
const INIT_JS = `window.addEventListener('load', () => {
  window.ui = SwaggerUIBundle({ dom_id: '#swagger-ui', url: '/api/openapi.json', persistAuthorization: true, showExtensions: true, validatorUrl: null });
});
`;

/** Adds `GET /api/openapi.json` (OpenAPI 3.1) and `GET /api/docs` (Swagger UI) to the app. */
export function mountDocs(app: OpenAPIHono<AppEnv>) {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'A JWT from POST /auth/token or a personal access token (dapat_…)',
  });
  app.doc31('/api/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'da API',
      version: VERSION,
      description:
        'The da server: auth, users and permissions, sync, data, query, memory, scripts. ' +
        'Each operation names the role it needs in `x-required-role` (viewer < analyst < admin < km_admin; `public` needs none).',
    },
  });

  const docs = new Hono<AppEnv>();
  docs.get('/api/docs/assets/init.js', (c) =>
    c.body(INIT_JS, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' }),
  );
  docs.get('/api/docs/assets/:file', (c) => {
    const type = ASSETS[c.req.param('file')];
    if (!type) return c.notFound();
    return c.body(Bun.file(join(ASSET_DIR, c.req.param('file'))).stream(), 200, {
      'content-type': type,
      'cache-control': 'public, max-age=86400',
    });
  });
  docs.get(
    '/api/docs',
    swaggerUI({
      url: '/api/openapi.json',
      title: 'da API',
      manuallySwaggerUIHtml: () => `
        <div id="swagger-ui"></div>
        <link rel="stylesheet" href="/api/docs/assets/swagger-ui.css" />
        <script src="/api/docs/assets/swagger-ui-bundle.js"></script>
        <script src="/api/docs/assets/init.js"></script>`,
    }),
  );
  app.route('/', docs);
}
