import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { deploy, runAndWait, startScriptsWorld, type RunBody, type ScriptsWorld } from './helpers/scripts.ts';

/**
 * The sandbox escape suite: in each language, scripts that try to get out (exhaust memory
 * or processes, run forever, fill the disk, reach the network, read secrets, the state
 * database, another dataset's files or another user's uploads, write outside the work dir,
 * snoop on the environment or the server's processes, play with links, setuid or /dev).
 * Each must end contained, with a status and a reason, and print no ESCAPED line, while
 * the server keeps answering. Limits are small (tests/helpers/scripts.ts): 3 s, 128 MB.
 */

let w: ScriptsWorld;
const SECRET = `env-secret-${crypto.randomUUID()}`;
let savedSecret: string | undefined;

beforeAll(async () => {
  // A secret in the server's own environment: no script may see it.
  savedSecret = process.env.DA_SECRET;
  process.env.DA_SECRET = SECRET;
  w = await startScriptsWorld();
});
afterAll(async () => {
  if (savedSecret === undefined) delete process.env.DA_SECRET;
  else process.env.DA_SECRET = savedSecret;
  await w.server.stop();
});

type Status = 'succeeded' | 'failed' | 'timed_out' | 'killed';
interface Attempt {
  name: string;
  source: () => string;
  /** The statuses that mean "contained" for this attempt. */
  expect: Status[];
  /** A further check of the run (e.g. no artifact that is a link). */
  check?: (run: RunBody) => void | Promise<void>;
}

const STOPPED: Status[] = ['killed', 'timed_out'];
const ANY_END: Status[] = ['succeeded', 'failed', 'killed', 'timed_out'];

/** Checks common to every attempt, then its own. */
async function attempt(language: string, a: Attempt) {
  const id = await deploy(w.server, w.analyst.token, { name: `${language}-${a.name}`, language, source: a.source() });
  const run = await runAndWait(w.server, w.analyst.token, id);
  const label = `${language} ${a.name}: ${run.status} (${run.reason}) ${run.stdout.slice(0, 300)} ${run.stderr.slice(0, 300)}`;
  expect(a.expect, label).toContain(run.status as Status);
  if (run.status !== 'succeeded') expect(run.reason, label).toBeTruthy();
  for (const text of [run.stdout, run.stderr]) {
    expect(text, label).not.toContain('ESCAPED');
    expect(text, label).not.toContain(SECRET);
    expect(text, label).not.toContain('TOP-SECRET-UPLOAD');
    expect(text, label).not.toContain('1000000');
  }
  await a.check?.(run);
  // The server kept serving through it.
  expect((await w.server.fetch('/api/health')).status).toBe(200);
}

const ts = (body: string) => `import * as fs from 'node:fs';\nconst escaped = (what: string) => console.log('ESC' + 'APED ' + what);\n${body}`;
const tryRead = (path: string) => `try { const t = fs.readFileSync(${JSON.stringify(path)}); escaped('read ' + ${JSON.stringify(path)} + ' ' + t.length); } catch (e) { console.log('refused', (e as Error).message.slice(0, 80)); }`;

