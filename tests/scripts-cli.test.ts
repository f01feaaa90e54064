import { afterAll, beforeAll, expect, test } from 'bun:test';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDaSandbox, type DaSandbox } from './helpers/cli.ts';
import { startScriptsWorld, type ScriptsWorld } from './helpers/scripts.ts';

let w: ScriptsWorld;
let da: DaSandbox;
beforeAll(async () => {
  w = await startScriptsWorld();
  da = createDaSandbox();
  const login = await da.runInProcess(['login', '--server', w.server.url, '--email', w.analyst.email, '--password', w.analyst.password]);
  if (login.code !== 0) throw new Error(login.stderr);
});
afterAll(async () => {
  da?.cleanup();
  await w.server.stop();
});

test('da scripts deploy, list, run, logs and undeploy a TypeScript and a SQL script', async () => {
  writeFileSync(join(da.workspace, 'report.ts'), `await Bun.write(process.env.DA_OUT + '/report.md', '# report');\nconsole.log('report written');\n`);
  writeFileSync(join(da.workspace, 'revenue.sql'), 'SELECT sum(amount) AS revenue FROM sales.orders;\n');

  const ts = await da.runInProcess(['scripts', 'deploy', 'report.ts', '--json']);
  expect(ts.code, ts.stderr).toBe(0);
  expect(ts.json()).toMatchObject({ name: 'report', language: 'typescript', schedule: null, action: 'created' });
  const sql = await da.runInProcess(['scripts', 'deploy', 'revenue.sql', '--name', 'daily-revenue', '--schedule', '0 7 * * 1-5']);
  expect(sql.code, sql.stderr).toBe(0);
  expect(sql.stdout).toContain('deployed daily-revenue (sql, schedule 0 7 * * 1-5)');

  const list = (await da.runInProcess(['scripts', 'list', '--json'])).json() as Array<{ name: string; schedule: string | null }>;
  expect(list.map((s) => [s.name, s.schedule])).toEqual([['daily-revenue', '0 7 * * 1-5'], ['report', null]]);
  // The job runner has the schedule.
  const jobs = (await (await w.server.fetch('/api/jobs', { token: w.server.adminToken })).json()) as Array<{ name: string; schedule: string }>;
  expect(jobs.filter((j) => j.name.startsWith('script:')).map((j) => j.schedule)).toEqual(['0 7 * * 1-5']);

  const run = await da.runInProcess(['scripts', 'run', 'daily-revenue', '--json']);
  expect(run.code, run.stderr).toBe(0);
  const finished = run.json();
  expect(finished).toMatchObject({ status: 'succeeded', stdout: 'revenue\n100\n' });
  const csv = await w.server.fetch(finished.artifacts[0].url, { token: w.analyst.token });
  expect(await csv.text()).toBe('revenue\n100\n');

  const human = await da.runInProcess(['scripts', 'run', 'report']);
  expect(human.code).toBe(0);
  expect(human.stdout).toContain('succeeded');
  expect(human.stdout).toContain('report written');
  expect(human.stdout).toContain('artifact: report.md');

  const logs = await da.runInProcess(['scripts', 'logs', 'report', '--json']);
  expect(logs.json()).toEqual([expect.objectContaining({ status: 'succeeded', stdout: 'report written\n' })]);

  // Redeploying the same name updates it; a failing run exits 1 with the reason.
  writeFileSync(join(da.workspace, 'report.ts'), 'process.exit(4);\n');
  expect((await da.runInProcess(['scripts', 'deploy', 'report.ts', '--json'])).json()).toMatchObject({ action: 'updated' });
  const failed = await da.runInProcess(['scripts', 'run', 'report']);
  expect(failed.code).toBe(1);
  expect(failed.stdout).toContain('exited with code 4');

  expect((await da.runInProcess(['scripts', 'undeploy', 'report'])).code).toBe(0);
  const gone = await da.runInProcess(['scripts', 'run', 'report']);
  expect(gone.code).toBe(1);
  expect(gone.stderr).toContain('no script named report');
});

test('bad input: unknown extension is a usage error, a malformed schedule the server refuses', async () => {
  writeFileSync(join(da.workspace, 'notes.txt'), 'hello');
  const noLang = await da.runInProcess(['scripts', 'deploy', 'notes.txt']);
  expect(noLang.code).toBe(2);
  expect(noLang.stderr).toContain('--language');
  writeFileSync(join(da.workspace, 'x.sql'), 'SELECT 1');
  const cron = await da.runInProcess(['scripts', 'deploy', 'x.sql', '--schedule', '99 * * * *']);
  expect(cron.code).toBe(1);
  expect(cron.stderr).toContain('schedule');
  expect((await da.runInProcess(['scripts', 'deploy', 'missing.sql'])).stderr).toContain('no file missing.sql');
});

test('da scripts run --local runs a file in the local sandbox over the synced tables, offline', async () => {
  const sync = await da.runInProcess(['sync', '--json']);
  expect(sync.code, sync.stderr).toBe(0);
  writeFileSync(join(da.workspace, 'local.sql'), 'SELECT count(*) AS n FROM sales.orders');
  // Offline: the server is not asked (a server URL that answers nothing).
  const run = await da.runInProcess(['scripts', 'run', 'local.sql', '--local', '--json'], { env: { DA_SERVER: 'http://127.0.0.1:9' } });
  expect(run.code, run.stderr).toBe(0);
  const out = run.json();
  expect(out).toMatchObject({ status: 'succeeded', stdout: 'n\n5\n' });
  expect(readFileSync(join(out.artifacts_dir, 'result.csv'), 'utf8')).toBe('n\n5\n');
  // Only the synced tables are there: the other dataset was never synced, and is not seen.
  writeFileSync(join(da.workspace, 'peek.py'), "import os\nprint(sorted(os.listdir(os.environ['DA_DATA'])))\n");
  const peek = (await da.runInProcess(['scripts', 'run', 'peek.py', '--local', '--json'])).json();
  expect(peek.stdout).toBe("['sales']\n");
  expect(existsSync(join(da.workspace, 'user', 'scripts', 'runs'))).toBe(true);
});
