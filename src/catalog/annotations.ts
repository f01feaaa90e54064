import type { AnnotationOrigin, TableAnnotation } from '../repositories/table-annotations.ts';

/** Where a table's description comes from: an admin's edit, OpenMetadata, or the source itself. */
export type DescriptionOrigin = AnnotationOrigin | 'source';

/** A table's descriptions and tags as the catalog shows them, every origin merged. */
export interface Enrichment {
  description: string | null;
  description_origin: DescriptionOrigin | null;
  tags: string[];
  /** Column name → description (only described columns). */
  column_descriptions: Record<string, string>;
}

type Said = Pick<TableAnnotation, 'description' | 'tags' | 'columns'> | undefined;

/**
 * Merges what is said about a table: an admin's edit wins over OpenMetadata, which wins over
 * the source's own description, field by field (and column by column).
 *
 * @example mergeEnrichment('from the source', undefined, { description: 'from OpenMetadata', tags: null, columns: {} })
 */
export function mergeEnrichment(sourceDescription: string | null, admin: Said, openmetadata: Said): Enrichment {
  const [description, description_origin]: [string | null, DescriptionOrigin | null] = admin?.description
    ? [admin.description, 'admin']
    : openmetadata?.description
      ? [openmetadata.description, 'openmetadata']
      : sourceDescription
        ? [sourceDescription, 'source']
        : [null, null];
  const tags = admin?.tags ?? openmetadata?.tags ?? [];
  const column_descriptions: Record<string, string> = {};
  for (const said of [openmetadata, admin]) {
    for (const [name, text] of Object.entries(said?.columns ?? {})) if (text) column_descriptions[name] = text;
  }
  return { description, description_origin, tags, column_descriptions };
}

/** True when the merge says anything at all (a profile then carries it). */
export function saysAnything(e: Enrichment): boolean {
  return e.description !== null || e.tags.length > 0 || Object.keys(e.column_descriptions).length > 0;
}

/**
 * The stored profile with the table's description and tags and each column's description
 * added: what `da sync` downloads as `profiles/<id>.json` and `da explore` shows.
 */
export function annotateProfileText(text: string, e: Enrichment): string {
  const profile = JSON.parse(text) as Record<string, unknown>;
  const columns = Array.isArray(profile.columns) ? (profile.columns as Record<string, unknown>[]) : [];
  return JSON.stringify({
    ...profile,
    description: e.description,
    tags: e.tags,
    columns: columns.map((c) => ({ ...c, description: e.column_descriptions[String(c.name)] ?? null })),
  });
}

/** sha256 (hex) of a text, as the manifest gives asset hashes. */
export function sha256Hex(text: string): string {
  return new Bun.CryptoHasher('sha256').update(text).digest('hex');
}