const TS_ATTEMPTS: Attempt[] = [
  { name: 'memory-hog', expect: ['killed'], source: () => ts(`const keep: Uint8Array[] = []; for (;;) keep.push(new Uint8Array(1 << 20).fill(7));`) },
  {
    name: 'fork-bomb',
    expect: [...STOPPED, 'failed', 'succeeded'],
    check: (run) => expect(Number(/spawned (\d+)/.exec(run.stdout)?.[1] ?? 0)).toBeLessThan(64),
    source: () => ts(`import { spawn } from 'node:child_process';\nlet n = 0; for (let i = 0; i < 5000; i++) { try { spawn('/usr/bin/sleep', ['60']).on('error', () => {}); n++; } catch { break; } }\nconsole.log('spawned', n); await Bun.sleep(10_000);`),
  },
  { name: 'infinite-loop', expect: STOPPED, source: () => ts(`for (;;) {}`) },
  { name: 'sleep-past-limit', expect: ['timed_out'], source: () => ts(`await Bun.sleep(60_000); escaped('slept');`) },
  {
    name: 'write-gigabytes',
    expect: ['killed', 'failed'],
    source: () => ts(`const mb = new Uint8Array(1 << 20).fill(1); const fd = fs.openSync(process.env.DA_OUT + '/big.bin', 'w'); for (let i = 0; i < 4096; i++) fs.writeSync(fd, mb); escaped('wrote 4 GB');`),
  },
  {
    name: 'many-files-past-disk-cap',
    expect: ['killed', 'timed_out', 'failed'],
    source: () => ts(`const mb = new Uint8Array(1 << 20).fill(1); for (let i = 0; i < 4000; i++) fs.writeFileSync(process.env.DA_OUT + '/f' + i, new Uint8Array(4 << 20)); escaped('wrote 16 GB');`),
  },
  {
    name: 'network',
    expect: ANY_END,
    source: () =>
      ts(`const targets = [${JSON.stringify(w.server.url + '/api/health')}, 'http://1.1.1.1/', 'http://example.com/'];
for (const url of targets) { try { await fetch(url, { signal: AbortSignal.timeout(1000) }); escaped('fetched ' + url); } catch (e) { console.log('refused', url); } }
try { const s = await Bun.connect({ hostname: '10.0.0.1', port: 80, socket: { data() {} } }); escaped('socket'); s.end(); } catch { console.log('no socket'); }`),
  },
  { name: 'etc-shadow', expect: ANY_END, source: () => ts(tryRead('/etc/shadow') + tryRead('/etc/passwd')) },
  { name: 'system-duckdb', expect: ANY_END, source: () => ts(tryRead(w.paths.systemDb) + tryRead('/data/../state/system.duckdb')) },
  {
    name: 'other-dataset',
    expect: ANY_END,
    source: () => ts(tryRead(w.paths.hr) + tryRead('/data/hr/salaries.parquet') + `console.log(fs.readdirSync('/data'));`),
    check: (run) => expect(run.stdout).toContain("[ \"sales\" ]"),
  },
  { name: 'other-uploads', expect: ANY_END, source: () => ts(tryRead(w.paths.otherUpload)) },
  {
    name: 'write-outside-work',
    expect: ANY_END,
    source: () =>
      ts(`for (const p of ['/usr/x', '/data/sales/x', '/data/sales/orders.parquet', '/script/x', '/x', ${JSON.stringify(w.paths.sales)}]) { try { fs.writeFileSync(p, 'x'); escaped('wrote ' + p); } catch { console.log('refused', p); } }`),
  },
  {
    name: 'environment',
    expect: ['succeeded'],
    source: () => ts(`console.log(JSON.stringify(process.env));`),
    check: (run) => {
      const env = JSON.parse(run.stdout) as Record<string, string>;
      expect(Object.keys(env).filter((k) => !['PATH', 'HOME', 'TMPDIR', 'LANG', 'DA_DATA', 'DA_OUT', 'NO_COLOR', 'DA_SQL_MEMORY', 'PWD', 'PYTHONDONTWRITEBYTECODE'].includes(k))).toEqual([]);
    },
  },
  {
    name: 'proc-snooping',
    expect: ANY_END,
    source: () =>
      ts(`const pids = fs.readdirSync('/proc').filter((p) => /^\\d+$/.test(p)); console.log('pids', pids.length);
if (pids.includes(String(${process.pid}))) escaped('sees the server pid');
for (const p of pids) { try { const env = fs.readFileSync('/proc/' + p + '/environ', 'utf8'); if (env.includes('DA_SECRET')) escaped('environ of ' + p); } catch {} }
try { process.kill(${process.pid}, 'SIGKILL'); escaped('killed the server'); } catch { console.log('no kill'); }`),
    check: (run) => expect(Number(/pids (\d+)/.exec(run.stdout)?.[1])).toBeLessThan(10),
  },
  {
    name: 'symlink-tricks',
    expect: ANY_END,
    source: () =>
      ts(`fs.symlinkSync('/etc/passwd', process.env.DA_OUT + '/passwd-link'); fs.symlinkSync(${JSON.stringify(w.paths.systemDb)}, process.env.DA_OUT + '/state-link');
fs.writeFileSync(process.env.DA_OUT + '/ok.txt', 'fine');
try { fs.readFileSync(process.env.DA_OUT + '/state-link'); escaped('read through link'); } catch { console.log('refused link'); }`),
    check: async (run) => {
      expect(run.artifacts.map((a) => a.name)).toEqual(['ok.txt']);
      const res = await w.server.fetch(run.artifacts[0]!.url.replace('ok.txt', 'state-link'), { token: w.analyst.token });
      expect(res.status).toBe(404);
      const dotdot = await w.server.fetch(run.artifacts[0]!.url.replace('ok.txt', '..%2F..%2F..%2Fstate%2Fsystem.duckdb'), { token: w.analyst.token });
      expect(dotdot.status).toBe(404);
    },
  },
  {
    name: 'setuid',
    expect: ANY_END,
    source: () =>
      ts(`try { process.setuid!(0); escaped('setuid 0'); } catch { console.log('setuid refused'); }
if (process.getuid!() === 0) escaped('running as root');
const r = Bun.spawnSync(['/usr/bin/su', '-c', 'id']); if (r.stdout.toString().includes('uid=0')) escaped('su');`),
  },
  {
    name: 'dev-access',
    expect: ANY_END,
    source: () =>
      ts(`console.log(fs.readdirSync('/dev').join(' '));
for (const d of ['/dev/mem', '/dev/kmem', '/dev/sda', '/dev/vda', '/dev/kmsg', '/dev/port']) { try { const fd = fs.openSync(d, 'r'); escaped('opened ' + d); fs.closeSync(fd); } catch {} }`),
  },
];

