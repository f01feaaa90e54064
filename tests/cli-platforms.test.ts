import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TARGETS, bindingDir, buildCli, embedFiles, thinMachO } from '../scripts/build-cli.ts';
import { testYaml } from './helpers/data.ts';
import { startTestServer, type TestServer } from './helpers/server.ts';
import { sessionCookie } from './helpers/web.ts';

/**
 * Release builds for other platforms: one cross build (linux-arm64) made here and served
 * from a release folder (`server.cli_dir`), downloaded with its checksum, and installed by
 * install.sh under a faked `uname`. The other targets are built by `bun scripts/build-cli.ts --all`.
 */

const sha256 = (bytes: Uint8Array) => new Bun.CryptoHasher('sha256').update(bytes).digest('hex');

let releaseDir: string;
let built: Buffer;
let builtSha: string;
let server: TestServer;
/** A loopback proxy in front of the server; it is the configured origin (base_url), and can damage downloads. */
let proxy: ReturnType<typeof Bun.serve>;
let damage = false;

beforeAll(async () => {
  releaseDir = mkdtempSync(join(tmpdir(), 'da-release-'));
  await buildCli(TARGETS.find((t) => t.name === 'linux-arm64')!, join(releaseDir, 'da-linux-arm64'), { checksum: true });
  // Windows and macOS too, to check their formats and how they are served.
  await buildCli(TARGETS.find((t) => t.name === 'windows-x64')!, join(releaseDir, 'da-windows-x64.exe'), { checksum: true });
  await buildCli(TARGETS.find((t) => t.name === 'darwin-arm64')!, join(releaseDir, 'da-darwin-arm64'), { checksum: true });
  built = readFileSync(join(releaseDir, 'da-linux-arm64'));
  builtSha = sha256(built);
  proxy = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const url = new URL(req.url);
      const res = await fetch(`${server.url}${url.pathname}`, { method: req.method, headers: { host: new URL(server.url).host } });
      const headers = new Headers(res.headers);
      headers.delete('content-length');
      headers.delete('content-encoding');
      if (!damage || !url.pathname.startsWith('/cli/da-') || url.pathname.endsWith('.sha256')) {
        return new Response(await res.arrayBuffer(), { status: res.status, headers });
      }
      // One flipped byte in the middle: what a broken connection or disk would give.
      const body = new Uint8Array(await res.arrayBuffer());
      body[body.length >> 1]! ^= 0xff;
      return new Response(body, { status: res.status, headers });
    },
  });
  server = await startTestServer(
    { DA_BASE_URL: `http://127.0.0.1:${proxy.port}` },
    { yaml: testYaml(`server:\n  cli_dir: ${JSON.stringify(releaseDir)}\n`) },
  );
}, 180_000);

afterAll(async () => {
  await server?.stop();
  proxy?.stop(true);
  rmSync(releaseDir, { recursive: true, force: true });
});

