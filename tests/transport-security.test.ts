import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { connect } from 'node:net';
import { ProblemSchema } from '../src/api/problem.ts';
import { cspViolations, launchBrowser } from './helpers/browser.ts';
import { testYaml } from './helpers/data.ts';
import { ADMIN_EMAIL, ADMIN_PASSWORD, startTestServer, type TestServer } from './helpers/server.ts';
import { formToken } from './helpers/web.ts';

let plain: TestServer; // trust_proxy off: X-Forwarded-* are ignored
let proxied: TestServer; // behind a trusted TLS-terminating proxy
beforeAll(async () => {
  [plain, proxied] = await Promise.all([startTestServer(), startTestServer({}, { yaml: testYaml('server:\n  trust_proxy: true\n') })]);
});
afterAll(async () => {
  await plain?.stop();
  await proxied?.stop();
});

const HTTPS = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'da.example.com' };

describe('session cookie', () => {
  const cookieOf = async (server: TestServer, headers: Record<string, string>) => {
    const res = await server.fetch('/auth/token', { method: 'POST', headers, json: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD, cookie: true } });
    expect(res.status).toBe(200);
    return res.headers.get('set-cookie')!;
  };
  const formCookieOf = async (server: TestServer, headers: Record<string, string>) => {
    const { token, cookie } = await formToken(server, { headers });
    const res = await fetch(`${server.url}/login`, {
      method: 'POST', redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin', cookie, ...headers },
      body: new URLSearchParams({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD, _csrf: token }),
    });
    expect(res.status).toBe(302);
    return res.headers.get('set-cookie')!;
  };

  test('is Secure when a trusted proxy says the browser came over HTTPS', async () => {
    expect(await cookieOf(proxied, HTTPS)).toContain('Secure');
    expect(await formCookieOf(proxied, HTTPS)).toContain('Secure');
    const cookie = (await cookieOf(proxied, HTTPS)).split(';')[0]!;
    const { token } = await formToken(proxied, { cookie, headers: HTTPS });
    const out = await fetch(`${proxied.url}/logout`, {
      method: 'POST', redirect: 'manual',
      headers: { cookie, 'sec-fetch-site': 'same-origin', 'content-type': 'application/x-www-form-urlencoded', ...HTTPS },
      body: new URLSearchParams({ _csrf: token }),
    });
    expect(out.status).toBe(302);
    expect(out.headers.get('set-cookie')).toContain('Secure');
  });

  test('is not Secure over plain HTTP, nor when an untrusted client claims HTTPS', async () => {
    expect(await cookieOf(proxied, {})).not.toContain('Secure');
    expect(await cookieOf(plain, HTTPS)).not.toContain('Secure');
    expect(await formCookieOf(plain, HTTPS)).not.toContain('Secure');
  });
});

describe('security headers', () => {
  const csp = (res: Response) => res.headers.get('content-security-policy') ?? '';

  test('pages, the docs page, API answers and errors carry a CSP that forbids framing and inline scripts', async () => {
    for (const path of ['/login', '/api/docs', '/api/openapi.json', '/api/me', '/no/such/page']) {
      const res = await plain.fetch(path);
      const policy = csp(res);
      expect({ path, policy }).toEqual({ path, policy: expect.stringContaining("frame-ancestors 'none'") });
      expect(policy).toContain("script-src 'self'");
      expect(policy).toContain("object-src 'none'");
      expect(policy).not.toContain('unsafe-inline');
      expect(policy).not.toContain('unsafe-eval');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('same-origin');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('x-request-id')).toBeTruthy();
    }
  });

  test('HSTS only when the request came over HTTPS through a trusted proxy', async () => {
    const viaProxy = await proxied.fetch('/login', { headers: HTTPS });
    expect(viaProxy.headers.get('strict-transport-security')).toContain('max-age=');
    expect((await proxied.fetch('/login')).headers.get('strict-transport-security')).toBeNull();
    expect((await plain.fetch('/login', { headers: HTTPS })).headers.get('strict-transport-security')).toBeNull();
  });

  test('the sign-in page, the start page and the docs page render under the policy, with no violation', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      const violations = cspViolations(page);
      await page.goto(`${plain.url}/login`);
      // The page's own inline style applies (allowed by its hash): the form is 28rem wide.
      expect(await page.$eval('body', (b) => getComputedStyle(b).maxWidth)).toBe('448px');
      await page.fill('#email', ADMIN_EMAIL);
      await page.fill('#password', ADMIN_PASSWORD);
      await Promise.all([page.waitForURL(`${plain.url}/`), page.click('button[type=submit]')]);
      expect(await page.$eval('body', (b) => getComputedStyle(b).maxWidth)).toBe('960px');

      await page.goto(`${plain.url}/api/docs`);
      await page.waitForSelector('.opblock-summary-path', { timeout: 20_000 });
      const paths = await page.$$eval('.opblock-summary-path', (els) => els.map((e) => e.textContent?.trim()));
      expect(paths).toContain('/auth/token');
      expect(violations).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);

  test('the browser step of da login still hands its code to the loopback callback (form-action allows it)', async () => {
    const codes: string[] = [];
    const callback = Bun.serve({
      port: 0, hostname: '127.0.0.1',
      fetch(req) {
        const url = new URL(req.url);
        if (url.pathname === '/callback') codes.push(url.searchParams.get('code') ?? '');
        return new Response('ok');
      },
    });
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      const violations = cspViolations(page);
      const query = new URLSearchParams({
        cli_redirect: `http://127.0.0.1:${callback.port}/callback`, state: 's'.repeat(20), challenge: 'c'.repeat(43), host: 'laptop',
      });
      await page.goto(`${plain.url}/login?${query}`);
      await page.fill('#email', ADMIN_EMAIL);
      await page.fill('#password', ADMIN_PASSWORD);
      await Promise.all([page.waitForURL(/127\.0\.0\.1:\d+\/callback/), page.click('button[type=submit]')]);
      expect(codes).toHaveLength(1);
      expect(codes[0]).toStartWith('dac_');
      expect(violations).toEqual([]);
    } finally {
      await browser.close();
      callback.stop(true);
    }
  }, 60_000);
});

