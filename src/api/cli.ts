import { z } from '@hono/zod-openapi';
import { createReadStream, statSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Context } from 'hono';
import { isCompiledBinary } from '../ops/binary.ts';
import { CLI_TARGETS, RELEASE_TARGETS, hostTarget, releaseFileName } from '../ops/cli-targets.ts';
import type { Config } from '../config.ts';
import type { AppDeps } from '../context.ts';
import { BadRequestError, NotFoundError } from '../errors.ts';
import { createRouter, defineRoute } from './router.ts';
import { etagMatches, publicOrigin } from './http.ts';
import { requestHost } from '../middleware/request.ts';

/** Options of the CLI download routes. */
export interface CliRouterOptions {
  /**
   * Folder holding the compiled `da` (dist/ of the checkout by default; beside the
   * executable when the server runs as the compiled `da`).
   */
  distDir?: string;
  /** The `da` for this machine: the running executable when the server is the compiled `da`. */
  selfBinary?: string;
}

/** `da`, `da-<target>`, `da-windows-x64.exe`, each optionally with `.sha256`. */
const FILE_PATTERN = /^da(?:-([a-z0-9]+(?:-[a-z0-9]+){1,2}))?(\.exe)?(\.sha256)?$/;

const tags = ['cli'];
const installRoute = defineRoute({
  access: 'public', method: 'get', path: '/cli/install.sh', operationId: 'cli.install', tags,
  summary: 'Shell installer: downloads da for this OS/CPU, checks its sha256, installs to ~/.local/bin',
  responses: {
    200: { description: 'POSIX sh script', content: { 'text/x-shellscript': { schema: z.string() } } },
    400: { description: 'instance.base_url is not set and the request names a host that is not this server\'s' },
  },
});
const installPs1Route = defineRoute({
  access: 'public', method: 'get', path: '/cli/install.ps1', operationId: 'cli.installPowershell', tags,
  summary: 'PowerShell installer (`irm <server>/cli/install.ps1 | iex`): downloads da.exe, checks its sha256, installs to %LOCALAPPDATA%\\da',
  responses: {
    200: { description: 'PowerShell script', content: { 'text/plain': { schema: z.string() } } },
    400: { description: 'instance.base_url is not set and the request names a host that is not this server\'s' },
  },
});
const fileRoute = defineRoute({
  access: 'public', method: 'get', path: '/cli/{file}', operationId: 'cli.download', tags,
  summary: 'Download the da executable (`da` for the server\'s platform, `da-<os>-<arch>`, `da-windows-x64.exe`) or its checksum (`….sha256`)',
  request: { params: z.object({ file: z.string().max(64).openapi({ param: { name: 'file', in: 'path' }, example: 'da-darwin-arm64' }) }) },
  responses: {
    200: {
      description: 'The executable (X-Content-SHA256, strong ETag, Content-Length also on HEAD), or for `….sha256` the line `<sha256>  <name>`',
      content: {
        'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) },
        'text/plain': { schema: z.string().openapi({ example: 'e3b0c442…  da' }) },
      },
    },
    304: { description: 'Not modified (If-None-Match)' },
    404: { description: 'Unknown platform, or not built on this server (an administrator runs `bun scripts/build-cli.ts --all`)' },
  },
});

/** What the installers need to know: where to download from and which platforms are there. */
export interface InstallerInfo {
  origin: string;
  /** Targets this server has a build of (`linux-x64`, …). */
  served: string[];
}

