import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** One embedded file: where the compiled binary holds it, and what it must look like on disk. */
export interface EmbeddedFile {
  /** `$bunfs` path of the embedded copy (from `import p from '…' with { type: 'file' }`). */
  embedded: string;
  /** File name in the cache folder (`duckdb.node`, `libduckdb.so`). */
  name: string;
  /** Size and sha256 of the file on disk (after decompression). */
  size: number;
  sha256: string;
  /** How the embedded copy is compressed (the DuckDB library is, to keep the binary small). */
  compression?: 'zstd';
}

/**
 * Where extracted native files live: `$XDG_CACHE_HOME/da` or `~/.cache/da`; on Windows
 * `%LOCALAPPDATA%\da\cache` (temp dir as last resort).
 */
export function nativeCacheRoot(env: Record<string, string | undefined> = process.env, platform: string = process.platform): string {
  if (env.DA_CACHE_DIR) return env.DA_CACHE_DIR;
  if (platform === 'win32' && env.LOCALAPPDATA) return join(env.LOCALAPPDATA, 'da', 'cache');
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'da');
  let home = env.HOME;
  if (!home) {
    try {
      home = homedir();
    } catch {
      home = undefined;
    }
  }
  return home ? join(home, '.cache', 'da') : join(tmpdir(), `da-cache-${process.getuid?.() ?? 0}`);
}

/**
 * Creates `dir` (mode 0700) when missing and refuses one that another user (but root) owns
 * or that others may write to: a library loaded from there would run as this user (think of
 * a shared /tmp).
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Windows has no POSIX modes to check (stat reports 0o666/0o777); %LOCALAPPDATA% is per user.
  if (process.platform === 'win32') return;
  const st = statSync(dir);
  const uid = process.getuid?.();
  // Root's own folders are trusted too (the script sandbox reads the server's copy, read-only).
  if ((uid !== undefined && st.uid !== uid && st.uid !== 0) || (st.mode & 0o022) !== 0) {
    throw new Error(`refusing to load DuckDB from ${dir}: it is owned by another user or writable by others (set DA_CACHE_DIR to a private folder)`);
  }
}

function sha256Of(path: string): string {
  return new Bun.CryptoHasher('sha256').update(readFileSync(path)).digest('hex');
}

/**
 * Writes each embedded file to `dir` unless an identical one is already there. A copy is
 * trusted by its size plus a marker naming its sha256, written only after the hash was
 * checked; so a normal start costs two `stat`s and a small read, not a 70 MB hash.
 */
export function extractNativeFiles(dir: string, files: EmbeddedFile[]): void {
  ensurePrivateDir(dirname(dir));
  ensurePrivateDir(dir);
  for (const f of files) {
    const target = join(dir, f.name);
    const marker = `${target}.sha256`;
    try {
      if (statSync(target).size === f.size && readFileSync(marker, 'utf8').trim() === f.sha256) continue;
    } catch {
      // missing or unreadable: extract below
    }
    const tmp = `${target}.${process.pid}.${Date.now()}.tmp`;
    const embedded = readFileSync(f.embedded);
    const bytes = f.compression === 'zstd' ? Bun.zstdDecompressSync(embedded) : embedded;
    const fd = openSync(tmp, 'w', 0o755);
    try {
      writeSync(fd, bytes);
    } finally {
      closeSync(fd);
    }
    const got = sha256Of(tmp);
    if (got !== f.sha256) throw new Error(`embedded ${f.name} is corrupt (sha256 ${got}, expected ${f.sha256})`);
    // rename is atomic: a concurrent `da` either sees the old complete file or the new one.
    renameSync(tmp, target);
    const mtmp = `${marker}.${process.pid}.tmp`;
    writeFileSync(mtmp, f.sha256);
    renameSync(mtmp, marker);
  }
}

/**
 * `sizeof_bool` is read by @duckdb/node-api at import time to pick a boolean reader; it is 1
 * on every platform DuckDB ships bindings for. `loadEmbeddedDuckDB` checks it on load.
 */
export const KNOWN_CONSTANTS: Record<string, unknown> = { sizeof_bool: 1 };

/**
 * A stand-in for `@duckdb/node-bindings` that loads the native module only when first used,
 * so commands that never touch DuckDB (`--help`, `login`, …) start in milliseconds.
 * `@duckdb/node-api` reads the `ResultType`/`StatementType` enums at import time: capitalised
 * names get a proxy that resolves against the real binding on first property access.
 */
export function createLazyBinding(
  load: () => Record<string | symbol, unknown>,
  /** Values @duckdb/node-api reads at import time, answered without loading (checked on load). */
  known: Record<string, unknown> = KNOWN_CONSTANTS,
): Record<string, unknown> {
  let real: Record<string | symbol, unknown> | undefined;
  const binding = () => (real ??= load());
  const lazyEnum = (name: string) =>
    new Proxy(
      {},
      {
        get: (_t, p) => (binding()[name] as Record<string | symbol, unknown>)[p],
        has: (_t, p) => p in (binding()[name] as object),
        ownKeys: () => Reflect.ownKeys(binding()[name] as object),
        getOwnPropertyDescriptor: (_t, p) => {
          const d = Reflect.getOwnPropertyDescriptor(binding()[name] as object, p);
          return d ? { ...d, configurable: true } : undefined;
        },
      },
    );
  return new Proxy({} as Record<string, unknown>, {
    get(_t, prop) {
      if (real) return real[prop];
      if (prop === 'then' || prop === '__esModule' || typeof prop === 'symbol') return undefined;
      if (/^[A-Z]/.test(prop)) return lazyEnum(prop);
      if (prop in known) return known[prop];
      return binding()[prop];
    },
    has: (_t, p) => p in binding(),
    ownKeys: () => Reflect.ownKeys(binding()),
    getOwnPropertyDescriptor: (_t, p) => {
      const d = Reflect.getOwnPropertyDescriptor(binding(), p);
      return d ? { ...d, configurable: true } : undefined;
    },
  });
}

let loadedFrom: string | null = null;

/** The folder the embedded DuckDB was loaded from (null until it is, and always in a source checkout). */
export function embeddedDuckDBDir(): string | null {
  return loadedFrom;
}

/**
 * Extracts the embedded DuckDB files into the cache (once per version) and loads the Node-API
 * module with `process.dlopen`; `duckdb.node` has RUNPATH `$ORIGIN` (`@loader_path` on
 * macOS), so it finds the library beside it. Windows looks for `duckdb.dll` in the folders
 * of PATH, so that folder goes first in this process's PATH.
 */
export function loadEmbeddedDuckDB(opts: { version: string; target: string; files: EmbeddedFile[]; nodeFile: string }) {
  return createLazyBinding(() => {
    const dir = join(nativeCacheRoot(), `duckdb-${opts.version}-${opts.target}`);
    extractNativeFiles(dir, opts.files);
    loadedFrom = dir;
    const mod = { exports: {} as Record<string, unknown> };
    const path = join(dir, opts.nodeFile);
    if (!existsSync(path)) throw new Error(`DuckDB native module missing at ${path}`);
    if (process.platform === 'win32') process.env.PATH = `${dir};${process.env.PATH ?? ''}`;
    process.dlopen(mod, path);
    for (const [k, v] of Object.entries(KNOWN_CONSTANTS)) {
      if (mod.exports[k] !== v) throw new Error(`DuckDB binding has ${k}=${String(mod.exports[k])}, this build assumed ${String(v)}`);
    }
    return mod.exports;
  });
}