const py = (body: string) => `import os, sys\ndef escaped(what): print('ESC' + 'APED ' + what)\n${body}\n`;
const pyRead = (path: string) => `try:\n    data = open(${JSON.stringify(path)}, 'rb').read()\n    escaped('read ' + ${JSON.stringify(path)})\nexcept Exception as e:\n    print('refused', type(e).__name__)\n`;

const PY_ATTEMPTS: Attempt[] = [
  { name: 'memory-hog', expect: ['killed'], source: () => py(`keep = []\nwhile True:\n    keep.append(bytearray(1 << 20))`) },
  {
    name: 'fork-bomb',
    expect: [...STOPPED, 'failed', 'succeeded'],
    source: () => py(`import time\nn = 0\nfor i in range(5000):\n    try:\n        if os.fork() == 0:\n            time.sleep(60)\n            os._exit(0)\n        n += 1\n    except OSError:\n        break\nprint('forked', n)\ntime.sleep(10)`),
  },
  { name: 'infinite-loop', expect: STOPPED, source: () => py(`while True:\n    pass`) },
  { name: 'sleep-past-limit', expect: ['timed_out'], source: () => py(`import time\ntime.sleep(60)\nescaped('slept')`) },
  {
    name: 'write-gigabytes',
    expect: ['killed', 'failed'],
    source: () => py(`mb = b'x' * (1 << 20)\nwith open(os.environ['DA_OUT'] + '/big.bin', 'wb') as f:\n    for i in range(4096):\n        f.write(mb)\nescaped('wrote 4 GB')`),
  },
  {
    name: 'many-files-past-disk-cap',
    expect: ['killed', 'timed_out', 'failed'],
    source: () => py(`for i in range(4000):\n    open(os.environ['DA_OUT'] + '/f%d' % i, 'wb').write(bytes(4 << 20))\nescaped('wrote 16 GB')`),
  },
  {
    name: 'network',
    expect: ANY_END,
    source: () =>
      py(`import socket\nfor host, port in [('127.0.0.1', ${new URL(w.server.url).port}), ('1.1.1.1', 80), ('example.com', 80)]:\n    try:\n        socket.create_connection((host, port), timeout=1)\n        escaped('connected %s' % host)\n    except Exception as e:\n        print('refused', host, type(e).__name__)`),
  },
  { name: 'etc-shadow', expect: ANY_END, source: () => py(pyRead('/etc/shadow') + pyRead('/etc/passwd')) },
  { name: 'system-duckdb', expect: ANY_END, source: () => py(pyRead(w.paths.systemDb)) },
  {
    name: 'other-dataset',
    expect: ANY_END,
    source: () => py(pyRead(w.paths.hr) + pyRead('/data/hr/salaries.parquet') + `print(sorted(os.listdir('/data')))`),
    check: (run) => expect(run.stdout).toContain("['sales']"),
  },
  { name: 'other-uploads', expect: ANY_END, source: () => py(pyRead(w.paths.otherUpload)) },
  {
    name: 'write-outside-work',
    expect: ANY_END,
    source: () =>
      py(`for p in ['/usr/x', '/data/sales/x', '/data/sales/orders.parquet', '/script/x', '/x', ${JSON.stringify(w.paths.sales)}]:\n    try:\n        open(p, 'w').write('x')\n        escaped('wrote ' + p)\n    except Exception:\n        print('refused', p)`),
  },
  {
    name: 'environment',
    expect: ['succeeded'],
    source: () => py(`import json\nprint(json.dumps(dict(os.environ)))`),
    check: (run) => {
      const env = JSON.parse(run.stdout) as Record<string, string>;
      expect(Object.keys(env).filter((k) => !['PATH', 'HOME', 'TMPDIR', 'LANG', 'DA_DATA', 'DA_OUT', 'NO_COLOR', 'DA_SQL_MEMORY', 'PWD', 'PYTHONDONTWRITEBYTECODE', 'LC_CTYPE'].includes(k))).toEqual([]);
    },
  },
  {
    name: 'proc-snooping',
    expect: ANY_END,
    source: () =>
      py(`import signal\npids = [p for p in os.listdir('/proc') if p.isdigit()]\nprint('pids', len(pids))\nif '${process.pid}' in pids: escaped('sees the server pid')\nfor p in pids:\n    try:\n        if b'DA_SECRET' in open('/proc/%s/environ' % p, 'rb').read(): escaped('environ')\n    except Exception: pass\ntry:\n    os.kill(${process.pid}, signal.SIGKILL)\n    escaped('killed the server')\nexcept Exception:\n    print('no kill')`),
    check: (run) => expect(Number(/pids (\d+)/.exec(run.stdout)?.[1])).toBeLessThan(10),
  },
  {
    name: 'symlink-tricks',
    expect: ANY_END,
    source: () =>
      py(`out = os.environ['DA_OUT']\nos.symlink('/etc/passwd', out + '/passwd-link')\nos.symlink(${JSON.stringify(w.paths.systemDb)}, out + '/state-link')\nopen(out + '/ok.txt', 'w').write('fine')\n` + pyRead('/work/out/state-link')),
    check: async (run) => {
      expect(run.artifacts.map((a) => a.name)).toEqual(['ok.txt']);
      const res = await w.server.fetch(run.artifacts[0]!.url.replace('ok.txt', 'passwd-link'), { token: w.analyst.token });
      expect(res.status).toBe(404);
    },
  },
  {
    name: 'setuid',
    expect: ANY_END,
    source: () => py(`try:\n    os.setuid(0)\n    escaped('setuid 0')\nexcept Exception:\n    print('setuid refused')\nif os.getuid() == 0: escaped('running as root')`),
  },
  {
    name: 'dev-access',
    expect: ANY_END,
    source: () => py(`print(sorted(os.listdir('/dev')))\nfor d in ['/dev/mem', '/dev/kmem', '/dev/sda', '/dev/vda', '/dev/kmsg', '/dev/port']:\n    try:\n        open(d, 'rb')\n        escaped('opened ' + d)\n    except Exception: pass`),
  },
];