/** The shell installer (macOS, Linux) for a server origin. */
export function installScript({ origin, served }: InstallerInfo): string {
  const list = served.filter((t) => !t.startsWith('windows')).join(' ');
  const ps1 = served.some((t) => t.startsWith('windows')) ? `irm ${origin}/cli/install.ps1 | iex` : '';
  const offers = list
    ? `it offers: $SERVED${ps1 ? `; on Windows: ${ps1}` : ''}`
    : ps1
      ? `it offers only the Windows build (in PowerShell: ${ps1})`
      : 'it offers no build yet; an administrator runs: bun scripts/build-cli.ts --all';
  return `#!/bin/sh
# Installs da from ${origin}: curl -fsSL ${origin}/cli/install.sh | sh
set -eu
SERVER="${origin}"
# The platforms this server had a build of when it sent this script.
SERVED="${list}"
say() { echo "da: $*" >&2; }
uname_s=$(uname -s)
uname_m=$(uname -m)
case "$uname_s" in
  Linux|linux) os=linux ;;
  Darwin|darwin) os=darwin ;;
  MINGW*|MSYS*|CYGWIN*|Windows*)
    say "on Windows, install da from PowerShell: irm $SERVER/cli/install.ps1 | iex"; exit 1 ;;
  *) os=$(echo "$uname_s" | tr '[:upper:]' '[:lower:]') ;;
esac
case "$uname_m" in
  x86_64|amd64|x64) arch=x64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) arch=$uname_m ;;
esac
# A shell under Rosetta reports x86_64 on an Apple silicon Mac: the native build is better.
if [ "$os-$arch" = darwin-x64 ] && [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || true)" = 1 ]; then arch=arm64; fi
target="$os-$arch"
if [ "$os" = linux ] && (ldd --version 2>&1 || true) | grep -qi musl; then target="$target-musl"; fi
case " $SERVED " in
  *" $target "*) ;;
  *)
    say "this server does not offer da for $uname_s $uname_m (da-$target)."
    say "${offers}"
    exit 1 ;;
esac
file="da-$target"
dest="\${DA_INSTALL_DIR:-$HOME/.local/bin}"
mkdir -p "$dest"
tmp=$(mktemp "$dest/.da.XXXXXX")
hdr=$(mktemp "$dest/.da-headers.XXXXXX")
trap 'rm -f "$tmp" "$hdr"' EXIT INT TERM
say "downloading $file from $SERVER"
if ! curl -fsSL -D "$hdr" "$SERVER/cli/$file" -o "$tmp"; then
  say "could not download $SERVER/cli/$file (curl's message is above); check that the server is reachable and run the installer again"
  exit 1
fi
# The checksum the server sent with this very download; the .sha256 file when a proxy dropped it.
expected=$(tr -d '\\r' < "$hdr" | sed -n 's/^[Xx]-[Cc][Oo][Nn][Tt][Ee][Nn][Tt]-[Ss][Hh][Aa]256:[[:space:]]*\\([0-9a-fA-F]*\\).*$/\\1/p' | tail -n 1)
[ -n "$expected" ] || expected=$(curl -fsSL "$SERVER/cli/$file.sha256" | cut -d' ' -f1)
if command -v sha256sum >/dev/null 2>&1; then actual=$(sha256sum "$tmp" | cut -d' ' -f1)
else actual=$(shasum -a 256 "$tmp" | cut -d' ' -f1); fi
if [ "$expected" != "$actual" ]; then
  say "checksum mismatch for $file: the server says $expected, the download is $actual."
  say "the download was damaged or cut short; nothing was installed. Run the installer again."
  say "if it fails again, the file on the server changed during the download or is damaged:"
  say "ask the server's administrator to rebuild it (in the da checkout: bun scripts/build-cli.ts --target $target)."
  exit 1
fi
chmod 755 "$tmp"
mv "$tmp" "$dest/da"
rm -f "$hdr"
trap - EXIT INT TERM
say "installed $dest/da"
case ":$PATH:" in *":$dest:"*) ;; *) say "add $dest to your PATH, e.g.: export PATH=\\"$dest:\\$PATH\\"" ;; esac
say "next: da login --server $SERVER"
`;
}

