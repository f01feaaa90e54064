import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from './errors.ts';
import type { WorkspacePaths } from './workspace.ts';
import type { Metric } from '../src/repositories/metrics.ts';

/** A certified metric as `da sync` delivers it (`server/metrics/<name>.yaml`): the server's Metric. */
export type LocalMetric = Metric;

export function metricsDir(ws: WorkspacePaths): string {
  return join(ws.serverDir, 'metrics');
}

/** The synced metrics, by name; empty before the first sync. */
export function localMetrics(ws: WorkspacePaths): LocalMetric[] {
  let names: string[];
  try {
    names = readdirSync(metricsDir(ws)).filter((n) => n.endsWith('.yaml') && !n.startsWith('.')).sort();
  } catch {
    return [];
  }
  const out: LocalMetric[] = [];
  for (const n of names) {
    try {
      const m = Bun.YAML.parse(readFileSync(join(metricsDir(ws), n), 'utf8')) as LocalMetric;
      if (m && typeof m.name === 'string' && typeof m.sql === 'string') out.push(m);
    } catch {
      // A damaged file is skipped; the next da sync replaces it.
    }
  }
  return out;
}

/** One synced metric by name, or a CliError that lists the known ones. */
export function localMetric(ws: WorkspacePaths, name: string): LocalMetric {
  const all = localMetrics(ws);
  const m = all.find((x) => x.name === name);
  if (!m) {
    throw new CliError(
      all.length ? `no metric ${name}; synced: ${all.map((x) => x.name).join(', ')}` : `no metric ${name}: none synced yet (run \`da sync\`, or use --remote)`,
      1,
      { available: all.map((x) => x.name) },
    );
  }
  return m;
}
