import { z } from '@hono/zod-openapi';
import { createReadStream, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isCompiledBinary } from '../ops/binary.ts';
import type { AppDeps } from '../context.ts';
import { BadRequestError, NotFoundError } from '../errors.ts';
import { createRouter, defineRoute } from './router.ts';
import { etagMatches, publicOrigin } from './http.ts';

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

const FILE_PATTERN = /^(da(?:-[a-z0-9]+(?:-[a-z0-9]+){0,2})?(?:\.exe)?)(\.sha256)?$/;

/** `linux-x64` etc. for the machine the server runs on (the target of dist/da). */
function hostTarget(): string {
  const os = process.platform === 'win32' ? 'windows' : process.platform;
  return `${os}-${process.arch}`;
}

const tags = ['cli'];
const installRoute = defineRoute({
  access: 'public', method: 'get', path: '/cli/install.sh', operationId: 'cli.install', tags,
  summary: 'Shell installer: downloads da for this OS/CPU, checks its sha256, installs to ~/.local/bin',
  responses: {
    200: { description: 'POSIX sh script', content: { 'text/x-shellscript': { schema: z.string() } } },
    400: { description: 'The request names no plausible server host and instance.base_url is not set' },
  },
});
const fileRoute = defineRoute({
  access: 'public', method: 'get', path: '/cli/{file}', operationId: 'cli.download', tags,
  summary: 'Download the da executable (`da`, `da-<os>-<arch>`) or its checksum (`….sha256`)',
  request: { params: z.object({ file: z.string().max(64).openapi({ param: { name: 'file', in: 'path' }, example: 'da' }) }) },
  responses: {
    200: {
      description: 'The executable (X-Content-SHA256, strong ETag), or for `….sha256` the line `<sha256>  <name>`',
      content: {
        'application/octet-stream': { schema: z.string().openapi({ format: 'binary' }) },
        'text/plain': { schema: z.string().openapi({ example: 'e3b0c442…  da' }) },
      },
    },
    304: { description: 'Not modified (If-None-Match)' },
    404: { description: 'Not built on this server (run `bun run build:cli`)' },
  },
});

/** The shell installer for a server origin. */
export function installScript(origin: string): string {
  return `#!/bin/sh
# Installs da from ${origin}: curl -fsSL ${origin}/cli/install.sh | sh
set -eu
SERVER="${origin}"
os=$(uname -s | tr '[:upper:]' '[:lower:]')
arch=$(uname -m)
case "$arch" in
  x86_64|amd64) arch=x64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) echo "da: unsupported CPU $arch" >&2; exit 1 ;;
esac
case "$os" in
  linux)
    if (ldd --version 2>&1 || true) | grep -qi musl; then target="linux-$arch-musl"; else target="linux-$arch"; fi ;;
  darwin) target="darwin-$arch" ;;
  *) echo "da: unsupported OS $os" >&2; exit 1 ;;
esac
dest="\${DA_INSTALL_DIR:-$HOME/.local/bin}"
mkdir -p "$dest"
tmp=$(mktemp "$dest/.da.XXXXXX")
trap 'rm -f "$tmp"' EXIT INT TERM
echo "downloading da ($target) from $SERVER" >&2
curl -fsSL "$SERVER/cli/da-$target" -o "$tmp"
expected=$(curl -fsSL "$SERVER/cli/da-$target.sha256" | cut -d' ' -f1)
if command -v sha256sum >/dev/null 2>&1; then actual=$(sha256sum "$tmp" | cut -d' ' -f1)
else actual=$(shasum -a 256 "$tmp" | cut -d' ' -f1); fi
if [ "$expected" != "$actual" ]; then echo "da: checksum mismatch (expected $expected, got $actual)" >&2; exit 1; fi
chmod 755 "$tmp"
mv "$tmp" "$dest/da"
trap - EXIT INT TERM
echo "installed $dest/da" >&2
case ":$PATH:" in *":$dest:"*) ;; *) echo "add $dest to your PATH, e.g.: export PATH=\\"$dest:\\$PATH\\"" >&2 ;; esac
echo "next: da login --server $SERVER" >&2
`;
}

/**
 * GET /cli/da (+ .sha256, + per-platform builds) and /cli/install.sh: how analysts get `da`.
 * The sha256 is computed once per file version (size + mtime) and sent as ETag and
 * X-Content-SHA256; the file is streamed.
 */
export function createCliRouter(deps: AppDeps, opts: CliRouterOptions = {}) {
  const compiled = isCompiledBinary();
  const distDir = resolve(opts.distDir ?? (compiled ? dirname(process.execPath) : join(import.meta.dir, '..', '..', 'dist')));
  // Started as `da server start`, the server hands out the very executable it runs.
  const self = opts.selfBinary ?? (compiled ? process.execPath : undefined);
  const hashes = new Map<string, { key: string; hash: Promise<string> }>();

  const locate = (name: string) => {
    const forHost = name === 'da' || name === `da-${hostTarget()}`;
    const candidates = self && forHost ? [self] : [join(distDir, name)];
    if (!self && name === `da-${hostTarget()}`) candidates.push(join(distDir, 'da'));
    for (const path of candidates) {
      try {
        const st = statSync(path);
        if (st.isFile()) return { path, st };
      } catch {
        // try the next candidate
      }
    }
    throw new NotFoundError(`${name} is not built on this server; an administrator runs \`bun run build:cli\``);
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

  return createRouter()
    .openapi(installRoute, (c) => {
      // A script that people pipe into sh names the server it downloads from: only a
      // well-formed origin goes in (base_url, or the request's own host when plausible).
      const origin = publicOrigin(c, deps.config);
      if (!origin || !/^https?:\/\/[A-Za-z0-9.:[\]-]+$/.test(origin)) {
        throw new BadRequestError('the request does not name a plausible server host; set instance.base_url or use the server\'s address');
      }
      return c.body(installScript(origin), 200, {
        'content-type': 'text/x-shellscript; charset=utf-8',
        // Without base_url the script depends on the Host the client sent: a shared cache
        // must neither keep it nor hand one client's script to another.
        'cache-control': 'no-store',
        vary: 'Host, X-Forwarded-Host, X-Forwarded-Proto',
      });
    })
    .openapi(fileRoute, async (c) => {
      const m = FILE_PATTERN.exec(c.req.valid('param').file);
      if (!m) throw new NotFoundError(`no such download: ${c.req.valid('param').file}`);
      const [, name, checksum] = m;
      const { path, st } = locate(name!);
      const hash = await sha256(path, st);
      const etag = `"${hash}"`;
      if (checksum) return c.body(`${hash}  ${name}\n`, 200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' });
      const headers = {
        etag,
        'x-content-sha256': hash,
        'cache-control': 'no-cache',
        'content-type': 'application/octet-stream',
        'content-disposition': `attachment; filename="${name!.startsWith('da-windows') ? 'da.exe' : 'da'}"`,
      };
      if (etagMatches(c.req.header('if-none-match'), etag)) return c.body(null, 304, headers);
      return c.body(Bun.file(path), 200, headers);
    });
}