describe('cross-compiled release builds', () => {
  test('windows-x64 is a PE executable for x86-64 and darwin-arm64 a Mach-O executable for arm64', () => {
    const exe = readFileSync(join(releaseDir, 'da-windows-x64.exe'));
    expect(exe.subarray(0, 2).toString('latin1')).toBe('MZ');
    const pe = exe.readUInt32LE(0x3c);
    expect(exe.subarray(pe, pe + 4).toString('latin1')).toBe('PE\0\0');
    expect(exe.readUInt16LE(pe + 4)).toBe(0x8664); // IMAGE_FILE_MACHINE_AMD64
    expect(readFileSync(join(releaseDir, 'da-windows-x64.sha256'), 'utf8')).toBe(`${sha256(exe)}  da-windows-x64.exe\n`);
    const mac = readFileSync(join(releaseDir, 'da-darwin-arm64'));
    expect(mac.readUInt32LE(0)).toBe(0xfeedfacf); // MH_MAGIC_64
    expect(mac.readUInt32LE(4)).toBe(0x0100000c); // CPU_TYPE_ARM64
    expect(mac.readUInt32LE(12)).toBe(2); // MH_EXECUTE
  });

  test('linux-arm64 is an ELF executable for aarch64, with its checksum file beside it', () => {
    expect([...built.subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]);
    expect(built[4]).toBe(2); // 64-bit
    expect(built.readUInt16LE(18)).toBe(183); // EM_AARCH64
    expect(readFileSync(join(releaseDir, 'da-linux-arm64.sha256'), 'utf8')).toBe(`${builtSha}  da-linux-arm64\n`);
  });

  test("a Mac build embeds only its CPU's slice of the universal DuckDB library", () => {
    // A universal file with two slices, laid out as `lipo` writes them (big-endian header).
    const fat = new Uint8Array(4096 * 3);
    const dv = new DataView(fat.buffer);
    dv.setUint32(0, 0xcafebabe);
    dv.setUint32(4, 2);
    const slices = [
      { cpu: 0x01000007, offset: 4096, size: 100, fill: 7 },
      { cpu: 0x0100000c, offset: 8192, size: 200, fill: 12 },
    ];
    slices.forEach((s, i) => {
      const at = 8 + i * 20;
      dv.setUint32(at, s.cpu);
      dv.setUint32(at + 8, s.offset);
      dv.setUint32(at + 12, s.size);
      fat.fill(s.fill, s.offset + 8, s.offset + s.size);
      // Each slice is a Mach-O file of its own: 64-bit magic and CPU type, little-endian.
      dv.setUint32(s.offset, 0xfeedfacf, true);
      dv.setUint32(s.offset + 4, s.cpu, true);
    });
    const arm = thinMachO(fat, 'arm64');
    expect(arm.length).toBe(200);
    expect(arm.subarray(8).every((b) => b === 12)).toBe(true);
    expect(thinMachO(fat, 'x64').subarray(8).every((b) => b === 7)).toBe(true);
    const thin = new Uint8Array([0xcf, 0xfa, 0xed, 0xfe, 1, 2, 3]);
    expect(thinMachO(thin, 'arm64')).toBe(thin);
    // A slice whose header names another CPU is refused, not embedded.
    dv.setUint32(8192 + 4, 0x01000007, true);
    expect(() => thinMachO(fat, 'arm64')).toThrow('not a 64-bit Mach-O file for arm64');
  });

  test("the build carries the target's DuckDB library, compressed, and only that one", async () => {
    const arm = TARGETS.find((t) => t.name === 'linux-arm64')!;
    const host = TARGETS.find((t) => t.name === 'linux-x64')!;
    const [lib] = embedFiles(arm, await bindingDir(arm)).filter((f) => f.name === 'libduckdb.so');
    expect(lib?.compression).toBe('zstd');
    const compressed = readFileSync(lib!.path);
    // The compressed library is in the binary as is…
    expect(built.indexOf(compressed.subarray(0, 4096))).toBeGreaterThan(0);
    expect(built.indexOf(compressed.subarray(compressed.length - 4096))).toBeGreaterThan(0);
    // …and unpacks to the aarch64 ELF library whose size and hash the loader checks.
    const library = Bun.zstdDecompressSync(compressed);
    expect(library.length).toBe(lib!.size);
    expect(sha256(library)).toBe(lib!.sha256);
    expect(Buffer.from(library).readUInt16LE(18)).toBe(183);
    expect(compressed.length).toBeLessThan(library.length / 2);
    // No copy of another platform's library came along.
    const [other] = embedFiles(host, await bindingDir(host)).filter((f) => f.name === 'libduckdb.so');
    expect(built.indexOf(readFileSync(other!.path).subarray(0, 4096))).toBe(-1);
  });

  test('the build script refuses an unknown target with the list of known ones', () => {
    const r = Bun.spawnSync(['bun', join(import.meta.dir, '..', 'scripts', 'build-cli.ts'), '--target', 'plan9-mips'], { stderr: 'pipe' });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.toString()).toContain('unknown target plan9-mips');
    expect(r.stderr.toString()).toContain('darwin-arm64, darwin-x64');
  });
});