describe('cookie CSRF check and forwarded headers', () => {
  const cookieOf = async (server: TestServer) => {
    const res = await server.fetch('/auth/token', { method: 'POST', json: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD, cookie: true } });
    return res.headers.get('set-cookie')!.split(';')[0]!;
  };

  test('without trust_proxy, an X-Forwarded-Host matching a foreign Origin does not pass the same-origin check', async () => {
    const cookie = await cookieOf(plain);
    const res = await plain.fetch('/api/tokens', {
      method: 'POST', json: { name: 'csrf' },
      headers: { cookie, origin: 'https://evil.example', 'x-forwarded-host': 'evil.example' },
    });
    expect(res.status).toBe(401);
    expect(ProblemSchema.parse(await res.json()).detail).toContain('cross-site');
  });

  test('behind a trusted proxy, the Origin is compared with the forwarded host', async () => {
    const cookie = await cookieOf(proxied);
    const same = await proxied.fetch('/api/tokens', {
      method: 'POST', json: { name: 'via proxy' }, headers: { cookie, origin: 'https://da.example.com', ...HTTPS },
    });
    expect(same.status).toBe(201);
    const cross = await proxied.fetch('/api/tokens', {
      method: 'POST', json: { name: 'via proxy' }, headers: { cookie, origin: 'https://evil.example', ...HTTPS },
    });
    expect(cross.status).toBe(401);
  });
});

describe('install script origin', () => {
  /** GET /cli/install.sh with a raw Host header (what any client can send). */
  function rawGet(server: TestServer, host: string): Promise<{ status: number; headers: string; body: string }> {
    const port = Number(new URL(server.url).port);
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () =>
        socket.write(`GET /cli/install.sh HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
      );
      let data = '';
      socket.on('data', (b) => (data += b));
      socket.on('error', reject);
      socket.on('end', () => {
        const [head = '', ...rest] = data.split('\r\n\r\n');
        resolve({ status: Number(head.split(' ')[1]), headers: head.toLowerCase(), body: rest.join('\r\n\r\n') });
      });
    });
  }

  test('without base_url only the loopback address is used; another Host, however plausible, is refused and named the setting', async () => {
    const port = new URL(plain.url).port;
    const res = await rawGet(plain, `127.0.0.1:${port}`);
    expect(res.status).toBe(200);
    expect(res.body).toContain(`SERVER="http://127.0.0.1:${port}"`);
    expect(res.headers).toContain('cache-control: no-store');
    expect(res.headers).toMatch(/vary: .*host/);
    const foreign = await rawGet(plain, 'da.internal.example:8000');
    expect(foreign.status).toBe(400);
    expect(foreign.body).toContain('base_url');
    expect(foreign.body).not.toContain('SERVER=');
  });

  test('an implausible Host header is refused, never written into the script', async () => {
    for (const host of ['evil..example', '-evil.example', 'evil_.example', 'a.example:99999', '[zz]', 'x'.repeat(64) + '.example', '1.2.3.999']) {
      const res = await rawGet(plain, host);
      expect({ host, status: res.status }).toEqual({ host, status: 400 });
      expect(res.headers).toContain('content-type: application/problem+json');
      expect(res.body).not.toContain('SERVER=');
    }
  });
});
