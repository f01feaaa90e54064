/**
 * Runs every benchmark once and writes each result into docs/benchmarks.md.
 * A benchmark that cannot run (e.g. nginx missing) is reported and skipped; none fails.
 *
 * @example bun bench/all.ts
 */
import { benchBackup } from './backup.ts';
import { benchBinarySize } from './binary-size.ts';
import { benchCliHelp } from './cli-help.ts';
import { benchSyncNoop, benchSyncThroughput } from './cli-sync.ts';
import { benchDownload } from './download.ts';
import { benchDeltaSync } from './delta-sync.ts';
import { benchManifest } from './manifest.ts';
import { benchMcpQuery } from './mcp-query.ts';
import { benchProfile } from './profile.ts';
import { benchQuery } from './query.ts';
import { benchQueryOverhead } from './query-overhead.ts';
import { benchServerStart } from './server-start.ts';
import { benchSmallRequestsUnderLoad } from './small-requests-under-load.ts';
import { benchScriptSandbox } from './script-sandbox.ts';
import { benchWebCatalog } from './web-catalog.ts';
import { report } from './lib.ts';

for (const [name, run] of [
  ['download', () => benchDownload()],
  ['query', () => benchQuery()],
  ['query-overhead', () => benchQueryOverhead()],
  ['manifest', () => benchManifest()],
  ['profile', () => benchProfile()],
  ['web-catalog', () => benchWebCatalog()],
  ['mcp-query', () => benchMcpQuery()],
  ['server-start', () => benchServerStart()],
  ['script-sandbox', () => benchScriptSandbox()],
  ['backup', () => benchBackup()],
  ['delta-sync', () => benchDeltaSync()],
  ['binary-size', () => benchBinarySize()],
  ['small-requests-under-load', () => benchSmallRequestsUnderLoad()],
  ['cli-help', () => benchCliHelp()],
  ['cli-sync-noop', () => benchSyncNoop()],
  ['cli-sync-throughput', () => benchSyncThroughput()],
] as const) {
  try {
    const results = await run();
    for (const r of Array.isArray(results) ? results : [results]) report(r);
  } catch (err) {
    console.error(`${name}: could not run: ${err instanceof Error ? err.message : String(err)}`);
  }
}
