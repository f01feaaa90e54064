import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppDeps, AppEnv } from '../../context.ts';
import type { Services } from '../../boot.ts';
import { ConflictError, DomainError, NotFoundError, ValidationError } from '../../errors.ts';
import {
  discoverTables, listSources, listTablesWithState, registerAllTables, registerTable, updateTable, type TablePatch,
} from '../../sync/registry.ts';
import { NAME_PATTERN, TABLE_ID_PATTERN } from '../../sync/paths.ts';
import { NO_FORM, type FormState } from '../../../views/admin/common.tsx';
import { SourcePage, TablesPage, type OfferedRow, type SourceRow } from '../../../views/admin/tables.tsx';
import { columnField, DescribeTablePage } from '../../../views/admin/describe.tsx';
import { describeTable, enrichmentsOf, type DescriptionPatch } from '../../catalog/describe.ts';
import { definePage, type AnyPage } from '../router.ts';
import { adminPage, formFromError, pathParam, readForm } from './common.ts';

/**
 * The table pages of the administration: /admin/tables (sources; registered tables with
 * enable/disable, strategy and key, unregister) and /admin/tables/sources/<dataset>
 * (discover a source's tables, register one or all). Each action calls the function of
 * src/sync/registry.ts or the sync engine that the API route in its `action` calls.
 */

const keyColumns = (text: string) => text.split(',').map((c) => c.trim()).filter(Boolean);
/** A primary key as typed: column names, comma-separated. */
const KeyText = z
  .string()
  .max(8000)
  .refine((v) => keyColumns(v).length <= 32 && keyColumns(v).every((c) => c.length <= 256), 'at most 32 columns of up to 256 characters each');
const Strategy = z.enum(['full', 'incremental'], { message: 'full or incremental' });

const UpdateForm = z.object({ enabled: z.enum(['true', 'false']).optional(), sync_strategy: Strategy.optional(), primary_key: KeyText.optional() });
const RegisterForm = z.object({
  source_table: z.string().min(1, 'choose a source table').max(1024),
  name: z
    .string()
    .trim()
    .max(64, 'at most 64 characters')
    .refine((v) => v === '' || NAME_PATTERN.test(v), 'lower-case letters, digits and _, not starting with a digit')
    .optional(),
  sync_strategy: Strategy.default('full'),
  primary_key: KeyText.optional(),
});

async function sourceRows(deps: AppDeps): Promise<SourceRow[]> {
  const registered = await deps.repos.tableRegistry.list();
  return listSources(deps.config.sources).map((s) => ({ ...s, registered: registered.filter((t) => t.dataset === s.dataset).length }));
}

async function renderTables(c: Context<AppEnv>, deps: AppDeps, csrf: string, failed?: { tableId: string; form: FormState }) {
  adminPage(c, failed ? 422 : 200);
  const [sources, tables] = await Promise.all([sourceRows(deps), listTablesWithState(deps)]);
  const described = await enrichmentsOf(deps, tables);
  const rows = tables.map((t) => ({
    id: t.id, dataset: t.dataset, source_table: t.source_table, description: described.get(t.id)?.description ?? null, sync_strategy: t.sync_strategy,
    primary_key: t.primary_key, enabled: t.enabled, status: t.sync?.status ?? 'pending', error: t.sync?.error ?? null,
    rows: t.sync?.rows ?? null, last_sync: t.sync?.last_sync ?? null, missing_since: t.missing_since,
  }));
  const lastRun = deps.config.catalog.openmetadata ? await deps.repos.tableAnnotations.lastRun() : undefined;
  const enrichment = deps.config.catalog.openmetadata
    ? {
        finished_at: lastRun?.finished_at ?? null, status: lastRun?.status ?? null, error: lastRun?.error ?? null,
        enriched: lastRun?.result.enriched.length ?? 0, not_found: lastRun?.result.not_found.length ?? 0,
      }
    : undefined;
  return c.render(<TablesPage sources={sources} tables={rows} failed={failed} csrf={csrf} enrichment={enrichment} />, { title: 'Tables' });
}

function datasetOf(c: Context<AppEnv>, deps: AppDeps): string {
  const dataset = pathParam(c, 'dataset');
  if (!deps.config.sources[dataset]) throw new NotFoundError(`No source is configured for dataset ${dataset}.`);
  return dataset;
}

