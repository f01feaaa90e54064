import { CsrfField } from '../layout.tsx';
import { AdminFrame, FieldError, invalid, Time, type FormState } from './common.tsx';
import { DataTable } from '../data-table.tsx';

/** One column of the table, with what each origin says about it. */
export interface DescribedColumn {
  name: string;
  type: string;
  /** The admin's own description ('' when none). */
  admin: string;
  /** What OpenMetadata says, shown as the fallback. */
  openmetadata: string | null;
}

export interface DescribeTablePageProps {
  id: string;
  /** The admin's own description, tags and their fallbacks. */
  admin: { description: string; tags: string; updated_at: string | null };
  openmetadata: { description: string | null; tags: string[]; fqn: string | null; updated_at: string | null } | null;
  sourceDescription: string | null;
  columns: DescribedColumn[];
  form: FormState;
  csrf: string;
}

/** The form field of a column's description. */
export const columnField = (name: string) => `col.${name}`;

/**
 * /admin/tables/<id>/describe: the admin's description, tags and column descriptions of one
 * table. What an admin writes wins over OpenMetadata and the source; an empty field falls
 * back to them (shown beside each field).
 */
export function DescribeTablePage({ id, admin, openmetadata, sourceDescription, columns, form, csrf }: DescribeTablePageProps) {
  const value = (field: string, fallback: string) => form.values[field] ?? fallback;
  const fallbackDescription = openmetadata?.description ?? sourceDescription;
  return (
    <AdminFrame current="/admin/tables">
      <p class="note">
        <a href="/admin/tables">Tables</a> / <code>{id}</code>
      </p>
      <h1>
        Describe <code>{id}</code>
      </h1>
      <p class="note">
        What you write here is shown in the catalog, the API, profiles and <code>da</code>, over what OpenMetadata or the source says. Leave a
        field empty to show theirs.{' '}
        {openmetadata ? (
          <>
            OpenMetadata ({openmetadata.fqn ? <code>{openmetadata.fqn}</code> : 'enrichment'}) was read <Time iso={openmetadata.updated_at} />.
          </>
        ) : (
          'Nothing from OpenMetadata for this table.'
        )}
      </p>
      <form method="post" action={`/admin/tables/${encodeURIComponent(id)}/describe`} data-testid="describe-form">
        <CsrfField token={csrf} />
        <p>
          <label for="description">Description</label>
        </p>
        <textarea id="description" name="description" rows={3} cols={70} {...invalid('description', form)}>
          {value('description', admin.description)}
        </textarea>
        {fallbackDescription ? (
          <div class="note" data-testid="fallback-description">
            Without yours: {fallbackDescription} ({openmetadata?.description ? 'OpenMetadata' : 'source'})
          </div>
        ) : null}
        <FieldError field="description" form={form} />

        <p>
          <label for="tags">Tags (comma-separated)</label>
        </p>
        <input id="tags" name="tags" type="text" size={60} value={value('tags', admin.tags)} {...invalid('tags', form)} />
        {openmetadata?.tags.length ? <div class="note">Without yours: {openmetadata.tags.join(', ')} (OpenMetadata)</div> : null}
        <FieldError field="tags" form={form} />

        <h2>Columns</h2>
        {columns.length === 0 ? (
          <p class="note">The columns are known after the table's first sync.</p>
        ) : (
          <DataTable testId="describe-columns" caption={<>Column descriptions of {id}</>} columns={['Column', 'Type', 'Description']}>
            {columns.map((c) => {
              const field = columnField(c.name);
              const input = `col-${c.name}`;
              return (
                <tr data-column={c.name}>
                  <th scope="row">
                    <label for={input}>
                      <code>{c.name}</code>
                    </label>
                  </th>
                  <td>{c.type}</td>
                  <td>
                    <input id={input} name={field} type="text" size={40} value={value(field, c.admin)} placeholder={c.openmetadata ?? ''} {...invalid(field, form, input)} />
                    {c.openmetadata ? <div class="note">OpenMetadata: {c.openmetadata}</div> : null}
                    <FieldError field={field} form={form} input={input} />
                  </td>
                </tr>
              );
            })}
          </DataTable>
        )}
        <FieldError field="form" form={form} />
        <p>
          <button type="submit">Save descriptions</button>
        </p>
        <p class="note">
          Last changed by an admin: <Time iso={admin.updated_at} />
        </p>
      </form>
    </AdminFrame>
  );
}
