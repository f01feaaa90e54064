/**
 * Compiles the `da` CLI into one self-contained executable with DuckDB embedded.
 *
 *   bun scripts/build-cli.ts                 # dist/da for this machine
 *   bun scripts/build-cli.ts --all-targets   # also dist/da-<os>-<arch> for every platform whose
 *                                            # DuckDB binding package is installed
 *
 * `@duckdb/node-bindings` normally `require`s the platform's `duckdb.node` from node_modules,
 * which a compiled binary does not have. A plugin swaps it for a small module that embeds
 * `duckdb.node` and `libduckdb.so` as files, extracts them once into the user's cache and
 * loads them with `process.dlopen` (see cli/duckdb-embedded.ts).
 */
import type { BunPlugin } from 'bun';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dir, '..');

/** A platform we can build for: Bun's compile target and the DuckDB binding package for it. */
export interface CliTarget {
  /** `linux-x64` etc.; also the suffix of release binaries. */
  name: string;
  bun: Bun.Build.CompileTarget;
  bindingPackage: string;
  /** The files the package ships; the first one is the Node-API module. */
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

function packageDir(pkg: string): string | undefined {
  const dir = join(root, 'node_modules', pkg);
  return existsSync(join(dir, 'package.json')) ? dir : undefined;
}

function sha256(path: string): string {
  return new Bun.CryptoHasher('sha256').update(readFileSync(path)).digest('hex');
}

/** The plugin that replaces `@duckdb/node-bindings` with the embedding loader for `target`. */
export function duckdbEmbedPlugin(target: CliTarget, bindingDir: string): BunPlugin {
  const version = JSON.parse(readFileSync(join(bindingDir, 'package.json'), 'utf8')).version as string;
  const files = target.files.map((name) => {
    const path = join(bindingDir, name);
    return { name, path, size: statSync(path).size, sha256: sha256(path) };
  });
  const loader = join(root, 'cli', 'duckdb-embedded.ts');
  const source = [
    ...files.map((f, i) => `import f${i} from ${JSON.stringify(f.path)} with { type: 'file' };`),
    `import { loadEmbeddedDuckDB } from ${JSON.stringify(loader)};`,
    `const binding = loadEmbeddedDuckDB(${JSON.stringify({ version, target: target.name, nodeFile: files[0]!.name }).slice(0, -1)}, files: [`,
    ...files.map((f, i) => `  { embedded: f${i}, name: ${JSON.stringify(f.name)}, size: ${f.size}, sha256: ${JSON.stringify(f.sha256)} },`),
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

/** Builds one executable; returns false (with a message) when the target cannot be built here. */
export async function buildCli(target: CliTarget, outfile: string): Promise<boolean> {
  const bindingDir = packageDir(target.bindingPackage);
  if (!bindingDir || !target.files.every((f) => existsSync(join(bindingDir, f)))) {
    console.error(`skip ${target.name}: ${target.bindingPackage} is not installed (npm installs it only on that platform)`);
    return false;
  }
  mkdirSync(join(root, 'dist'), { recursive: true });
  // Built under a temporary name and renamed: a running server serves dist/da, and a
  // download must never get half of a file that is being rewritten.
  const partial = `${outfile}.${process.pid}.partial`;
  const result = await Bun.build({
    entrypoints: [join(root, 'cli', 'main.ts')],
    compile: { target: target.bun, outfile: partial, autoloadDotenv: false, autoloadBunfig: false },
    target: 'bun',
    format: 'esm',
    minify: true,
    bytecode: true,
    sourcemap: 'none',
    plugins: [duckdbEmbedPlugin(target, bindingDir)],
  });
  if (!result.success) {
    for (const log of result.logs) console.error(log);
    rmSync(partial, { force: true });
    throw new Error(`build for ${target.name} failed`);
  }
  renameSync(partial, outfile);
  console.error(`built ${outfile} (${(statSync(outfile).size / 1024 ** 2).toFixed(0)} MB, ${target.name})`);
  return true;
}

if (import.meta.main) {
  const all = process.argv.includes('--all-targets');
  const host = TARGETS.find((t) => t.name === hostTargetName());
  if (!host) throw new Error(`no DuckDB binding package for ${hostTargetName()}`);
  await buildCli(host, join(root, 'dist', 'da'));
  if (all) {
    for (const t of TARGETS) {
      await buildCli(t, join(root, 'dist', `da-${t.name}${t.name.startsWith('windows') ? '.exe' : ''}`));
    }
  }
}
