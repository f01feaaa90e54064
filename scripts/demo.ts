/**
 * The demo: builds `da`, starts the server on http://localhost:8000 with the fixture data
 * (fixtures/instance.yaml) and prints the demo admin's login. Ctrl-C stops it.
 */
import { existsSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';

const env: Record<string, string> = {
  ...(process.env as Record<string, string>),
  DA_DATA_DIR: process.env.DA_DATA_DIR ?? './data/demo',
  DA_CONFIG: process.env.DA_CONFIG ?? (existsSync('fixtures/instance.yaml') ? 'fixtures/instance.yaml' : ''),
  DA_ADMIN_EMAIL: process.env.DA_ADMIN_EMAIL ?? 'admin@example.com',
  DA_ADMIN_PASSWORD: process.env.DA_ADMIN_PASSWORD ?? 'demo-admin-password',
  PORT: process.env.PORT ?? '8000',
};

if (existsSync('scripts/build-cli.ts')) {
  process.stderr.write('== building da (dist/da)\n');
  const build = spawnSync('bun', ['scripts/build-cli.ts'], { stdio: 'inherit', env });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const url = `http://localhost:${env.PORT}`;
const server = spawn('bun', ['src/server.ts'], { stdio: 'inherit', env: { ...env, DA_DEMO: '1' } });
process.on('SIGINT', () => server.kill('SIGINT'));
process.on('SIGTERM', () => server.kill('SIGTERM'));

// Wait until the server answers, then say how to use it.
for (let i = 0; i < 100; i++) {
  try {
    const res = await fetch(`${url}/api/health`);
    if (res.ok) break;
  } catch {}
  await Bun.sleep(200);
}
process.stdout.write(
  [
    '',
    `da demo running at ${url}`,
    `  sign in:  ${env.DA_ADMIN_EMAIL} / ${env.DA_ADMIN_PASSWORD}`,
    `  API docs: ${url}/api/docs`,
    existsSync('dist/da') ? `  CLI:      ./dist/da login --server ${url} --email ${env.DA_ADMIN_EMAIL} --password ${env.DA_ADMIN_PASSWORD}` : '',
    '',
  ].join('\n') + '\n',
);
server.on('exit', (code) => process.exit(code ?? 0));
