import type { Context } from 'hono';
import type { z } from '@hono/zod-openapi';
import type { AppEnv } from '../../context.ts';
import { NotFoundError, ValidationError } from '../../errors.ts';
import { CSRF_FIELD } from '../csrf.ts';
import type { FormState } from '../../../views/admin/common.tsx';

/** Fields never sent back into a re-rendered form. */
const NOT_ECHOED = new Set([CSRF_FIELD, 'password']);

/** The posted form as strings (files and repeated fields dropped), for showing it again. */
export async function formValues(c: Context<AppEnv>): Promise<Record<string, string>> {
  const body = await c.req.parseBody();
  return Object.fromEntries(Object.entries(body).filter(([k, v]) => typeof v === 'string' && !NOT_ECHOED.has(k))) as Record<string, string>;
}

/** Field errors keyed by field (the first error of each). */
export function fieldErrors(errors: ReadonlyArray<{ path: string; message: string }>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of errors) out[e.path] ??= e.message;
  return out;
}

/**
 * Reads the posted form with `schema`. Refused: the form state to render again (422) with
 * an error beside each field; accepted: the data.
 */
export async function readForm<T>(
  c: Context<AppEnv>,
  schema: z.ZodType<T>,
): Promise<{ ok: true; data: T; values: Record<string, string> } | { ok: false; form: FormState }> {
  const values = await formValues(c);
  const result = schema.safeParse(await c.req.parseBody());
  if (result.success) return { ok: true, data: result.data, values };
  const errors: Record<string, string> = {};
  for (const issue of result.error.issues) errors[issue.path.map(String).join('.') || 'form'] ??= issue.message;
  return { ok: false, form: { values, errors } };
}

/** The form state of a ValidationError the domain raised (e.g. incremental without a key). */
export function formFromError(err: ValidationError, values: Record<string, string>): FormState {
  const errors = fieldErrors(err.errors);
  if (!Object.keys(errors).length) errors.form = err.message;
  return { values, errors };
}

/**
 * What every admin page does before rendering: no caching (a page may show a secret once,
 * and lists accounts and grants) and its status. The one-time message of the form post
 * before it is the page router's (`redirect(location, flash)`), shown by the layout.
 */
export function adminPage(c: Context<AppEnv>, status: 200 | 409 | 422 = 200): void {
  c.header('cache-control', 'no-store');
  c.status(status);
}

/** A path parameter of the page's route (`:id`); pages are only reached with it set. */
export function pathParam(c: Context<AppEnv>, name: string): string {
  const value = c.req.param(name);
  if (!value) throw new NotFoundError(`There is no page at ${c.req.path}.`);
  return value;
}
