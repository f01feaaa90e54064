import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { createDaSandbox, ensureCliBuilt, type DaSandbox } from './helpers/cli.ts';
import { formToken } from './helpers/web.ts';

let server: TestServer;
let browser: BrowserContext;
let profile: string;
let da: DaSandbox;

beforeAll(async () => {
  profile = mkdtempSync(join(tmpdir(), 'da-chromium-'));
  [server, browser] = await Promise.all([
    startTestServer(),
    chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    }),
    ensureCliBuilt(),
  ]);
  da = createDaSandbox();
});
afterAll(async () => {
  await browser?.close();
  da?.cleanup();
  await server?.stop();
  rmSync(profile, { recursive: true, force: true });
});

/** Starts `da login` in browser mode and returns the URL it printed on stderr. */
async function startBrowserLogin(sb: DaSandbox) {
  const child = sb.spawn(['login', '--server', server.url, '--no-browser', '--json', '--timeout', '30']);
  const reader = child.stderr.getReader();
  let err = '';
  while (!/http:\/\/\S+\/login\?\S+/.test(err)) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`da login ended early: ${err}`);
    err += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return { child, url: /(http:\/\/\S+\/login\?\S+)/.exec(err)![1]! };
}

describe('da login through the browser', () => {
  test('signing in on the server page hands a personal access token to the waiting CLI', async () => {
    const user = await server.createUser('analyst');
    const { child, url } = await startBrowserLogin(da);
    expect(new URL(url).searchParams.get('cli_redirect')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);

    const page = await browser.newPage();
    await page.goto(url);
    await page.fill('input[name=email]', user.email);
    await page.fill('input[name=password]', user.password);
    await page.click('button[type=submit]');
    await page.waitForURL(/127\.0\.0\.1:\d+\/callback/);
    expect(await page.textContent('h1')).toBe('da is signed in');
    // The browser only ever sees a single-use code: no token in any URL it visited.
    const callback = new URL(page.url());
    expect(callback.searchParams.get('state')).toBeTruthy();
    expect(callback.searchParams.get('code')).toStartWith('dac_');
    expect(page.url()).not.toContain('dapat_');

    const [out, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
    expect(code).toBe(0);
    expect(JSON.parse(out).user.email).toBe(user.email);
    const stored = JSON.parse(readFileSync(join(da.configDir, 'token.json'), 'utf8'));
    expect(stored.token).toStartWith('dapat_');
    // The code was used up by the CLI: replaying it (even with a guessed verifier) gets nothing.
    const replay = await server.fetch('/auth/cli-token', {
      method: 'POST', json: { code: callback.searchParams.get('code'), verifier: 'x'.repeat(43) },
    });
    expect(replay.status).toBe(401);
    const pats = await (await server.fetch('/api/tokens', { token: stored.token })).json();
    expect(pats.items[0].name).toStartWith('da cli ');
    expect((await da.run(['whoami', '--json'])).json().email).toBe(user.email);

    // Signed in already (session cookie): the next da login only asks to authorize.
    const sb2 = createDaSandbox();
    try {
      const second = await startBrowserLogin(sb2);
      await page.goto(second.url);
      expect(await page.textContent('h1')).toBe('Authorize da');
      await page.click('button[type=submit]');
      await page.waitForURL(/127\.0\.0\.1:\d+\/callback/);
      const [out2, code2] = await Promise.all([new Response(second.child.stdout).text(), second.child.exited]);
      expect(code2).toBe(0);
      expect(JSON.parse(out2).user.email).toBe(user.email);
    } finally {
      sb2.cleanup();
    }
    await page.close();
  });

  test('the login page refuses to send a token anywhere but a loopback address', async () => {
    const page = await browser.newPage();
    for (const target of ['http://evil.example.com:8080/callback', 'https://127.0.0.1:5000/callback', 'http://127.0.0.1/callback', 'javascript:alert(1)']) {
      const res = await page.goto(`${server.url}/login?cli_redirect=${encodeURIComponent(target)}&state=abcdefghijklmnopqrstu&challenge=${'c'.repeat(43)}`);
      expect(res!.status()).toBe(400);
      expect(await page.textContent('h1')).toBe('Request refused');
    }
    await page.close();
    // A direct form post with a foreign redirect creates no token and redirects nowhere.
    const user = await server.createUser('viewer');
    const { token, cookie } = await formToken(server);
    const res = await fetch(`${server.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url, cookie },
      body: new URLSearchParams({ email: user.email, password: user.password, cli_redirect: 'http://evil.example.com:80/cb', state: 'abcdefghijklmnopqrstu', challenge: 'c'.repeat(43), _csrf: token }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    const pats = await (await server.fetch('/api/tokens', { token: user.token })).json();
    expect(pats.items).toEqual([]);
  });

  test('a wrong password shows the form again with an error', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/login`);
    await page.fill('input[name=email]', 'nobody@example.com');
    await page.fill('input[name=password]', 'wrong-password');
    await page.click('button[type=submit]');
    expect(await page.textContent('[role=alert]')).toContain('Wrong email or password');
    await page.close();
  });
});
