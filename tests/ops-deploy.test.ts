import { afterAll, describe, expect, test } from 'bun:test';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { createDaSandbox, SHARED_CACHE } from './helpers/cli.ts';

const ROOT = resolve(import.meta.dir, '..');
const dirs: string[] = [];
function tempDir(prefix = 'da-deploy-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name?: string;
  steps: Instruction[];
}

/** The Dockerfile's stages and instructions (continuation lines joined, comments dropped). */
function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!current && (line.startsWith('#') || !line)) continue;
    if (line.startsWith('#')) continue;
    if (line.endsWith('\\')) current += line.slice(0, -1) + ' ';
    else {
      logical.push((current + line).trim());
      current = '';
    }
  }
  const stages: Stage[] = [];
  for (const l of logical) {
    const [, op, args] = /^(\w+)\s+(.*)$/.exec(l)!;
    if (op!.toUpperCase() === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args!)!;
      stages.push({ from: m[1]!, name: m[2], steps: [] });
    } else stages.at(-1)!.steps.push({ op: op!.toUpperCase(), args: args!.replace(/\s+/g, ' ') });
  }
  return stages;
}

const stages = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const [build, runtime] = stages as [Stage, Stage];
const step = (s: Stage, op: string) => s.steps.filter((i) => i.op === op);

