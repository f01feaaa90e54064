import { expect, test } from 'bun:test';
import { testYaml } from './helpers/data.ts';
import { startTestServer } from './helpers/server.ts';

test('behind a trusted proxy, the install script downloads from the forwarded https origin', async () => {
  const server = await startTestServer({}, { yaml: testYaml('server:\n  trust_proxy: true\n') });
  try {
    const res = await server.fetch('/cli/install.sh', { headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'da.example.com' } });
    expect(await res.text()).toContain('SERVER="https://da.example.com"');
  } finally {
    await server.stop();
  }
});

test('without trust_proxy, forwarded headers are ignored; instance.base_url wins over both', async () => {
  const plain = await startTestServer();
  try {
    const res = await plain.fetch('/cli/install.sh', { headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' } });
    expect(await res.text()).toContain(`SERVER="${plain.url}"`);
  } finally {
    await plain.stop();
  }
  const configured = await startTestServer({}, { yaml: testYaml('instance:\n  base_url: https://data.corp.example/\n') });
  try {
    const res = await configured.fetch('/cli/install.sh');
    expect(await res.text()).toContain('SERVER="https://data.corp.example"');
  } finally {
    await configured.stop();
  }
});
