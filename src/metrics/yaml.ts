import { z } from 'zod';
import type { Metric } from '../repositories/metrics.ts';

/** A metric's name is also its file name (`metrics/<name>.yaml`). */
export const METRIC_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

/** The shape of a metric file, as import reads it. */
export const MetricFileSchema = z.object({
  id: z.string().min(1).max(64).optional(),
  name: z.string().regex(METRIC_NAME),
  description: z.string().max(10_000).default(''),
  sql: z.string().min(1).max(100_000),
  datasets: z.array(z.string().min(1).max(200)).min(1),
  owner: z.string().max(320).default(''),
  unit: z.string().max(100).default(''),
  grain: z.string().max(100).default(''),
  tags: z.array(z.string().min(1).max(100)).default([]),
  status: z.enum(['draft', 'certified']).default('draft'),
});

/**
 * One metric as a YAML file: the fields always in the contract's order, so that an export
 * diffs cleanly against the previous one.
 */
export function metricToYaml(m: Metric): string {
  const ordered = {
    id: m.id, name: m.name, description: m.description, sql: m.sql, datasets: m.datasets,
    owner: m.owner, unit: m.unit, grain: m.grain, tags: m.tags, status: m.status,
  };
  const text = Bun.YAML.stringify(ordered, null, 2);
  return text.endsWith('\n') ? text : text + '\n';
}

/** Parses one metric file; throws with the file name on a bad shape. */
export function metricFromYaml(text: string): z.infer<typeof MetricFileSchema> {
  return MetricFileSchema.parse(Bun.YAML.parse(text));
}

/** `docs/metrics.md`: the certified metrics an analyst's agent should use, in one page. */
export function metricsMarkdown(metrics: Metric[]): string {
  const lines = [
    '# Metrics',
    '',
    "The company's certified metric definitions. Use these definitions rather than writing your own;",
    'each is also in `metrics/<name>.yaml`, and `da metrics value <name>` evaluates one locally.',
    '',
  ];
  if (!metrics.length) lines.push('No certified metrics yet.', '');
  for (const m of metrics) {
    lines.push(`## ${m.name}`, '');
    if (m.description) lines.push(m.description, '');
    lines.push(`- unit: ${m.unit || '-'}`, `- grain: ${m.grain || '-'}`, `- datasets: ${m.datasets.join(', ')}`, `- owner: ${m.owner || '-'}`);
    if (m.tags.length) lines.push(`- tags: ${m.tags.join(', ')}`);
    lines.push('', '```sql', m.sql.trim(), '```', '');
  }
  return lines.join('\n');
}