async function renderSource(
  c: Context<AppEnv>, deps: AppDeps, sync: Services['sync'], csrf: string, dataset: string, form: FormState, status: 200 | 409 | 422 = 200,
) {
  const source = (await sourceRows(deps)).find((s) => s.dataset === dataset)!;
  let offered: OfferedRow[] = [];
  let failure: string | undefined;
  try {
    offered = (await discoverTables(deps, sync, dataset)).map((t) => ({
      source_table: t.source_table, table_id: t.table_id, description: t.description, primary_key: t.primary_key,
      row_estimate: t.row_estimate, columns: t.columns?.length ?? null, registered: t.registered, conflict: t.conflict,
    }));
  } catch (err) {
    if (err instanceof DomainError) throw err;
    // The source itself failed (unreachable, bad credentials): say so on the page, for the admin to fix.
    failure = `The source could not list its tables: ${err instanceof Error ? err.message : String(err)}`;
  }
  adminPage(c, status);
  if (failure) c.status(502);
  return c.render(
    <SourcePage source={source} offered={offered} form={form} failure={failure} csrf={csrf} />,
    { title: `Source ${dataset}` },
  );
}

/** GET /admin/tables: sources and registered tables. */
export const adminTablesPage = definePage({
  path: '/admin/tables',
  access: 'admin',
  get: (c, { deps, csrf }) => renderTables(c, deps, csrf),
});

/** GET /admin/tables/sources/<dataset>: what the source offers. */
export const adminSourcePage = definePage({
  path: '/admin/tables/sources/:dataset',
  access: 'admin',
  get: (c, { deps, services, csrf }) => renderSource(c, deps, services.sync, csrf, datasetOf(c, deps), NO_FORM),
});

/** POST /admin/tables/sources/<dataset>/register (tables.register): one table, with settings or the source's defaults. */
export const registerAction = definePage({
  path: '/admin/tables/sources/:dataset/register',
  access: 'admin',
  action: 'tables.register',
  async post(c, { deps, services, user, csrf, redirect }) {
    const dataset = datasetOf(c, deps);
    const read = await readForm(c, RegisterForm);
    if (!read.ok) return renderSource(c, deps, services.sync, csrf, dataset, read.form, 422);
    const { source_table, name, sync_strategy, primary_key } = read.data;
    const key = primary_key === undefined ? undefined : keyColumns(primary_key);
    let table;
    try {
      table = await registerTable(
        deps, services.sync, { dataset, source_table, name: name || undefined, sync_strategy, primary_key: key?.length ? key : undefined }, user.id,
      );
    } catch (err) {
      if (err instanceof ValidationError) return renderSource(c, deps, services.sync, csrf, dataset, formFromError(err, read.values), 422);
      if (err instanceof ConflictError) return renderSource(c, deps, services.sync, csrf, dataset, { values: read.values, errors: { name: err.message } }, 409);
      throw err;
    }
    return redirect(`/admin/tables/sources/${encodeURIComponent(dataset)}`, {
      kind: 'ok', message: `Registered ${table.id} (${table.sync_strategy}). It is pulled at the next sync; start one on the Sync page.`,
    });
  },
});

/** POST /admin/tables/sources/<dataset>/register-all (sources.registerAll). */
export const registerAllAction = definePage({
  path: '/admin/tables/sources/:dataset/register-all',
  access: 'admin',
  action: 'sources.registerAll',
  async post(c, { deps, services, user, redirect }) {
    const dataset = datasetOf(c, deps);
    const { registered, skipped } = await registerAllTables(deps, services.sync, dataset, user.id);
    return redirect('/admin/tables', {
      kind: skipped.length && !registered.length ? 'error' : 'ok',
      message: `Registered ${registered.length} table${registered.length === 1 ? '' : 's'} of ${dataset}${registered.length ? `: ${registered.map((t) => t.id).join(', ')}` : ''}.${skipped.length ? ` Skipped ${skipped.length}:` : ''}`,
      details: skipped.map((s) => `${s.source_table}: ${s.reason}`),
    });
  },
});

function tableIdOf(c: Context<AppEnv>): string {
  const id = pathParam(c, 'id');
  if (!TABLE_ID_PATTERN.test(id)) throw new NotFoundError(`table ${id} is not registered`);
  return id;
}

/** POST /admin/tables/<id> (tables.update): enable/disable, or strategy and primary key. */
export const updateTableAction = definePage({
  path: '/admin/tables/:id',
  access: 'admin',
  action: 'tables.update',
  async post(c, { deps, csrf, redirect }) {
    const id = tableIdOf(c);
    const read = await readForm(c, UpdateForm);
    if (!read.ok) return renderTables(c, deps, csrf, { tableId: id, form: read.form });
    const { enabled, sync_strategy, primary_key } = read.data;
    const patch: TablePatch = {};
    if (enabled !== undefined) patch.enabled = enabled === 'true';
    if (sync_strategy !== undefined) patch.sync_strategy = sync_strategy;
    if (primary_key !== undefined) patch.primary_key = keyColumns(primary_key).length ? keyColumns(primary_key) : null;
    let table;
    try {
      table = await updateTable(deps, id, patch);
    } catch (err) {
      if (err instanceof ValidationError) return renderTables(c, deps, csrf, { tableId: id, form: formFromError(err, read.values) });
      throw err;
    }
    const text = enabled !== undefined
      ? `${table.id} is ${table.enabled ? 'enabled: syncs pull it again' : 'disabled: syncs leave it as it is'}.`
      : `Saved ${table.id}: ${table.sync_strategy}${table.primary_key ? `, key ${table.primary_key.join(', ')}` : ', no primary key'}.`;
    return redirect('/admin/tables', { kind: 'ok', message: text });
  },
});