/** The PowerShell installer (Windows) for a server origin. Runs inside the caller's session (`iex`): it never calls `exit`. */
export function installPowershell({ origin, served }: InstallerInfo): string {
  const quote = (v: string) => `'${v.replace(/'/g, "''")}'`;
  return `# Installs da from ${origin}: irm ${origin}/cli/install.ps1 | iex
& {
  $ErrorActionPreference = 'Stop'
  $ProgressPreference = 'SilentlyContinue'
  # Windows PowerShell 5.1 on older .NET offers only TLS 1.0/1.1 unless asked.
  [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
  $Server = ${quote(origin)}
  $Served = @(${served.map(quote).join(', ')})
  $File = 'da-windows-x64.exe'
  if ($Served -notcontains 'windows-x64') {
    Write-Host "da: this server does not offer da for Windows ($File)."
    if ($Served.Count -gt 0) { Write-Host ("da: it offers: " + ($Served -join ' ') + " (on macOS and Linux: curl -fsSL $Server/cli/install.sh | sh)") }
    else { Write-Host 'da: it offers no build yet; an administrator runs: bun scripts/build-cli.ts --all' }
    return
  }
  $Dir = Join-Path $env:LOCALAPPDATA 'da'
  New-Item -ItemType Directory -Force -Path $Dir | Out-Null
  $Tmp = Join-Path $Dir ('.da-' + [guid]::NewGuid().ToString('N') + '.part')
  try {
    Write-Host "da: downloading $File from $Server"
    $Res = Invoke-WebRequest -UseBasicParsing -Uri "$Server/cli/$File" -OutFile $Tmp -PassThru
    # The checksum the server sent with this very download; the .sha256 file when a proxy dropped it.
    $Expected = "$($Res.Headers['X-Content-SHA256'])".Trim().ToLower()
    if (-not $Expected) { $Expected = ((Invoke-RestMethod -UseBasicParsing -Uri "$Server/cli/$File.sha256") -split ' ')[0].Trim().ToLower() }
    $Actual = (Get-FileHash -Algorithm SHA256 -LiteralPath $Tmp).Hash.ToLower()
    if ($Expected -ne $Actual) {
      Write-Host "da: checksum mismatch for $($File): the server says $Expected, the download is $Actual."
      Write-Host 'da: the download was damaged or cut short; nothing was installed. Run the installer again.'
      Write-Host 'da: if it fails again, the file on the server changed during the download or is damaged:'
      Write-Host "da: ask the server's administrator to rebuild it (in the da checkout: bun scripts/build-cli.ts --target windows-x64)."
      return
    }
    Move-Item -Force -LiteralPath $Tmp -Destination (Join-Path $Dir 'da.exe')
  } finally {
    if (Test-Path -LiteralPath $Tmp) { Remove-Item -Force -LiteralPath $Tmp }
  }
  Write-Host "da: installed $(Join-Path $Dir 'da.exe')"
  $UserPath = [Environment]::GetEnvironmentVariable('Path', 'User')
  if (-not (($UserPath -split ';') -contains $Dir)) {
    Write-Host "da: to run da from any folder, add $Dir to your PATH (then open a new terminal):"
    Write-Host "  [Environment]::SetEnvironmentVariable('Path', [Environment]::GetEnvironmentVariable('Path', 'User') + ';$Dir', 'User')"
  }
  Write-Host "da: next: da login --server $Server"
}
`;
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/;

/**
 * The origin the installers download from. A script that people pipe into a shell must
 * not name a server chosen by whoever sent the request, so: `instance.base_url` when set;
 * behind a trusted proxy its X-Forwarded-Host (the proxy only forwards its own hosts);
 * else the request's Host only when it names this machine (loopback, one of its interface
 * addresses, or `server.hostname`). Anything else is refused with what to configure.
 */
export function installerOrigin(c: Context, config: Pick<Config, 'instance' | 'server'>): string {
  const origin = publicOrigin(c, config);
  if (origin && (config.instance.base_url || config.server.trust_proxy)) return origin;
  const hostname = origin ? new URL(origin).hostname : undefined;
  const own = new Set<string>(['localhost']);
  if (!['0.0.0.0', '::', ''].includes(config.server.hostname)) own.add(config.server.hostname.toLowerCase());
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) own.add(a.family === 'IPv6' ? `[${a.address.toLowerCase()}]` : a.address);
  }
  if (origin && hostname && (LOOPBACK.test(hostname) || own.has(hostname))) return origin;
  const asked = requestHost(c, config.server.trust_proxy).slice(0, 80) || '(none)';
  throw new BadRequestError(
    `the installer names the server it downloads from, and this request's host ${JSON.stringify(asked)} is not one of this server's addresses; set instance.base_url (or DA_BASE_URL) to the address analysts use`,
  );
}

/**
 * GET /cli/da (+ .sha256, + per-platform builds), /cli/install.sh and /cli/install.ps1: how
 * analysts get `da`. The sha256 is computed once per file version (size + mtime) and sent as
 * ETag and X-Content-SHA256; the file is streamed.
 */