describe('serving the release builds', () => {
  test('GET streams the file with its sha256 as ETag and header; HEAD reports the real length', async () => {
    const res = await fetch(`${server.url}/cli/da-linux-arm64`);
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe(`"${builtSha}"`);
    expect(res.headers.get('x-content-sha256')).toBe(builtSha);
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="da"');
    expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(builtSha);

    const head = await fetch(`${server.url}/cli/da-linux-arm64`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(statSync(join(releaseDir, 'da-linux-arm64')).size));
    expect(head.headers.get('etag')).toBe(`"${builtSha}"`);

    const sum = await fetch(`${server.url}/cli/da-linux-arm64.sha256`);
    expect(await sum.text()).toBe(`${builtSha}  da-linux-arm64\n`);
    expect((await fetch(`${server.url}/cli/da-linux-arm64`, { headers: { 'if-none-match': `"${builtSha}"` } })).status).toBe(304);
  });

  test('the Windows build is served as da-windows-x64.exe (saved as da.exe), its checksum under both names', async () => {
    const exeSha = sha256(readFileSync(join(releaseDir, 'da-windows-x64.exe')));
    const head = await fetch(`${server.url}/cli/da-windows-x64.exe`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(statSync(join(releaseDir, 'da-windows-x64.exe')).size));
    expect(head.headers.get('x-content-sha256')).toBe(exeSha);
    expect(head.headers.get('content-disposition')).toBe('attachment; filename="da.exe"');
    for (const name of ['da-windows-x64.exe.sha256', 'da-windows-x64.sha256']) {
      expect(await (await fetch(`${server.url}/cli/${name}`)).text(), name).toBe(`${exeSha}  da-windows-x64.exe\n`);
    }
  });

  test('an unknown platform, a platform not built here and a wrong .exe are 404 problems that say what is offered', async () => {
    const unknown = await fetch(`${server.url}/cli/da-plan9-mips`);
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toContain('application/problem+json');
    expect(((await unknown.json()) as { detail: string }).detail).toContain('da-darwin-arm64');

    const notBuilt = await fetch(`${server.url}/cli/da-darwin-x64`);
    expect(notBuilt.status).toBe(404);
    const detail = ((await notBuilt.json()) as { detail: string }).detail;
    expect(detail).toContain('da-darwin-x64 is not built on this server');
    expect(detail).toContain('it offers da-darwin-arm64, da-linux-arm64, da-windows-x64.exe');
    expect(detail).toContain('bun scripts/build-cli.ts --all');
    expect((await fetch(`${server.url}/cli/da-darwin-x64`, { method: 'HEAD' })).status).toBe(404);

    for (const wrong of ['da-linux-arm64.exe', 'da-windows-x64', 'da-darwin-arm64.exe', 'da-linux-arm64.sha256.exe', 'da-linux']) {
      expect((await fetch(`${server.url}/cli/${wrong}`)).status, wrong).toBe(404);
    }
  });
});

