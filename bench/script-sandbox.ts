/**
 * What the script sandbox costs a run: a script that does nothing, run through the sandbox
 * (bubblewrap, setpriv, prlimit, a memory cgroup where writable, its run dir, output
 * capture) against the same file run directly by the same Bun. Goal: under 100 ms added.
 *
 * @example bun bench/script-sandbox.ts --runs 30
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { bunBinary, runScript } from '../src/scripts/runner.ts';
import { sandboxStatus } from '../src/scripts/sandbox.ts';
import { median, report, type BenchResult } from './lib.ts';

export async function benchScriptSandbox({ runs = 30 } = {}): Promise<BenchResult> {
  const status = sandboxStatus();
  if (!status.available) throw new Error(status.detail);
  const bun = bunBinary();
  if (!bun) throw new Error('no Bun runtime');
  const dir = mkdtempSync(join(tmpdir(), 'da-bench-sandbox-'));
  const file = join(dir, 'noop.js');
  writeFileSync(file, '');
  const limits = { timeoutMs: 30_000, memoryMb: 512, cpuSeconds: 30, maxFileMb: 100, maxDiskMb: 500, maxProcesses: 256, maxOutputBytes: 65_536 };
  let seq = 0;
  const sandboxed = async () => {
    const t = performance.now();
    const r = await runScript({ runsDir: join(dir, 'runs'), runId: `r${++seq}`, language: 'javascript', source: '', files: [], limits });
    if (r.status !== 'succeeded') throw new Error(`the no-op script ${r.status}: ${r.reason} ${r.stderr}`);
    return performance.now() - t;
  };
  const direct = async () => {
    const t = performance.now();
    const p = Bun.spawn([bun, '--no-install', file], { stdout: 'pipe', stderr: 'pipe', env: { PATH: '/usr/bin:/bin', HOME: dir } });
    await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    return performance.now() - t;
  };
  try {
    for (let i = 0; i < 3; i++) {
      await sandboxed();
      await direct();
    }
    const ours: number[] = [];
    const base: number[] = [];
    // Interleaved, so both sides see the same machine load.
    for (let i = 0; i < runs; i++) {
      ours.push(await sandboxed());
      base.push(await direct());
    }
    const o = median(ours);
    const b = median(base);
    return {
      name: 'script-sandbox',
      what: `An empty JavaScript script run through the script sandbox (bubblewrap with new mount, pid, network, IPC and UTS namespaces, setpriv to nobody, prlimit, ${status.memory} memory cap, run dir, output capture, artifact listing) vs the same file run directly by the same Bun; median of ${runs} interleaved runs each, after 3 warm-up runs.`,
      ours: `${o.toFixed(1)} ms`,
      baseline: `${b.toFixed(1)} ms`,
      ratio: o / b,
      goal: '< 100 ms added',
      met: o - b < 100,
      notes: `The sandbox adds ${(o - b).toFixed(1)} ms a run.`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '30' } } });
  report(await benchScriptSandbox({ runs: Number(values.runs) }));
}