export function createCliRouter(deps: AppDeps, opts: CliRouterOptions = {}) {
  const compiled = isCompiledBinary();
  const configured = deps.config.server.cli_dir;
  const distDir = resolve(opts.distDir ?? configured ?? (compiled ? dirname(process.execPath) : join(import.meta.dir, '..', '..', 'dist')));
  // Started as `da server start`, the server hands out the very executable it runs.
  const self = opts.selfBinary ?? (compiled ? process.execPath : undefined);
  const host = hostTarget();
  const hashes = new Map<string, { key: string; hash: Promise<string> }>();

  const fileAt = (path: string) => {
    try {
      const st = statSync(path);
      return st.isFile() ? { path, st } : undefined;
    } catch {
      return undefined;
    }
  };
  /**
   * Where the file for `target` (undefined: `da` itself) is, if built. The running `da`
   * serves itself for its own platform; in a checkout, `da-<host>` is the newer of the
   * release build and dist/da (both are builds for this machine), and `da` is dist/da.
   */
  const find = (target: string | undefined) => {
    const forHost = target === undefined || target === host;
    if (self && forHost) return fileAt(self);
    const release = target ? fileAt(join(distDir, releaseFileName(target))) : undefined;
    const local = forHost ? fileAt(join(distDir, 'da')) : undefined;
    if (release && local) return release.st.mtimeMs >= local.st.mtimeMs ? release : local;
    return release ?? local;
  };
  const served = () => CLI_TARGETS.filter((t) => find(t));
  const notServed = (what: string) => {
    const list = served();
    return new NotFoundError(
      `${what} is not built on this server; it offers ${list.length ? list.map(releaseFileName).join(', ') : 'no build yet'} (an administrator builds the others with \`bun scripts/build-cli.ts --all\`)`,
    );
  };

  const sha256 = (path: string, st: { size: number; mtimeMs: number }) => {
    const key = `${st.size}:${st.mtimeMs}`;
    let entry = hashes.get(path);
    if (entry?.key !== key) {
      const hash = new Promise<string>((res, rej) => {
        const h = new Bun.CryptoHasher('sha256');
        createReadStream(path)
          .on('data', (chunk) => h.update(chunk as Buffer))
          .on('end', () => res(h.digest('hex')))
          .on('error', rej);
      });
      entry = { key, hash };
      hashes.set(path, entry);
      hash.catch(() => hashes.delete(path));
    }
    return entry.hash;
  };

  const installer = (c: Context) => ({ origin: installerOrigin(c, deps.config), served: served() });
  const scriptHeaders = (type: string) => ({
    'content-type': `${type}; charset=utf-8`,
    // Without base_url the script depends on the Host the client sent, and it lists what is
    // built now: a shared cache must neither keep it nor hand one client's script to another.
    'cache-control': 'no-store',
    vary: 'Host, X-Forwarded-Host, X-Forwarded-Proto',
  });

  return createRouter()
    .openapi(installRoute, (c) => c.body(installScript(installer(c)), 200, scriptHeaders('text/x-shellscript')))
    .openapi(installPs1Route, (c) => c.body(installPowershell(installer(c)), 200, scriptHeaders('text/plain')))
    .openapi(fileRoute, async (c) => {
      const file = c.req.valid('param').file;
      const m = FILE_PATTERN.exec(file);
      const [, target, exe, checksum] = m ?? [];
      const windows = target?.startsWith('windows') ?? false;
      // `.exe` exactly on Windows builds; the checksum also as `da-windows-x64.sha256` (the file name the build writes).
      if (!m || (target !== undefined && !CLI_TARGETS.includes(target)) || (Boolean(exe) !== windows && !(windows && checksum))) {
        throw new NotFoundError(`no such download: ${file}; the files are ${CLI_TARGETS.map(releaseFileName).join(', ')} (and \`da\` for the server's own platform)`);
      }
      const name = target ? releaseFileName(target) : 'da';
      const found = find(target);
      if (!found) throw notServed(name);
      const { path, st } = found;
      const hash = await sha256(path, st);
      const etag = `"${hash}"`;
      if (checksum) return c.body(`${hash}  ${name}\n`, 200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' });
      const headers = {
        etag,
        'x-content-sha256': hash,
        'cache-control': 'no-cache',
        'content-type': 'application/octet-stream',
        'content-disposition': `attachment; filename="${windows ? 'da.exe' : 'da'}"`,
      };
      if (etagMatches(c.req.header('if-none-match'), etag)) return c.body(null, 304, headers);
      // HEAD gets no body, so the length is said explicitly (else it would read 0).
      if (c.req.method === 'HEAD') return c.body(null, 200, { ...headers, 'content-length': String(st.size) });
      return c.body(Bun.file(path), 200, headers);
    });
}
