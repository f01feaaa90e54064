import { newId } from '../src/auth/secrets.ts';
import { createOpenMetadataClient, fqnFor, OpenMetadataError } from '../src/catalog/openmetadata.ts';
import type { EnrichmentResult } from '../src/repositories/table-annotations.ts';
import type { JobContext, JobDefinition } from './types.ts';

/** Tables asked about at once. */
const CONCURRENCY = 4;

/**
 * Fetches the description, column descriptions and tags of every registered table whose
 * dataset is mapped in `catalog.openmetadata.datasets` and keeps them as the table's
 * OpenMetadata annotation (an admin's edit still wins in the catalog). A table OpenMetadata
 * does not know, or that failed, keeps what an earlier run fetched. When OpenMetadata as a
 * whole fails (unreachable, 5xx after retries, token refused), the remaining tables are not
 * asked and the run fails with the reason. Each run's result is kept (lastRun).
 */
export async function enrichCatalog({ deps }: Pick<JobContext, 'deps'>, { sleep }: { sleep?: (ms: number) => Promise<unknown> } = {}): Promise<EnrichmentResult> {
  const cfg = deps.config.catalog.openmetadata;
  if (!cfg) throw new Error('catalog.openmetadata is not configured in instance.yaml');
  const started_at = new Date().toISOString();
  const client = createOpenMetadataClient(cfg, { sleep });
  const result: EnrichmentResult = { enriched: [], not_found: [], skipped: [], errors: [] };
  const todo: Array<{ table: string; fqn: string }> = [];
  for (const t of await deps.repos.tableRegistry.list()) {
    const fqn = fqnFor(cfg, t.dataset, t.name);
    if (fqn) todo.push({ table: t.id, fqn });
    else result.skipped.push({ table: t.id, reason: `dataset ${t.dataset} is not mapped in catalog.openmetadata.datasets` });
  }

  let down: string | undefined;
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, todo.length) }, async () => {
      while (next < todo.length) {
        const item = todo[next++]!;
        if (down) {
          result.errors.push({ ...item, error: `not asked: ${down}` });
          continue;
        }
        try {
          const found = await client.getTable(item.fqn);
          if (!found) {
            result.not_found.push(item);
            continue;
          }
          await deps.repos.tableAnnotations.put({
            table_id: item.table, origin: 'openmetadata', description: found.description, tags: found.tags,
            columns: found.columns, detail: found.fqn, updated_by: null,
          });
          result.enriched.push(item.table);
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          if (err instanceof OpenMetadataError && err.serverDown) down ??= message;
          result.errors.push({ ...item, error: message });
        }
      }
    }),
  );
  for (const list of [result.enriched, result.not_found, result.errors] as Array<Array<unknown>>) {
    list.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  }

  const failed = result.errors.length > 0;
  const summary = `enriched ${result.enriched.length}, not found ${result.not_found.length}, not mapped ${result.skipped.length}, failed ${result.errors.length}`;
  const error = failed ? `OpenMetadata enrichment failed for ${result.errors.length} table(s) (${down ?? result.errors[0]!.error}); ${summary}; earlier descriptions are kept` : null;
  await deps.repos.tableAnnotations.recordRun({
    id: newId(), origin: 'openmetadata', started_at, finished_at: new Date().toISOString(), status: failed ? 'failed' : 'succeeded', error, result,
  });
  deps.logger.info('catalog enrichment finished', { summary });
  if (error) throw new Error(error);
  return result;
}

/** `catalog-enrich`: on `catalog.openmetadata.schedule` (hourly by default) when OpenMetadata is configured. */
export const catalogEnrichJob: JobDefinition = {
  name: 'catalog-enrich',
  schedule: (config) => config.catalog.openmetadata?.schedule ?? null,
  run: (ctx) => enrichCatalog(ctx),
};
