import { swaggerUI } from '@hono/swagger-ui';
import { Hono, type Context } from 'hono';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../context.ts';
import { VERSION } from '../version.ts';
import type { Config } from '../config.ts';
import { publicOrigin } from './http.ts';
import swaggerCss from 'swagger-ui-dist/swagger-ui.css' with { type: 'file' };
import swaggerBundle from 'swagger-ui-dist/swagger-ui-bundle.js' with { type: 'file' };

/**
 * swagger-ui-dist's files, served by us: the docs page works offline, with no CDN. Imported
 * as files, so `bun build --compile` embeds them in `da` (the path is then in `$bunfs`).
 */
const ASSETS: Record<string, { path: string; type: string }> = {
  'swagger-ui.css': { path: swaggerCss, type: 'text/css; charset=utf-8' },
  'swagger-ui-bundle.js': { path: swaggerBundle, type: 'text/javascript; charset=utf-8' },
};
/** Starts Swagger UI; a file of its own because the Content-Security-Policy allows no inline script. */
const INIT_JS = `window.addEventListener('load', () => {
  window.ui = SwaggerUIBundle({ dom_id: '#swagger-ui', url: '/api/openapi.json', persistAuthorization: true, showExtensions: true, validatorUrl: null });
});
`;

/**
 * The router's path syntax → an OpenAPI path: `/api/assets/{path{.+}}` (Hono's regex
 * parameter, so a path may span segments) is published as `/api/assets/{path}`.
 */
export function openApiPath(path: string): string {
  return path.replace(/\{(\w+)\{[^}]*\}\}/g, '{$1}');
}

/**
 * The origin clients reach this server at, for `servers` (generated clients default to
 * it): instance.base_url, else the request's scheme and host (forwarded ones only from a
 * trusted proxy); `/` (this origin) when the host is not plausible.
 */
function serverUrl(c: Context<AppEnv>, config: Pick<Config, 'instance' | 'server'>): string {
  return publicOrigin(c, config) ?? '/';
}

/** What each tag groups, for the docs page; a tag not listed here gets a generic line. */
const TAG_DESCRIPTIONS: Record<string, string> = {
  audit: 'The audit trail of every request',
  backup: 'Backups of the whole server (restore with `da server restore`)',
  auth: 'Sign-in, sign-out, passwords, links by mail, personal access tokens, your own profile',
  catalog: 'The tables you may read, with their profiles',
  cli: 'Downloads of the `da` command-line tool and its installer',
  health: 'Liveness and readiness',
  jobs: 'Scheduled and on-demand server jobs',
  query: 'Read-only SQL over the tables you may read',
  sync: 'What `da sync` pulls: manifest, table files, documents; sync jobs and history',
  tables: 'The table registry and the configured sources',
  uploads: 'Session transcripts, artifacts and CLAUDE.local.md from `da sync`',
  users: 'Users, their dataset permissions and sync settings',
};

/**
 * The OpenAPI 3.1 document of every route registered on `app`, with router-only path
 * syntax removed, one `servers` entry, a license, and each tag listed once.
 */
export function openApiDocument(app: OpenAPIHono<AppEnv>, server: string) {
  const doc = app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'da API',
      version: VERSION,
      description:
        'The da server: auth, users and permissions, sync, data, query, memory, scripts. ' +
        'Each operation names the role it needs in `x-required-role` (viewer < analyst < admin < km_admin; `public` needs none). ' +
        'Errors are `application/problem+json` (RFC 9457).',
      // `identifier` is OpenAPI 3.1 (SPDX); the generator's types know only 3.0's `url`.
      license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' } as { name: string },
    },
    servers: [{ url: server, description: 'This server' }],
  });
  const paths: NonNullable<typeof doc.paths> = {};
  const tags = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    paths[openApiPath(path)] = item;
    for (const method of ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'] as const) {
      for (const tag of item[method]?.tags ?? []) tags.add(tag);
    }
  }
  return { ...doc, paths, tags: [...tags].sort().map((name) => ({ name, description: TAG_DESCRIPTIONS[name] ?? `The ${name} operations` })) };
}

/** Adds `GET /api/openapi.json` (OpenAPI 3.1) and `GET /api/docs` (Swagger UI) to the app. */
export function mountDocs(app: OpenAPIHono<AppEnv>, config: Pick<Config, 'instance' | 'server'>) {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'A JWT from POST /auth/token or a personal access token (dapat_…)',
  });
  const docs = new Hono<AppEnv>();
  // The routes are fixed once the app is built: the document is generated on first use and
  // then only its `servers` entry follows the request.
  let generated: ReturnType<typeof openApiDocument> | undefined;
  docs.get('/api/openapi.json', (c) => {
    generated ??= openApiDocument(app, '/');
    return c.json({ ...generated, servers: [{ url: serverUrl(c, config), description: 'This server' }] });
  });
  docs.get('/api/docs/assets/init.js', (c) =>
    c.body(INIT_JS, 200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' }),
  );
  docs.get('/api/docs/assets/:file', (c) => {
    const asset = ASSETS[c.req.param('file')];
    if (!asset) return c.notFound();
    return c.body(Bun.file(asset.path).stream(), 200, {
      'content-type': asset.type,
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