/** POST /admin/tables/<id>/unregister (tables.unregister): refused while a sync runs. */
export const unregisterAction = definePage({
  path: '/admin/tables/:id/unregister',
  access: 'admin',
  action: 'tables.unregister',
  async post(c, { services, redirect }) {
    const id = tableIdOf(c);
    await services.sync.unregister(id);
    return redirect('/admin/tables', { kind: 'ok', message: `Unregistered ${id}; its file, sync state and profile are gone.` });
  },
});

async function renderDescribe(c: Context<AppEnv>, deps: AppDeps, csrf: string, id: string, form: FormState, status: 200 | 422 = 200) {
  const table = await deps.repos.tableRegistry.get(id);
  if (!table) throw new NotFoundError(`table ${id} is not registered`);
  const [admin, om, stored] = await Promise.all([
    deps.repos.tableAnnotations.get(id, 'admin'),
    deps.repos.tableAnnotations.get(id, 'openmetadata'),
    deps.repos.profiles.get(id),
  ]);
  const profileColumns = ((stored?.profile as { columns?: Array<{ name?: unknown; type?: unknown }> } | undefined)?.columns ?? [])
    .map((col) => ({ name: String(col.name), type: String(col.type ?? '') }));
  adminPage(c, status);
  return c.render(
    <DescribeTablePage
      id={id}
      admin={{ description: admin?.description ?? '', tags: admin?.tags?.join(', ') ?? '', updated_at: admin?.updated_at ?? null }}
      openmetadata={om ? { description: om.description, tags: om.tags ?? [], fqn: om.detail, updated_at: om.updated_at } : null}
      sourceDescription={table.description}
      columns={profileColumns.map((col) => ({ ...col, admin: admin?.columns[col.name] ?? '', openmetadata: om?.columns[col.name] ?? null }))}
      form={form}
      csrf={csrf}
    />,
    { title: `Describe ${id}` },
  );
}

const DescribeForm = z.object({
  description: z.string().max(4000, 'at most 4000 characters').optional(),
  tags: z
    .string()
    .max(2000)
    .refine((v) => v.split(',').every((t) => t.trim().length <= 100), 'each tag at most 100 characters')
    .refine((v) => v.split(',').filter((t) => t.trim()).length <= 50, 'at most 50 tags')
    .optional(),
}).catchall(z.unknown());

/**
 * GET /admin/tables/<id>/describe: the admin's descriptions of a table and its columns;
 * POST (tables.update): saves them (an empty field falls back to OpenMetadata or the source).
 */
export const describeTablePage = definePage({
  path: '/admin/tables/:id/describe',
  access: 'admin',
  action: 'tables.update',
  get: (c, { deps, csrf }) => renderDescribe(c, deps, csrf, tableIdOf(c), NO_FORM),
  async post(c, { deps, user, csrf, redirect }) {
    const id = tableIdOf(c);
    const read = await readForm(c, DescribeForm);
    if (!read.ok) return renderDescribe(c, deps, csrf, id, read.form, 422);
    const columns: NonNullable<DescriptionPatch['columns']> = {};
    for (const [field, text] of Object.entries(read.values)) {
      if (field.startsWith('col.')) columns[field.slice(4)] = { description: text };
    }
    const patch: DescriptionPatch = { description: read.data.description ?? null, columns };
    if (read.data.tags !== undefined) {
      const tags = read.data.tags.split(',').map((t) => t.trim()).filter(Boolean);
      patch.tags = tags.length ? tags : null;
    }
    try {
      await describeTable(deps, id, patch, user.id);
    } catch (err) {
      if (err instanceof ValidationError) {
        const form = formFromError(err, read.values);
        // Column errors are keyed `columns.<name>`; the form's fields are `col.<name>`.
        for (const [k, v] of Object.entries(form.errors)) if (k.startsWith('columns.')) form.errors[columnField(k.slice(8))] = v;
        // A column the form does not offer (a hand-made post) has no field to stand beside.
        form.errors.form ??= err.message;
        return renderDescribe(c, deps, csrf, id, form, 422);
      }
      throw err;
    }
    return redirect(`/admin/tables/${encodeURIComponent(id)}/describe`, { kind: 'ok', message: `Saved the descriptions of ${id}.` });
  },
});

/** The table pages, as src/web/pages.ts registers them. */
export const ADMIN_TABLE_PAGES: AnyPage[] = [
  adminTablesPage, adminSourcePage, registerAction, registerAllAction, updateTableAction, unregisterAction, describeTablePage,
];

