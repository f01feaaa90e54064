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
/** The demo analyst whose notes and session the corporate memory collects. */
const DEMO_ANALYST = { email: 'analyst@example.com', password: 'demo-analyst-password' };
const server = spawn('bun', ['src/server.ts'], { stdio: 'inherit', env: { ...env, DA_DEMO: '1' } });
process.on('SIGINT', () => server.kill('SIGINT'));
process.on('SIGTERM', () => server.kill('SIGTERM'));

// Wait until the server answers.
let healthy = false;
for (let i = 0; i < 150 && !healthy; i++) {
  try {
    healthy = (await fetch(`${url}/api/health`)).ok;
  } catch {}
  if (!healthy) await Bun.sleep(200);
}
if (!healthy) {
  process.stderr.write(`da demo: the server did not answer at ${url}\n`);
  server.kill('SIGTERM');
  process.exit(1);
}

await loadFixtureData();

/**
 * As the demo admin: starts a sync now rather than waiting for the schedule (the sync
 * registers every table of every configured source itself), waits for it and prints the
 * tables loaded. Runs again harmlessly on a restart.
 */
async function loadFixtureData() {
  const call = async (path: string, init: RequestInit = {}, token?: string) => {
    const res = await fetch(url + path, {
      ...init,
      headers: { ...(init.body ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });
    const body = res.status === 204 ? null : await res.json();
    if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path} answered ${res.status}: ${JSON.stringify(body)}`);
    return body as any;
  };
  try {
    const { access_token: token } = await call('/auth/token', {
      method: 'POST',
      body: JSON.stringify({ email: env.DA_ADMIN_EMAIL, password: env.DA_ADMIN_PASSWORD }),
    });
    const { job_id } = await call('/api/sync/trigger', { method: 'POST' }, token);
    process.stderr.write(`== syncing (job ${job_id})\n`);
    let job: any;
    for (;;) {
      job = await call(`/api/sync/jobs/${job_id}`, {}, token);
      if (job.status === 'succeeded' || job.status === 'failed') break;
      await Bun.sleep(200);
    }
    for (const s of job.sources as Array<{ dataset: string; registered: string[]; error: string | null }>) {
      process.stderr.write(`== ${s.dataset}: ${s.error ?? `${s.registered.length} new tables registered`}\n`);
    }
    if (job.message) process.stderr.write(`== ${job.message}\n`);
    const lines = (job.tables as Array<{ table_id: string; status: string; rows: number | null; bytes: number | null; error: string | null }>).map(
      (t) => `  ${t.table_id.padEnd(28)} ${t.status === 'ok' ? `${String(t.rows).padStart(8)} rows  ${((t.bytes ?? 0) / 1024).toFixed(1).padStart(8)} KiB` : `error: ${t.error}`}`,
    );
    process.stdout.write(`\ntables loaded (sync ${job.status}):\n${lines.join('\n')}\n`);
    await loadMemoryUploads(call, token);
  } catch (err) {
    process.stderr.write(`da demo: loading the fixture data failed: ${(err as Error).message}\n`);
  }
}

/**
 * Corporate memory: uploads fixtures/memory/demo/CLAUDE.local.md and a session transcript as the
 * demo analyst (as \`da sync\` would), then runs the extraction job, so the review queue at
 * /memory/review has pending items. Unchanged uploads are not read again on a restart.
 */
async function loadMemoryUploads(call: (path: string, init?: RequestInit, token?: string) => Promise<any>, adminToken: string) {
  const res = await fetch(`${url}/api/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
    body: JSON.stringify({ email: DEMO_ANALYST.email, name: 'Demo Analyst', role: 'analyst', password: DEMO_ANALYST.password }),
  });
  if (res.status !== 201 && res.status !== 409) throw new Error(`creating the demo analyst answered ${res.status}: ${await res.text()}`);
  const { access_token: token } = await call('/auth/token', { method: 'POST', body: JSON.stringify(DEMO_ANALYST) });
  const upload = async (path: string, file: string) => {
    const r = await fetch(url + path, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' }, body: Bun.file(file) });
    if (!r.ok) throw new Error(`uploading ${file} answered ${r.status}: ${await r.text()}`);
  };
  await upload('/api/upload/local-md', 'fixtures/memory/demo/CLAUDE.local.md');
  await upload('/api/upload/sessions?name=demo/session-revenue-by-channel.jsonl', 'fixtures/memory/demo/session-revenue-by-channel.jsonl');
  const { job_id } = await call('/api/memory/collect', { method: 'POST' }, adminToken);
  process.stderr.write(`== corporate memory: ${DEMO_ANALYST.email}'s notes and session uploaded, extraction started (job ${job_id}); review at ${url}/memory/review\n`);
}

// Say how to use it.
process.stdout.write(
  [
    '',
    `da demo running at ${url}`,
    `  sign in:  ${env.DA_ADMIN_EMAIL} / ${env.DA_ADMIN_PASSWORD}  (web: ${url}/login)`,
    `  analyst:  ${DEMO_ANALYST.email} / ${DEMO_ANALYST.password}`,
    `  API docs: ${url}/api/docs`,
    `  install:  curl -fsSL ${url}/cli/install.sh | sh   (or use ./dist/da)`,
    existsSync('dist/da') ? `  CLI:      ./dist/da login --server ${url} --email ${env.DA_ADMIN_EMAIL} --password ${env.DA_ADMIN_PASSWORD}` : '',
    '',
  ].join('\n') + '\n',
);
server.on('exit', (code) => process.exit(code ?? 0));
