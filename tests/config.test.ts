import { expect, test } from 'bun:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig } from '../src/config.ts';

function withYaml(yaml: string, env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'da-cfg-'));
  const file = join(dir, 'instance.yaml');
  writeFileSync(file, yaml);
  return loadConfig({ DA_CONFIG: file, ...env }, dir);
}

test('no config file gives every default', () => {
  const config = loadConfig({}, '/srv/da');
  expect(config.dataDir).toBe('/srv/da/data');
  expect(config.server.port).toBe(8000);
  expect(config.sources).toEqual({});
  expect(config.query.default_limit).toBe(1000);
});

test('${ENV} and ${ENV:-default} are interpolated in any string value', () => {
  const config = withYaml(
    'sources:\n  crm: { type: keboola, url: "${KBC_URL:-https://connection.keboola.com}", token: "${KBC_TOKEN}" }\n',
    { KBC_TOKEN: 'tok-123' },
  );
  expect(config.sources.crm).toMatchObject({ type: 'keboola', url: 'https://connection.keboola.com', token: 'tok-123' });
});

test('environment variables override the file', () => {
  const config = withYaml('server:\n  port: 9000\n  data_dir: /var/da\n', { PORT: '9100', DA_DATA_DIR: '/tmp/da-x' });
  expect(config.server.port).toBe(9100);
  expect(config.dataDir).toBe('/tmp/da-x');
});

test('local source paths are resolved against the working directory', () => {
  const config = loadConfig({ DA_CONFIG: resolve('fixtures/instance.yaml') }, process.cwd());
  for (const s of Object.values(config.sources)) {
    if (s.type === 'local') expect(s.path.startsWith('/')).toBe(true);
  }
});

test('each kind of mistake names its key in one line', () => {
  const cases: Array<[string, string]> = [
    ['auth:\n  secret: short\n', 'auth.secret'],
    ['sources:\n  s: { type: ftp, path: /x }\n', 'sources.s'],
    ['sources:\n  s: { type: local }\n', 'sources.s.path'],
    ['server:\n  bogus: 1\n', 'server.bogus'],
  ];
  for (const [yaml, key] of cases) {
    let err: unknown;
    try {
      withYaml(yaml);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain(key);
    expect(msg.includes('\n')).toBe(false);
  }
});

test('dataset names that DuckDB or da use themselves are refused', () => {
  for (const name of ['main', 'state', 'system', 'information_schema']) {
    expect(() => withYaml(`sources:\n  ${name}: { type: local, path: /tmp }\n`)).toThrow(`sources.${name}`);
  }
});
