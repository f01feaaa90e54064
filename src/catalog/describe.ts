import type { AppDeps } from '../context.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import type { RegisteredTable } from '../repositories/table-registry.ts';
import { mergeEnrichment, type Enrichment } from './annotations.ts';

/** What an admin changes about a table's descriptions (absent: unchanged; null or '': cleared). */
export interface DescriptionPatch {
  description?: string | null;
  /** Column name → its new description (null or '' clears it). Unknown columns are refused. */
  columns?: Record<string, { description?: string | null }>;
  /** Replaces the tags (null: back to OpenMetadata's). */
  tags?: string[] | null;
}

/** True when the patch touches descriptions or tags at all. */
export function touchesDescriptions(p: DescriptionPatch): boolean {
  return p.description !== undefined || p.columns !== undefined || p.tags !== undefined;
}

const clean = (text: string | null | undefined) => (text?.trim() ? text.trim() : null);

/** Tags trimmed, empty ones dropped, duplicates removed (first spelling kept). */
export function normaliseTags(tags: string[]): string[] {
  return [...new Set(tags.map((t) => t.trim()).filter(Boolean))];
}

/** The column names of the table's stored profile (empty before its first sync). */
async function knownColumns(deps: AppDeps, tableId: string): Promise<string[]> {
  const stored = await deps.repos.profiles.get(tableId);
  const columns = (stored?.profile as { columns?: Array<{ name?: unknown }> } | undefined)?.columns ?? [];
  return columns.map((c) => String(c.name));
}

/**
 * Checks an admin's description patch without writing anything: the table must be registered
 * (NotFoundError) and every column named must be one of the table's (ValidationError).
 */
export async function checkDescriptionPatch(deps: AppDeps, tableId: string, patch: DescriptionPatch): Promise<RegisteredTable> {
  const table = await deps.repos.tableRegistry.get(tableId);
  if (!table) throw new NotFoundError(`table ${tableId} is not registered`);
  const named = Object.keys(patch.columns ?? {});
  if (named.length) {
    const known = new Set(await knownColumns(deps, tableId));
    const unknown = named.filter((n) => !known.has(n));
    if (unknown.length) {
      const why = known.size ? `${tableId} has no column ${unknown.join(', ')}` : `the columns of ${tableId} are known after its first sync`;
      throw new ValidationError(why, unknown.map((n) => ({ path: `columns.${n}`, message: known.size ? 'no such column' : 'no columns known yet' })));
    }
  }
  return table;
}

/**
 * Applies an admin's edit of a table's description, column descriptions and tags. Kept
 * apart from the source's and OpenMetadata's, and winning over both in the catalog.
 */
export async function describeTable(deps: AppDeps, tableId: string, patch: DescriptionPatch, actorId: string | null): Promise<void> {
  await checkDescriptionPatch(deps, tableId, patch);
  if (!touchesDescriptions(patch)) return;
  const before = await deps.repos.tableAnnotations.get(tableId, 'admin');
  const columns = { ...(before?.columns ?? {}) };
  for (const [name, change] of Object.entries(patch.columns ?? {})) {
    if (change.description === undefined) continue;
    const text = clean(change.description);
    if (text) columns[name] = text;
    else delete columns[name];
  }
  await deps.repos.tableAnnotations.put({
    table_id: tableId,
    origin: 'admin',
    description: patch.description !== undefined ? clean(patch.description) : (before?.description ?? null),
    tags: patch.tags !== undefined ? (patch.tags === null ? null : normaliseTags(patch.tags)) : (before?.tags ?? null),
    columns,
    detail: null,
    updated_by: actorId,
  });
}

/** A table's merged descriptions and tags, read afresh (admin over OpenMetadata over the source). */
export async function enrichmentOf(deps: AppDeps, table: RegisteredTable): Promise<Enrichment> {
  const [admin, openmetadata] = await Promise.all([
    deps.repos.tableAnnotations.get(table.id, 'admin'),
    deps.repos.tableAnnotations.get(table.id, 'openmetadata'),
  ]);
  return mergeEnrichment(table.description, admin, openmetadata);
}

/** Every table's merged descriptions and tags, by table id. */
export async function enrichmentsOf(deps: AppDeps, tables: RegisteredTable[]): Promise<Map<string, Enrichment>> {
  const all = await deps.repos.tableAnnotations.list();
  const said = new Map(all.map((a) => [`${a.origin}|${a.table_id}`, a]));
  return new Map(tables.map((t) => [t.id, mergeEnrichment(t.description, said.get(`admin|${t.id}`), said.get(`openmetadata|${t.id}`))]));
}
