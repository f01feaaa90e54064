/**
 * Compiles the `da` CLI into one self-contained executable with DuckDB embedded.
 *
 *   bun scripts/build-cli.ts                      # dist/da for this machine
 *   bun scripts/build-cli.ts --target linux-arm64 # dist/da-linux-arm64 (+ .sha256); repeatable
 *   bun scripts/build-cli.ts --all                # dist/da-<os>-<arch>[.exe] for every release platform
 *
 * `@duckdb/node-bindings` normally `require`s the platform's `duckdb.node` from node_modules,
 * which a compiled binary does not have. A plugin swaps it for a small module that embeds
 * `duckdb.node` and the DuckDB library as files (the library zstd-compressed), extracts them
 * once into the user's cache and loads them with `process.dlopen` (see cli/duckdb-embedded.ts).
 * Bun cross-compiles (`--target=bun-<os>-<arch>`); the binding package of another platform is
 * fetched once with `npm pack` into dist/.bindings/.
 */
import type { BunPlugin } from 'bun';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RELEASE_TARGETS, releaseFileName } from '../src/ops/cli-targets.ts';
import type { StaticHelp } from '../cli/overview.ts';

const root = resolve(import.meta.dir, '..');
/** Where binding packages of other platforms and compressed libraries are cached. */
const BINDINGS_CACHE = join(root, 'dist', '.bindings');
/** zstd level of the embedded library: 9 takes ~2 s per library (cached) and gives ~30 %; 19 saves 2 MB more for a minute. */
const ZSTD_LEVEL = 9;

/** A platform we can build for: Bun's compile target and the DuckDB binding package for it. */
export interface CliTarget {
  /** `linux-x64` etc.; also the suffix of release binaries. */
  name: string;
  bun: Bun.Build.CompileTarget;
  bindingPackage: string;
  /** The files the package ships; the first one is the Node-API module, the second the DuckDB library. */
  files: string[];
}

/** Every platform that both Bun and @duckdb/node-bindings publish builds for. */
export const TARGETS: CliTarget[] = [
  { name: 'linux-x64', bun: 'bun-linux-x64', bindingPackage: '@duckdb/node-bindings-linux-x64', files: ['duckdb.node', 'libduckdb.so'] },
  { name: 'linux-arm64', bun: 'bun-linux-arm64', bindingPackage: '@duckdb/node-bindings-linux-arm64', files: ['duckdb.node', 'libduckdb.so'] },
  { name: 'linux-x64-musl', bun: 'bun-linux-x64-musl', bindingPackage: '@duckdb/node-bindings-linux-x64-musl', files: ['duckdb.node', 'libduckdb.so'] },
  { name: 'linux-arm64-musl', bun: 'bun-linux-arm64-musl', bindingPackage: '@duckdb/node-bindings-linux-arm64-musl', files: ['duckdb.node', 'libduckdb.so'] },
  { name: 'darwin-arm64', bun: 'bun-darwin-arm64', bindingPackage: '@duckdb/node-bindings-darwin-arm64', files: ['duckdb.node', 'libduckdb.dylib'] },
  { name: 'darwin-x64', bun: 'bun-darwin-x64', bindingPackage: '@duckdb/node-bindings-darwin-x64', files: ['duckdb.node', 'libduckdb.dylib'] },
  { name: 'windows-x64', bun: 'bun-windows-x64', bindingPackage: '@duckdb/node-bindings-win32-x64', files: ['duckdb.node', 'duckdb.dll'] },
];

function hostTargetName(): string {
  const os = process.platform === 'win32' ? 'windows' : process.platform;
  let musl = false;
  if (process.platform === 'linux') {
    // glibc builds of Bun report the glibc version; musl builds do not.
    const report = (process as unknown as { report?: { getReport(): { header?: { glibcVersionRuntime?: string } } } }).report;
    musl = !report?.getReport().header?.glibcVersionRuntime;
  }
  return `${os}-${process.arch}${musl ? '-musl' : ''}`;
}