describe('Dockerfile', () => {
  test('has a build stage and a final stage that holds only the da binary, as non-root, with /data and a health check', () => {
    expect(stages).toHaveLength(2);
    expect(build.name).toBe('build');
    expect(runtime.from).toMatch(/^debian:.*slim$/);
    const copies = step(runtime, 'COPY');
    expect(copies).toHaveLength(1);
    expect(copies[0]!.args).toMatch(/^--from=build .*\/app\/dist\/da \/usr\/local\/bin\/da$/);
    const installs = step(runtime, 'RUN').map((r) => r.args).join(' ');
    expect(installs).toContain('bubblewrap');
    expect(installs).not.toMatch(/\b(bun|nodejs|npm)\b/);
    const user = step(runtime, 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user!);
    expect(step(runtime, 'VOLUME').map((v) => v.args)).toContain('/data');
    expect(step(runtime, 'HEALTHCHECK')[0]!.args).toContain('CMD ["da", "server", "health"]');
    expect(step(runtime, 'CMD').at(-1)!.args).toBe('["da", "server", "start"]');
    expect(step(runtime, 'ENV').map((e) => e.args).join(' ')).toContain('DA_DATA_DIR=/data');
  });

  test("the build stage's steps, run as plain commands in a clean folder, give a da that serves health as the image would", async () => {
    // The build context: the files docker would send (tracked and new, minus .dockerignore'd ones).
    const app = tempDir('da-docker-app-');
    const listed = Bun.spawnSync(['git', 'ls-files', '--cached', '--others', '--exclude-standard'], { cwd: ROOT }).stdout.toString().split('\n').filter(Boolean);
    for (const rel of listed) {
      if (!existsSync(join(ROOT, rel))) continue;
      mkdirSync(dirname(join(app, rel)), { recursive: true });
      copyFileSync(join(ROOT, rel), join(app, rel));
    }
    expect(build.steps.map((s) => s.op)).toEqual(['WORKDIR', 'COPY', 'RUN', 'COPY', 'RUN', 'RUN']);
    for (const run of step(build, 'RUN')) {
      if (run.args.startsWith('bun install')) {
        // Needs the npm registry, which this machine may not reach: the installed packages stand in.
        symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'));
        continue;
      }
      const r = Bun.spawnSync(['sh', '-c', run.args], { cwd: app, env: { PATH: process.env.PATH!, HOME: app, DA_CACHE_DIR: SHARED_CACHE } });
      expect({ step: run.args, code: r.exitCode, stderr: r.exitCode ? r.stderr.toString() : '' }).toEqual({ step: run.args, code: 0, stderr: '' });
    }
    // The final stage: only the binary, the ENV of the image, a fresh /data.
    const image = tempDir('da-docker-image-');
    mkdirSync(join(image, 'usr/local/bin'), { recursive: true });
    cpSync(join(app, 'dist/da'), join(image, 'usr/local/bin/da'));
    chmodSync(join(image, 'usr/local/bin/da'), 0o755);
    mkdirSync(join(image, 'data'));
    const env = { PATH: `${join(image, 'usr/local/bin')}:/usr/bin:/bin`, HOME: image, DA_DATA_DIR: join(image, 'data'), PORT: '0', DA_CACHE_DIR: SHARED_CACHE, DA_LOG_FORMAT: 'json' };
    const server = spawn('da', ['server', 'start'], { cwd: join(image, 'data'), env, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | string>((res) => server.on('exit', (code, signal) => res(code ?? signal ?? -1)));
    let log = '';
    server.stdout!.on('data', (d) => (log += d));
    server.stderr!.on('data', (d) => (log += d));
    try {
      // The port the OS gave it, from its log line.
      let port: string | undefined;
      while (!port) {
        if (server.exitCode !== null) throw new Error(`da server start exited: ${log}`);
        port = /"msg":"da server listening".*?"url":"http:\/\/[^"]*?:(\d+)"/.exec(log)?.[1];
        if (!port) await Bun.sleep(20);
      }
      const healthEnv = { ...env, PORT: port };
      let code = 1;
      for (let i = 0; i < 300 && code !== 0; i++) {
        code = Bun.spawnSync(['da', 'server', 'health'], { env: healthEnv }).exitCode ?? 1;
        if (code !== 0) await Bun.sleep(50);
      }
      expect(code).toBe(0);
      const health = Bun.spawnSync(['da', 'server', 'health', '--json'], { env: healthEnv });
      expect(JSON.parse(health.stdout.toString())).toMatchObject({ status: 'ok', http_status: 200 });
    } finally {
      server.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  }, 180_000);
});

describe('kamal.yml, kamal.staging.yml, docker-compose.yml', () => {
  const kamal = Bun.YAML.parse(readFileSync(join(ROOT, 'kamal.yml'), 'utf8')) as any;
  const staging = Bun.YAML.parse(readFileSync(join(ROOT, 'kamal.staging.yml'), 'utf8')) as any;
  const compose = Bun.YAML.parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as any;

  test('kamal.yml names the service, image, servers, TLS proxy with the health path, the /data volume and the env', () => {
    expect(kamal.service).toBe('da');
    expect(kamal.image).toBeString();
    expect(kamal.servers.web.hosts.length).toBeGreaterThan(0);
    expect(kamal.proxy).toMatchObject({ ssl: true, app_port: 8000, healthcheck: { path: '/api/health' } });
    expect(kamal.volumes.some((v: string) => v.endsWith(':/data'))).toBe(true);
    expect(kamal.env.clear.DA_DATA_DIR).toBe('/data');
    expect(kamal.env.secret).toEqual(expect.arrayContaining(['DA_SECRET', 'DA_ADMIN_PASSWORD']));
    expect(kamal.registry.password).toEqual(['KAMAL_REGISTRY_PASSWORD']);
    expect(kamal.builder.arch).toBeString();
  });

  test('the staging destination has its own hosts, health path and volume', () => {
    expect(staging.servers.web.hosts).not.toEqual(kamal.servers.web.hosts);
    expect(staging.proxy.healthcheck.path).toBe('/api/health');
    expect(staging.volumes[0]).toMatch(/:\/data$/);
    expect(staging.volumes[0]).not.toBe(kamal.volumes[0]);
  });

  test('docker-compose.yml builds the image and keeps /data in a volume, with the same health check', () => {
    expect(compose.services.da.build).toBe('.');
    expect(compose.services.da.volumes).toContain('da-data:/data');
    expect(compose.services.da.healthcheck.test).toEqual(['CMD', 'da', 'server', 'health']);
    expect(compose.volumes).toHaveProperty('da-data');
  });

  test('the pre-deploy hook is executable and stops the old container', () => {
    const hook = join(ROOT, '.kamal/hooks/pre-deploy');
    expect(Bun.spawnSync(['test', '-x', hook]).exitCode).toBe(0);
    expect(readFileSync(hook, 'utf8')).toContain('kamal app stop -c kamal.yml');
  });
});

describe('da server status|logs|deploy|rollback', () => {
  function project(): string {
    const dir = tempDir();
    for (const f of ['kamal.yml', 'kamal.staging.yml']) copyFileSync(join(ROOT, f), join(dir, f));
    return dir;
  }

  test('--dry-run prints the Kamal command', async () => {
    const dir = project();
    const da = createDaSandbox();
    try {
      const cases: Array<[string[], string]> = [
        [['server', 'deploy', '--dry-run'], `kamal deploy -c ${dir}/kamal.yml`],
        [['server', 'deploy', '-d', 'staging', '--dry-run'], `kamal deploy -c ${dir}/kamal.yml -d staging`],
        [['server', 'rollback', 'abc123', '--dry-run'], `kamal rollback abc123 -c ${dir}/kamal.yml`],
        [['server', 'status', '--dry-run'], `kamal app details -c ${dir}/kamal.yml`],
        [['server', 'logs', '-n', '50', '--dry-run'], `kamal app logs --lines 50 -c ${dir}/kamal.yml`],
      ];
      for (const [args, line] of cases) {
        const r = await da.runInProcess(args, { cwd: dir, env: { PATH: '/nonexistent' } });
        expect({ args, code: r.code, out: r.stdout.trim() }).toEqual({ args, code: 0, out: line });
      }
    } finally {
      da.cleanup();
    }
  });

  test('without kamal installed: one line that says what is missing and the command, exit 1', async () => {
    const dir = project();
    const da = createDaSandbox();
    try {
      const r = await da.runInProcess(['server', 'deploy'], { cwd: dir, env: { PATH: '/nonexistent' } });
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain('kamal is not installed');
      expect(r.stderr).toContain(`kamal deploy -c ${dir}/kamal.yml`);
      const noConfig = await da.runInProcess(['server', 'status'], { cwd: tempDir(), env: { PATH: '/nonexistent' } });
      expect(noConfig.code).toBe(1);
      expect(noConfig.stderr).toContain('no Kamal config at');
      const noDest = await da.runInProcess(['server', 'deploy', '-d', 'prod-eu', '--dry-run'], { cwd: dir });
      expect(noDest.code).toBe(2);
      expect(noDest.stderr).toContain('kamal.prod-eu.yml');
    } finally {
      da.cleanup();
    }
  });

  test('where kamal is installed, it runs it with the arguments and reports its failure', async () => {
    const dir = project();
    const bin = tempDir('da-kamal-bin-');
    // A stand-in kamal on PATH: records its arguments, fails for `rollback`.
    writeFileSync(join(bin, 'kamal'), `#!/bin/sh\necho "$@" >> "${join(bin, 'calls.log')}"\n[ "$1" = rollback ] && exit 3\nexit 0\n`);
    chmodSync(join(bin, 'kamal'), 0o755);
    const da = createDaSandbox();
    try {
      const env = { PATH: `${bin}:/usr/bin:/bin` };
      expect((await da.runInProcess(['server', 'logs', '--follow', '-d', 'staging'], { cwd: dir, env })).code).toBe(0);
      const failed = await da.runInProcess(['server', 'rollback', 'v1'], { cwd: dir, env });
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain('kamal exited with 3');
      expect(readFileSync(join(bin, 'calls.log'), 'utf8').trim().split('\n')).toEqual([
        `app logs --follow -c ${dir}/kamal.yml -d staging`,
        `rollback v1 -c ${dir}/kamal.yml`,
      ]);
    } finally {
      da.cleanup();
    }
  });
});