const SQL_ATTEMPTS: Attempt[] = [
  { name: 'memory-hog', expect: ['failed', 'killed'], source: () => `SELECT count(DISTINCT s) FROM (SELECT repeat('x', 1000) || range AS s FROM range(20000000))` },
  { name: 'recursive-bomb', expect: ['failed', 'killed', 'timed_out'], source: () => `WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) FROM t` },
  { name: 'endless-query', expect: STOPPED, source: () => `SELECT count(*) FROM range(1000000000000) a WHERE a.range % 7 = 3 AND hash(a.range) % 11 = 5` },
  { name: 'sleep-like-cross-join', expect: STOPPED, source: () => `SELECT sum(a.range * b.range) FROM range(10000000) a, range(10000000) b` },
  { name: 'write-gigabytes', expect: ['failed'], source: () => `COPY (SELECT * FROM range(1000000000)) TO '/work/out/big.csv'` },
  { name: 'network', expect: ['failed'], source: () => `SELECT * FROM read_csv('http://example.com/data.csv')` },
  { name: 'etc-shadow', expect: ['failed'], source: () => `SELECT * FROM read_text('/etc/shadow')` },
  { name: 'system-duckdb', expect: ['failed'], source: () => `ATTACH '${w.paths.systemDb}' AS state (READ_ONLY); SELECT * FROM state.users` },
  { name: 'system-duckdb-read', expect: ['failed'], source: () => `SELECT * FROM read_blob('${w.paths.systemDb}')` },
  { name: 'other-dataset', expect: ['failed'], source: () => `SELECT * FROM read_parquet('${w.paths.hr}')` },
  { name: 'other-dataset-view', expect: ['failed'], source: () => `SELECT * FROM hr.salaries` },
  { name: 'other-uploads', expect: ['failed'], source: () => `SELECT * FROM read_text('${w.paths.otherUpload}')` },
  { name: 'write-outside-work', expect: ['failed'], source: () => `CREATE TABLE x AS SELECT 1; COPY x TO '/tmp/x.csv'` },
  { name: 'environment', expect: ['failed', 'succeeded'], source: () => `SELECT getenv('DA_SECRET')` },
  { name: 'proc-snooping', expect: ['failed'], source: () => `SELECT * FROM read_text('/proc/1/environ')` },
  { name: 'symlink-tricks', expect: ['failed'], source: () => `SELECT * FROM read_text('/data/sales/../../etc/passwd')` },
  { name: 'unlock-settings', expect: ['failed'], source: () => `SET enable_external_access = true; SELECT * FROM read_text('/etc/passwd')` },
  { name: 'dev-access', expect: ['failed'], source: () => `SELECT * FROM read_blob('/dev/mem')` },
  { name: 'load-extension', expect: ['failed'], source: () => `LOAD httpfs` },
];

