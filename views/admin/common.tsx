import type { Child } from 'hono/jsx';

/** A one-time message after a form post (src/web/flash.ts has the same shape). */
export interface FlashView {
  kind: 'ok' | 'error';
  text: string;
  secret?: { label: string; value: string };
  details?: string[];
}

/** What a form shows again after a refused post: the values sent and an error per field. */
export interface FormState {
  values: Record<string, string>;
  errors: Record<string, string>;
}

export const NO_FORM: FormState = { values: {}, errors: {} };

const AREAS = [
  { href: '/admin/users', label: 'Users' },
  { href: '/admin/tables', label: 'Tables' },
  { href: '/admin/sync', label: 'Sync' },
  { href: '/admin/audit', label: 'Audit log' },
] as const;

/** The frame of every admin page: the administration links, the flash message, the content. */
export function AdminFrame({ current, flash, children }: { current: string; flash?: FlashView; children?: Child }) {
  return (
    <main class="admin">
      <nav aria-label="Administration" class="admin-nav">
        {AREAS.map((a) => (
          <a href={a.href} aria-current={a.href === current ? 'page' : undefined}>
            {a.label}
          </a>
        ))}
      </nav>
      {flash ? <Flash message={flash} /> : null}
      {children}
    </main>
  );
}

/** The message of the last form post, with a secret shown this once. */
export function Flash({ message }: { message: FlashView }) {
  return (
    <div class={`flash ${message.kind}`} role={message.kind === 'error' ? 'alert' : 'status'} data-testid="flash">
      <p>{message.text}</p>
      {message.details?.length ? (
        <ul>
          {message.details.map((d) => (
            <li>{d}</li>
          ))}
        </ul>
      ) : null}
      {message.secret ? (
        <p>
          <label for="flash-secret">{message.secret.label}</label>
          <input id="flash-secret" class="secret" type="text" readonly value={message.secret.value} data-testid="flash-secret" />
        </p>
      ) : null}
    </div>
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

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) (v /= 1024), i++;
  return `${v.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function formatCount(n: number | null | undefined): string {
  return n === null || n === undefined ? '' : n.toLocaleString('en');
}
