/**
 * `da --help` cold start: the compiled binary vs spawning `true` and a bare `bun -e ''`.
 * Goal: ≤ 15 ms. Builds dist/da first when it is missing or stale.
 *
 * @example bun bench/cli-help.ts
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCliBuilt } from '../tests/helpers/cli.ts';
import { median, report, type BenchResult } from './lib.ts';

const ROOT = join(import.meta.dir, '..');

function timeSpawn(cmd: string[], env: Record<string, string>): number {
  const t = performance.now();
  const r = Bun.spawnSync(cmd, { env, stdout: 'ignore', stderr: 'ignore' });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(' ')} exited ${r.exitCode}`);
  return performance.now() - t;
}

/**
 * The floor of this stack: a compiled binary holding only clipanion and one command, built
 * with the same flags as da. What da adds to start-up is the difference to this.
 */
async function buildMinimalClipanion(dir: string): Promise<string> {
  const entry = join(dir, 'minimal.ts');
  writeFileSync(
    entry,
    `import { Builtins, Cli, Command } from 'clipanion';
class Hello extends Command { static paths = [['hello']]; async execute() { this.context.stdout.write('hello\\n'); } }
const cli = new Cli({ binaryName: 'minimal', enableColors: false });
cli.register(Hello); cli.register(Builtins.HelpCommand);
process.exitCode = await cli.run(process.argv.slice(2));
`,
  );
  const outfile = join(dir, 'minimal');
  const r = await Bun.build({ entrypoints: [entry], compile: { outfile }, target: 'bun', format: 'esm', minify: true, bytecode: true, root: ROOT } as Parameters<typeof Bun.build>[0]);
  if (!r.success) throw new Error(`minimal build failed: ${r.logs.join('\n')}`);
  return outfile;
}

export async function benchCliHelp({ runs = 40 } = {}): Promise<BenchResult> {
  const bin = await ensureCliBuilt();
  const home = mkdtempSync(join(tmpdir(), 'da-bench-help-'));
  try {
    const minimal = await buildMinimalClipanion(mkdtempSync(join(ROOT, 'node_modules', '.da-bench-')));
    const env = { PATH: '/usr/bin:/bin', HOME: home };
    const da: number[] = [];
    const bun: number[] = [];
    const tru: number[] = [];
    const floor: number[] = [];
    for (let i = 0; i < 3; i++) timeSpawn([bin, '--help'], env);
    for (let i = 0; i < runs; i++) {
      da.push(timeSpawn([bin, '--help'], env));
      bun.push(timeSpawn([process.execPath, '-e', ''], env));
      tru.push(timeSpawn(['/bin/true'], env));
      floor.push(timeSpawn([minimal, '--help'], env));
    }
    rmSync(join(minimal, '..'), { recursive: true, force: true });
    const d = median(da);
    const b = median(bun);
    const t = median(tru);
    return {
      name: 'cli-help',
      what: `Cold start of the compiled \`da --help\` (spawn to exit, empty HOME, median of ${runs}) against a bare \`bun -e ''\`; \`/bin/true\` took ${t.toFixed(1)} ms (the cost of spawning at all).`,
      ours: `${d.toFixed(1)} ms`,
      baseline: `${b.toFixed(1)} ms (bun -e '')`,
      ratio: d / b,
      goal: '≤ 15 ms absolute',
      met: d <= 15,
      notes: `A compiled binary with only clipanion and one command (same build flags) took ${median(floor).toFixed(1)} ms here: the floor of this stack on this machine. DuckDB is loaded lazily (first use), so commands that do not touch it never extract or dlopen the 70 MB library.`,
    };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

if (import.meta.main) report(await benchCliHelp());
