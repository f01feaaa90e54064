import type { Freshness } from '../../src/sync/freshness.ts';

const FRESHNESS_TEXT: Record<Freshness, string> = {
  fresh: 'fresh',
  stale: 'stale',
  failed: 'last sync failed',
  never: 'never synced',
};

/** The freshness of a table as a small labelled badge (text, not colour alone). */
export function FreshnessBadge({ freshness }: { freshness: Freshness }) {
  return <span class={`badge ${freshness}`} data-freshness={freshness}>{FRESHNESS_TEXT[freshness]}</span>;
}

/** A field's error message under its input, tied to it by `id` (aria-describedby). */
export function FieldErrorText({ id, message }: { id: string; message?: string }) {
  return message ? <p class="field-error" id={id}>{message}</p> : null;
}

/** The link to a table's page. */
export function tableHref(id: string): string {
  return `/catalog/${encodeURIComponent(id)}`;
}