/** The target of this machine. */
export function hostTarget(): CliTarget {
  const host = TARGETS.find((t) => t.name === hostTargetName());
  if (!host) throw new Error(`no DuckDB binding package for ${hostTargetName()}`);
  return host;
}

/** The version of `@duckdb/node-bindings` that `@duckdb/node-api` uses: every platform package must match it. */
export function bindingVersion(): string {
  return JSON.parse(readFileSync(join(root, 'node_modules', '@duckdb', 'node-bindings', 'package.json'), 'utf8')).version as string;
}

function hasFiles(dir: string, target: CliTarget, version: string): boolean {
  try {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string };
    return pkg.version === version && target.files.every((f) => existsSync(join(dir, f)));
  } catch {
    return false;
  }
}

/**
 * The folder holding `target`'s binding files: node_modules when npm installed that package
 * (only the host's), else dist/.bindings/<package>-<version>/, fetched there once with
 * `npm pack` and unpacked with `tar`.
 */
export async function bindingDir(target: CliTarget, version = bindingVersion()): Promise<string> {
  const installed = join(root, 'node_modules', target.bindingPackage);
  if (hasFiles(installed, target, version)) return installed;
  const base = `${target.bindingPackage.replace('@', '').replace('/', '-')}-${version}`;
  const dir = join(BINDINGS_CACHE, base);
  if (hasFiles(dir, target, version)) return dir;
  mkdirSync(BINDINGS_CACHE, { recursive: true });
  const tgz = join(BINDINGS_CACHE, `${base}.tgz`);
  if (!existsSync(tgz)) {
    console.error(`fetching ${target.bindingPackage}@${version} (npm pack)`);
    // Packed into a folder of this process and renamed: a parallel build never reads half a file.
    const own = join(BINDINGS_CACHE, `.pack-${process.pid}`);
    mkdirSync(own, { recursive: true });
    const pack = Bun.spawnSync(['npm', 'pack', `${target.bindingPackage}@${version}`, '--pack-destination', own], { stdout: 'pipe', stderr: 'pipe' });
    const packed = join(own, `${base}.tgz`);
    if (pack.exitCode !== 0 || !existsSync(packed)) {
      rmSync(own, { recursive: true, force: true });
      throw new Error(`npm pack ${target.bindingPackage}@${version} failed: ${pack.stderr.toString().trim() || `no ${packed}`}`);
    }
    renameSync(packed, tgz);
    rmSync(own, { recursive: true, force: true });
  }
  // Unpacked beside and renamed: a half-extracted folder is never taken for a good one.
  const partial = `${dir}.${process.pid}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  const untar = Bun.spawnSync(['tar', 'xzf', tgz, '-C', partial, '--strip-components=1'], { stdout: 'pipe', stderr: 'pipe' });
  if (untar.exitCode !== 0 || !hasFiles(partial, target, version)) {
    rmSync(partial, { recursive: true, force: true });
    throw new Error(`${tgz} does not hold ${target.files.join(', ')} of version ${version}: ${untar.stderr.toString().trim()}`);
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(partial, dir);
  return dir;
}

function sha256(bytes: Uint8Array): string {
  return new Bun.CryptoHasher('sha256').update(bytes).digest('hex');
}

/**
 * A copy of `bytes` in dist/.bindings/, zstd-compressed or not, named by its sha256 so each
 * library is compressed once, however many builds follow.
 */
function cachedCopy(bytes: Uint8Array, hash: string, compress: boolean): string {
  const dir = join(BINDINGS_CACHE, compress ? 'zstd' : 'raw');
  const path = join(dir, compress ? `${hash}.${ZSTD_LEVEL}.zst` : hash);
  if (existsSync(path)) return path;
  mkdirSync(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, compress ? Bun.zstdCompressSync(bytes, { level: ZSTD_LEVEL }) : bytes);
  renameSync(tmp, path);
  return path;
}

const MACHO_CPU = { arm64: 0x0100000c, x64: 0x01000007 } as const;

/**
 * The slice for `arch` of a universal (fat) Mach-O file, or the file itself when it is not
 * universal. DuckDB ships one libduckdb.dylib for both Mac CPUs (117 MB); each slice is a
 * complete, separately signed library (what `lipo -thin` writes), half the size.
 */
export function thinMachO(bytes: Uint8Array, arch: keyof typeof MACHO_CPU): Uint8Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = dv.getUint32(0, false);
  if (magic !== 0xcafebabe && magic !== 0xcafebabf) return bytes;
  const wide = magic === 0xcafebabf;
  const count = dv.getUint32(4, false);
  for (let i = 0, at = 8; i < count; i++, at += wide ? 32 : 20) {
    if (dv.getUint32(at, false) !== MACHO_CPU[arch]) continue;
    const offset = wide ? Number(dv.getBigUint64(at + 8, false)) : dv.getUint32(at + 8, false);
    const size = wide ? Number(dv.getBigUint64(at + 16, false)) : dv.getUint32(at + 12, false);
    const slice = bytes.subarray(offset, offset + size);
    const head = new DataView(slice.buffer, slice.byteOffset, Math.min(8, slice.byteLength));
    if (slice.byteLength !== size || head.byteLength < 8 || head.getUint32(0, true) !== 0xfeedfacf || head.getUint32(4, true) !== MACHO_CPU[arch]) {
      throw new Error(`the ${arch} slice of the universal Mach-O file is not a 64-bit Mach-O file for ${arch}`);
    }
    return slice;
  }
  throw new Error(`the universal Mach-O file has no ${arch} slice`);
}

/** One file the binary embeds: the path of the copy embedded, and what it is once extracted. */
export interface EmbedFile {
  name: string;
  path: string;
  size: number;
  sha256: string;
  compression?: 'zstd';
}

/** The DuckDB files a build for `target` embeds, from the binding package in `dir`. */
export function embedFiles(target: CliTarget, dir: string, opts: { compress?: boolean } = {}): EmbedFile[] {
  return target.files.map((name, i) => {
    const path = join(dir, name);
    const original = readFileSync(path);
    const bytes = target.name.startsWith('darwin-') ? thinMachO(original, target.name.endsWith('arm64') ? 'arm64' : 'x64') : original;
    const hash = sha256(bytes);
    // The library (60–70 MB) shrinks to under a third; the small Node-API module stays as is.
    const compress = (opts.compress ?? true) && i > 0;
    const embedded = compress || bytes !== original ? cachedCopy(bytes, hash, compress) : path;
    return { name, path: embedded, size: bytes.length, sha256: hash, ...(compress ? { compression: 'zstd' as const } : {}) };
  });
}

/** The plugin that replaces `@duckdb/node-bindings` with the embedding loader for `target`. */
export function duckdbEmbedPlugin(target: CliTarget, dir: string, opts: { compress?: boolean } = {}): BunPlugin {
  const version = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version as string;
  const files = embedFiles(target, dir, opts);
  const loader = join(root, 'cli', 'duckdb-embedded.ts');
  const source = [
    ...files.map((f, i) => `import f${i} from ${JSON.stringify(f.path)} with { type: 'file' };`),
    `import { loadEmbeddedDuckDB } from ${JSON.stringify(loader)};`,
    `const binding = loadEmbeddedDuckDB(${JSON.stringify({ version, target: target.name, nodeFile: files[0]!.name }).slice(0, -1)}, files: [`,
    ...files.map((f, i) => `  { embedded: f${i}, name: ${JSON.stringify(f.name)}, size: ${f.size}, sha256: ${JSON.stringify(f.sha256)}${f.compression ? `, compression: ${JSON.stringify(f.compression)}` : ''} },`),
    `]});`,
    `export default binding;`,
  ].join('\n');
  return {
    name: 'da-duckdb-embed',
    setup(build) {
      build.onResolve({ filter: /^@duckdb\/node-bindings$/ }, () => ({ path: 'duckdb-embedded-binding', namespace: 'da-duckdb' }));
      build.onLoad({ filter: /.*/, namespace: 'da-duckdb' }, () => ({ contents: source, loader: 'ts' }));
    },
  };
}

/**
 * clipanion builds its default context (`process.stdin`, `stdout`, `stderr`) when it loads, and
 * creating those streams costs a short command more than the rest of its start-up. This makes
 * the bundled clipanion take `globalThis.__DA_STDIO__` instead when cli/main.ts set it (the
 * light writers of cli/stdio.ts). The build fails if clipanion's code no longer matches.
 */
export function clipanionStdioPlugin(): BunPlugin {
  const original = /Cli\.defaultContext = \{\s*env: process\.env,\s*stdin: process\.stdin,\s*stdout: process\.stdout,\s*stderr: process\.stderr,\s*colorDepth: (?:platform\.)?getDefaultColorDepth\(\),?\s*\};/;
  return {
    name: 'da-clipanion-stdio',
    setup(build) {
      build.onLoad({ filter: /clipanion[\\/]lib[\\/]advanced[\\/]Cli\.m?js$/ }, async (args) => {
        const text = await Bun.file(args.path).text();
        if (!original.test(text)) throw new Error(`${args.path}: clipanion's default context changed; update clipanionStdioPlugin`);
        const contents = text.replace(original, (m) => `Cli.defaultContext = globalThis.__DA_STDIO__ ?? ${m.slice(m.indexOf('{'))}`);
        return { contents, loader: 'js' };
      });
      // Its platform module loads node:tty only to guess a colour depth, which the light context
      // gives (cli/stdio.ts): loaded when that guess is needed (run from elsewhere), not before.
      build.onLoad({ filter: /clipanion[\\/]lib[\\/]platform[\\/]node\.js$/ }, async (args) => {
        const text = await Bun.file(args.path).text();
        const eager = "var tty = require('tty');";
        if (!text.includes(eager)) throw new Error(`${args.path}: clipanion's platform module changed; update clipanionStdioPlugin`);
        return { contents: text.replace(eager, "var tty = globalThis.__DA_STDIO__ ? null : require('tty');"), loader: 'js' };
      });
    },
  };
}

