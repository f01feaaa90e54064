import type { Child } from 'hono/jsx';
import type { Flash } from '../../src/web/flash.ts';
import { ADMIN_NAV, FlashMessage } from '../layout.tsx';
import { formatBytes, formatCount } from '../format.ts';

/** What a form shows again after a refused post: the values sent and an error per field. */
export interface FormState {
  values: Record<string, string>;
  errors: Record<string, string>;
}

export const NO_FORM: FormState = { values: {}, errors: {} };

/**
 * The frame of every admin page: the administration links, a message of the page's own
 * (`notice`, e.g. a source that could not list its tables), the content. The one-time
 * message of a form post is shown by the layout, as on every page.
 */
export function AdminFrame({ current, notice, children }: { current: string; notice?: Flash; children?: Child }) {
  return (
    <main class="admin">
      <nav aria-label="Administration" class="admin-nav">
        {ADMIN_NAV.map((a) => (
          <a href={a.href} aria-current={a.href === current ? 'page' : undefined}>
            {a.label}
          </a>
        ))}
      </nav>
      {notice ? <FlashMessage flash={notice} testId="notice" /> : null}
      {children}
    </main>
  );
}

/** The id of a field's error line, for aria-describedby (`input`: the id of the input, when not the field's name). */
export const errorId = (input: string) => `${input}-error`;

/** The error of one field, beside its input (nothing when it has none). */
export function FieldError({ field, form, input }: { field: string; form: FormState; input?: string }) {
  const error = form.errors[field];
  return error ? (
    <span class="field-error" id={errorId(input ?? field)} data-testid={`error-${field}`}>
      {error}
    </span>
  ) : null;
}

/** Attributes of an input that may carry an error: aria-invalid and the error's id. */
export function invalid(field: string, form: FormState, input?: string) {
  return form.errors[field] ? { 'aria-invalid': 'true' as const, 'aria-describedby': errorId(input ?? field) } : {};
}

/** `2025-01-31 14:05 UTC`, or the fallback when there is no time. */
export function formatTime(iso: string | null | undefined, fallback = 'never'): string {
  return iso ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : fallback;
}

/** A moment as `<time>` (kept on one line), `seconds` for the audit log; the fallback when there is none. */
export function Time({ iso, fallback = 'never', seconds = false }: { iso: string | null | undefined; fallback?: string; seconds?: boolean }) {
  if (!iso) return <>{fallback}</>;
  return <time datetime={iso}>{seconds ? `${iso.slice(0, 19).replace('T', ' ')} UTC` : formatTime(iso)}</time>;
}

export { formatBytes, formatCount };
