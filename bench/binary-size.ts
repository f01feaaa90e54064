/**
 * Size of the compiled `da` and what makes it up (Bun runtime, DuckDB, our bundle), the
 * release build (DuckDB library zstd-compressed, Mac builds thinned to one CPU) against the
 * earlier build that embedded the library as is, and what compression costs the first run
 * (extraction into the cache) on this machine. Also the size of every release platform.
 *
 * @example bun bench/binary-size.ts            # host variants + all five platforms (~2 min)
 * @example bun bench/binary-size.ts --host-only
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TARGETS, bindingDir, buildCli, thinMachO, type CliTarget } from '../scripts/build-cli.ts';
import { RELEASE_TARGETS, hostTarget, releaseFileName } from '../src/ops/cli-targets.ts';
import { median, report, type BenchResult } from './lib.ts';

const MB = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
const size = (p: string) => statSync(p).size;

/** The Bun runtime alone: a compiled empty program for the target. */
async function runtimeSize(target: CliTarget, dir: string): Promise<number> {
  const entry = join(dir, 'empty.ts');
  writeFileSync(entry, 'export {};\n');
  const outfile = join(dir, `empty-${target.name}`);
  const r = await Bun.build({ entrypoints: [entry], compile: { target: target.bun, outfile }, target: 'bun', minify: true });
  if (!r.success) throw new Error(`empty build for ${target.name} failed`);
  return size(target.name.startsWith('windows') && !statSync(outfile, { throwIfNoEntry: false }) ? `${outfile}.exe` : outfile);
}

/** The DuckDB files as embedded: [Node-API module, library as extracted, library as embedded]. */
async function duckdbSizes(target: CliTarget): Promise<{ node: number; lib: number; libEmbedded: number }> {
  const dir = await bindingDir(target);
  let lib: Uint8Array = readFileSync(join(dir, target.files[1]!));
  if (target.name.startsWith('darwin-')) lib = thinMachO(lib, target.name.endsWith('arm64') ? 'arm64' : 'x64');
  return { node: size(join(dir, target.files[0]!)), lib: lib.length, libEmbedded: Bun.zstdCompressSync(lib, { level: 9 }).length };
}

/** Time of `da query "SELECT 42"` with an empty cache (extraction + load) and a warm one. */
function firstRun(bin: string, work: string): { cold: number; warm: number } {
  const cache = mkdtempSync(join(work, 'cache-'));
  rmSync(cache, { recursive: true });
  const env = { PATH: '/usr/bin:/bin', HOME: work, DA_CACHE_DIR: cache };
  const run = () => {
    const t = performance.now();
    const r = Bun.spawnSync([bin, 'query', 'SELECT 42'], { env, cwd: work, stdout: 'ignore', stderr: 'pipe' });
    if (r.exitCode !== 0) throw new Error(`${bin} query failed: ${r.stderr.toString()}`);
    return performance.now() - t;
  };
  const cold = run();
  const warm = run();
  rmSync(cache, { recursive: true, force: true });
  return { cold, warm };
}

export async function benchBinarySize({ platforms = true, rounds = 3 } = {}): Promise<BenchResult> {
  const work = mkdtempSync(join(tmpdir(), 'da-bench-size-'));
  try {
    const host = TARGETS.find((t) => t.name === hostTarget())!;
    const plain = join(work, 'da-plain');
    const ours = join(work, 'da');
    const noBytecode = join(work, 'da-no-bytecode');
    await buildCli(host, plain, { compress: false });
    await buildCli(host, ours);
    await buildCli(host, noBytecode, { bytecode: false });
    const runtime = await runtimeSize(host, work);
    const duck = await duckdbSizes(host);
    const bundle = size(ours) - runtime - duck.node - duck.libEmbedded;
    const bundleNoBytecode = size(noBytecode) - runtime - duck.node - duck.libEmbedded;

    // What bytecode buys: start-up of `da --help`, alternating.
    const help: Record<'ours' | 'noBytecode', number[]> = { ours: [], noBytecode: [] };
    for (let i = 0; i < 10; i++) {
      for (const [k, bin] of [['ours', ours], ['noBytecode', noBytecode]] as const) {
        const t = performance.now();
        Bun.spawnSync([bin, '--help'], { env: { PATH: '/usr/bin:/bin', HOME: work }, stdout: 'ignore' });
        help[k].push(performance.now() - t);
      }
    }

    const cold: Record<'plain' | 'ours', number[]> = { plain: [], ours: [] };
    const warm: number[] = [];
    for (let i = 0; i < rounds; i++) {
      cold.plain.push(firstRun(plain, work).cold);
      const r = firstRun(ours, work);
      cold.ours.push(r.cold);
      warm.push(r.warm);
    }

    const rows: string[] = [];
    if (platforms) {
      for (const name of RELEASE_TARGETS) {
        const t = TARGETS.find((x) => x.name === name)!;
        const out = join(work, releaseFileName(name));
        await buildCli(t, out);
        const d = await duckdbSizes(t);
        const rt = await runtimeSize(t, work);
        rows.push(`| ${name} | ${MB(size(out))} | ${MB(rt)} | ${MB(d.lib)} → ${MB(d.libEmbedded)} | ${MB(size(out) - rt - d.node - d.libEmbedded)} |`);
        rmSync(out, { force: true });
      }
    }

    const ratio = size(ours) / size(plain);
    return {
      name: 'binary-size',
      what: `Size of the compiled \`da\` for ${host.name} (\`bun run build:cli\`: minified, bytecode, DuckDB library zstd-compressed at level 9) against the same build embedding the library uncompressed, as it did before; first run = \`da query 'SELECT 42'\` with an empty cache (extracts and loads DuckDB), median of ${rounds}.`,
      ours: MB(size(ours)),
      baseline: `${MB(size(plain))} (uncompressed)`,
      ratio,
      goal: '≤ 0.8×',
      met: ratio <= 0.8,
      notes: [
        `Where the ${MB(size(ours))} go: the Bun runtime ${MB(runtime)} (a compiled empty program; it cannot be cut), DuckDB's library ${MB(duck.lib)} embedded as ${MB(duck.libEmbedded)} plus its Node-API module ${MB(duck.node)}, and our bundle (CLI and the whole server, with \`da server start\`) ${MB(bundle)}; without bytecode the bundle is ${MB(bundleNoBytecode)}, but \`da --help\` takes ${median(help.noBytecode).toFixed(0)} ms instead of ${median(help.ours).toFixed(0)} ms, so bytecode stays. The library is still ${MB(duck.lib)} once extracted into the cache (~/.cache/da); there is one embedded copy of it.`,
        '',
        `First run (extraction + load): ${median(cold.ours).toFixed(0)} ms compressed vs ${median(cold.plain).toFixed(0)} ms uncompressed (decompressing costs ~0.2 s once per DuckDB version); later runs ${median(warm).toFixed(0)} ms.`,
        ...(rows.length
          ? [
              '',
              'Every release platform (`bun scripts/build-cli.ts --all`; macOS builds embed only their CPU\'s half of DuckDB\'s universal library):',
              '',
              '| platform | da | Bun runtime | DuckDB library (extracted → embedded) | bundle |',
              '|---|---|---|---|---|',
              ...rows,
            ]
          : []),
      ].join('\n'),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.main) report(await benchBinarySize({ platforms: !process.argv.includes('--host-only') }));