/** The JIT policy `da` starts with (see BuildOptions.jitPolicy). */
export const JIT_POLICY = 8;

/** Build switches (for measuring what each costs; the defaults are the release build). */
export interface BuildOptions {
  /** zstd-compress the embedded DuckDB library (default true). */
  compress?: boolean;
  /** Precompile the bundle to bytecode: faster start, larger file (default true). */
  bytecode?: boolean;
  /** Write `<outfile>.sha256` beside the executable (`<sha256>  <file name>`). */
  checksum?: boolean;
  /** Split the bundle per dynamic import (default true; false: one bundle, for measuring). */
  splitting?: boolean;
  /** Bun's `compile.jitPolicy`: JavaScriptCore's tier-up thresholds × n at start (default JIT_POLICY; 1 = Bun's normal policy). */
  jitPolicy?: number;
  /** Bun's `compile.bytecodeOrder`: profiles recorded with BUN_BYTECODE_ORDER_OUT. */
  bytecodeOrder?: string;
}

/**
 * The texts of `da`, `da --help` and `da --version` (cli/overview.ts), rendered by the real
 * Cli with every command registered, so the binary prints them without loading any of it.
 */
export async function staticHelp(): Promise<StaticHelp> {
  const [{ createCli }, { loadAllCommands }, { VERSION }] = await Promise.all([
    import('../cli/run.ts'), import('../cli/commands/index.ts'), import('../src/version.ts'),
  ]);
  const commands = await loadAllCommands();
  return { plain: createCli(false, commands).usage(null), color: createCli(true, commands).usage(null), version: VERSION };
}