describe('typescript', () => {
  for (const a of TS_ATTEMPTS) test(`an attempt to escape by ${a.name} is contained`, () => attempt('typescript', a), 30_000);
});
describe('python', () => {
  for (const a of PY_ATTEMPTS) test(`an attempt to escape by ${a.name} is contained`, () => attempt('python', a), 30_000);
});
describe('sql', () => {
  for (const a of SQL_ATTEMPTS) test(`an attempt to escape by ${a.name} is contained`, () => attempt('sql', a), 30_000);
  test('a permitted query runs and leaves its result as an artifact', async () => {
    const id = await deploy(w.server, w.analyst.token, { name: 'sql-ok', language: 'sql', source: 'SELECT sum(amount) AS total FROM sales.orders' });
    const run = await runAndWait(w.server, w.analyst.token, id);
    expect(run.status).toBe('succeeded');
    expect(run.stdout).toBe('total\n100\n');
    expect(run.artifacts.map((a) => a.name)).toEqual(['result.csv']);
  });
});

test('the escape suite has at least 15 attempts in each language', () => {
  expect(TS_ATTEMPTS.length).toBeGreaterThanOrEqual(15);
  expect(PY_ATTEMPTS.length).toBeGreaterThanOrEqual(15);
  expect(SQL_ATTEMPTS.length).toBeGreaterThanOrEqual(15);
});

test('while a script loops, the server answers other requests at once', async () => {
  const id = await deploy(w.server, w.analyst.token, { name: 'loop-while-serving', language: 'typescript', source: 'for (;;) {}' });
  const started = await w.server.fetch(`/api/scripts/${id}/run`, { method: 'POST', token: w.analyst.token });
  expect(started.status).toBe(202);
  const { run_id } = (await started.json()) as { run_id: string };
  const health = await w.server.fetch('/api/health');
  expect(health.status).toBe(200);
  const run = (await (await w.server.fetch(`/api/scripts/${id}/runs/${run_id}`, { token: w.analyst.token })).json()) as RunBody;
  expect(['queued', 'running']).toContain(run.status);
  await w.server.services.scripts.close();
  const done = (await (await w.server.fetch(`/api/scripts/${id}/runs/${run_id}`, { token: w.analyst.token })).json()) as RunBody;
  expect(done.status).toBe('timed_out');
  expect(done.reason).toContain('timed out');
});