/** A PATH folder whose `uname` reports the given system and CPU. */
function fakeUname(dir: string, s: string, m: string): string {
  const bin = join(dir, 'fakebin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'uname'), `#!/bin/sh\ncase "$1" in -s) echo ${s} ;; -m) echo ${m} ;; *) echo ${s} ;; esac\n`);
  chmodSync(join(bin, 'uname'), 0o755);
  return bin;
}

/** Runs the installer as users do (`curl … | sh`), fetched with the given extra curl arguments. */
async function runInstaller(uname: [string, string], curlArgs = '') {
  const home = mkdtempSync(join(tmpdir(), 'da-install-'));
  const bin = fakeUname(home, ...uname);
  const proc = Bun.spawn(['sh', '-c', `curl -fsSL ${curlArgs} ${server.url}/cli/install.sh | sh`], {
    env: { PATH: `${bin}:/usr/bin:/bin`, HOME: home },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  const installed = join(home, '.local', 'bin', 'da');
  return { code, stderr, installed, home };
}

describe('install.sh', () => {
  test('picks the file for the faked uname (Linux aarch64, Darwin arm64), checks it and installs it', async () => {
    for (const [s, m, file] of [['Linux', 'aarch64', 'da-linux-arm64'], ['Darwin', 'arm64', 'da-darwin-arm64']] as const) {
      const r = await runInstaller([s, m]);
      try {
        expect(r.code, r.stderr).toBe(0);
        expect(r.stderr).toContain(`downloading ${file} from http://127.0.0.1:`);
        expect(sha256(readFileSync(r.installed))).toBe(sha256(readFileSync(join(releaseDir, file))));
        expect(statSync(r.installed).mode & 0o111).not.toBe(0);
      } finally {
        rmSync(r.home, { recursive: true, force: true });
      }
    }
  });

  test('refuses a platform the server does not offer, and lists the ones it does', async () => {
    for (const [s, m, name] of [['Darwin', 'x86_64', 'da-darwin-x64'], ['Linux', 'amd64', 'da-linux-x64'], ['FreeBSD', 'amd64', 'da-freebsd-x64']] as const) {
      const r = await runInstaller([s, m]);
      try {
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`this server does not offer da for ${s} ${m} (${name})`);
        expect(r.stderr).toContain(`it offers: darwin-arm64 linux-arm64; on Windows: irm http://127.0.0.1:${proxy.port}/cli/install.ps1 | iex`);
        expect(existsSync(r.installed)).toBe(false);
      } finally {
        rmSync(r.home, { recursive: true, force: true });
      }
    }
  });

  test('a damaged download fails the checksum, installs nothing and says what to do', async () => {
    damage = true;
    try {
      const r = await runInstaller(['Linux', 'arm64']);
      try {
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`checksum mismatch for da-linux-arm64: the server says ${builtSha}`);
        expect(r.stderr).toContain('Run the installer again');
        expect(r.stderr).toContain('the file on the server changed during the download or is damaged');
        expect(r.stderr).toContain('bun scripts/build-cli.ts --target linux-arm64');
        expect(existsSync(r.installed)).toBe(false);
        // No temporary files are left in the install folder.
        expect(Bun.spawnSync(['ls', '-A', join(r.home, '.local', 'bin')]).stdout.toString()).toBe('');
      } finally {
        rmSync(r.home, { recursive: true, force: true });
      }
    } finally {
      damage = false;
    }
  });

  test('with a forged Host header the script still downloads from the configured origin and installs', async () => {
    const script = await (await fetch(`${server.url}/cli/install.sh`, { headers: { host: 'evil.example' } })).text();
    expect(script).toContain(`SERVER="http://127.0.0.1:${proxy.port}"`);
    expect(script).not.toContain('evil.example');
    const r = await runInstaller(['Linux', 'aarch64'], "-H 'Host: evil.example'");
    try {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`from http://127.0.0.1:${proxy.port}`);
      expect(sha256(readFileSync(r.installed))).toBe(builtSha);
    } finally {
      rmSync(r.home, { recursive: true, force: true });
    }
  });
});

describe('install.ps1', () => {
  test('downloads da-windows-x64.exe when served, checks Get-FileHash, installs to %LOCALAPPDATA%\\da', async () => {
    const res = await fetch(`${server.url}/cli/install.ps1`);
    expect(res.status).toBe(200);
    const script = await res.text();
    expect(script).toContain(`$Server = 'http://127.0.0.1:${proxy.port}'`);
    expect(script).toContain("$Served = @('darwin-arm64', 'linux-arm64', 'windows-x64')");
    expect(script).toContain("if ($Served -notcontains 'windows-x64')");
    expect(script).toContain('Get-FileHash -Algorithm SHA256');
    expect(script).toContain("Join-Path $env:LOCALAPPDATA 'da'");
    expect(script).toContain('add $Dir to your PATH');
    // It runs in the user's own session (iex): `exit` would close their window.
    expect(script).not.toMatch(/\bexit\b/);
  });
});

describe('installers without base_url', () => {
  test('name the server only by an address of this machine, never a foreign Host', async () => {
    const plain = await startTestServer();
    try {
      const port = new URL(plain.url).port;
      const local = await fetch(`${plain.url}/cli/install.sh`, { headers: { host: `localhost:${port}` } });
      expect(await local.text()).toContain(`SERVER="http://localhost:${port}"`);
      for (const path of ['/cli/install.sh', '/cli/install.ps1']) {
        const forged = await fetch(`${plain.url}${path}`, { headers: { host: 'evil.example' } });
        expect(forged.status, path).toBe(400);
        const body = await forged.text();
        expect(body).toContain('set instance.base_url');
        expect(body).not.toContain('SERVER=');
      }
      // The start page does not show a command that would be refused without saying why.
      const cookie = await sessionCookie(plain, await plain.createUser('analyst'));
      const page = (host: string) => fetch(`${plain.url}/`, { headers: { cookie, host } }).then((r) => r.text());
      expect(await page('evil.example')).toContain('data-testid="install-unavailable"');
      expect(await page(`localhost:${port}`)).not.toContain('install-unavailable');
    } finally {
      await plain.stop();
    }
  });
});