/**
 * The Bun.build options of every `da` executable, without its entry point, texts and DuckDB
 * plugin: bench/cli-help.ts compiles its hello world with exactly these.
 */
export function compileConfig(target: CliTarget, outfile: string, opts: BuildOptions = {}) {
  return {
    compile: {
      target: target.bun, outfile, autoloadDotenv: false, autoloadBunfig: false,
      // Run-once start-up code stays in the interpreter instead of being JIT-compiled (a no-op
      // sync of 1,000 tables: −17 % CPU); cli/main.ts restores the normal policy after 250 ms.
      jitPolicy: opts.jitPolicy ?? JIT_POLICY, ...(opts.bytecodeOrder ? { bytecodeOrder: opts.bytecodeOrder } : {}),
    },
    target: 'bun' as const,
    format: 'esm' as const,
    // One chunk per dynamic import: a command's modules, and the Node built-ins they import,
    // are loaded only when it runs (one bundle sets up every built-in it names at start-up).
    splitting: opts.splitting ?? true,
    minify: true,
    bytecode: opts.bytecode ?? true,
    sourcemap: 'none' as const,
  };
}

/** Builds one executable for `target` into `outfile`. */
export async function buildCli(target: CliTarget, outfile: string, opts: BuildOptions = {}): Promise<void> {
  const dir = await bindingDir(target);
  mkdirSync(resolve(outfile, '..'), { recursive: true });
  // Built under a temporary name and renamed: a running server serves dist/da, and a
  // download must never get half of a file that is being rewritten.
  const partial = `${outfile}.${process.pid}.partial`;
  const result = await Bun.build({
    ...compileConfig(target, partial, opts),
    // The download thread's entry point is bundled beside main (cli/download-thread.ts starts it).
    entrypoints: [join(root, 'cli', 'main.ts'), join(root, 'cli', 'download-worker.ts')],
    define: { DA_STATIC_HELP: JSON.stringify(await staticHelp()) },
    plugins: [duckdbEmbedPlugin(target, dir, { compress: opts.compress }), clipanionStdioPlugin()],
  });
  if (!result.success) {
    for (const log of result.logs) console.error(log);
    rmSync(partial, { force: true });
    throw new Error(`build for ${target.name} failed`);
  }
  // Bun may add `.exe` for a Windows target.
  const written = existsSync(partial) ? partial : `${partial}.exe`;
  if (opts.checksum) {
    // The checksum first: a reader that sees the new executable also sees its new checksum
    // (the server hashes the file itself; this file is for people and mirrors).
    const sumFile = outfile.replace(/\.exe$/, '') + '.sha256';
    const tmp = `${sumFile}.${process.pid}.tmp`;
    writeFileSync(tmp, `${sha256(readFileSync(written))}  ${outfile.split('/').pop()}\n`);
    renameSync(tmp, sumFile);
  }
  renameSync(written, outfile);
  console.error(`built ${outfile} (${(statSync(outfile).size / 1024 ** 2).toFixed(0)} MB, ${target.name})`);
}

function usage(message: string): never {
  console.error(`${message}\nusage: bun scripts/build-cli.ts [--target OS-ARCH]... [--all]\n  targets: ${TARGETS.map((t) => t.name).join(', ')}`);
  process.exit(2);
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const wanted: CliTarget[] = [];
  let hostBuild = true;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--all' || a === '--all-targets') {
      wanted.push(...TARGETS.filter((t) => (RELEASE_TARGETS as readonly string[]).includes(t.name) && !wanted.includes(t)));
      hostBuild = false;
    } else if (a === '--target' || a.startsWith('--target=')) {
      const name = a === '--target' ? args[++i] : a.slice('--target='.length);
      const t = TARGETS.find((x) => x.name === name);
      if (!t) usage(`unknown target ${name ?? '(none)'}`);
      if (!wanted.includes(t)) wanted.push(t);
      hostBuild = false;
    } else {
      usage(`unknown argument ${a}`);
    }
  }
  if (hostBuild) await buildCli(hostTarget(), join(root, 'dist', 'da'));
  for (const t of wanted) await buildCli(t, join(root, 'dist', releaseFileName(t.name)), { checksum: true });
}
