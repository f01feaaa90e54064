import type { Child } from 'hono/jsx';

/** A column head: its label (text, or markup such as a label only screen readers hear); numeric columns right-aligned. */
export type Column = string | { label: Child; num?: boolean };

/** A numeric column (right-aligned head, as its cells are). */
export const num = (label: string): Column => ({ label, num: true });

/**
 * A table of rows in a box that scrolls sideways on a narrow screen: a caption for screen
 * readers (shown when `showCaption`), the column heads, and the rows given as children.
 * `stack` lays rows out as cards on a phone (each cell then needs `data-label`).
 */
export function DataTable(p: { testId?: string; caption?: Child; showCaption?: boolean; stack?: boolean; columns: Column[]; children: Child }) {
  return (
    <div class="scroll">
      <table data-testid={p.testId} class={p.stack ? 'stack' : undefined}>
        {p.caption ? <caption class={p.showCaption ? undefined : 'visually-hidden'}>{p.caption}</caption> : null}
        <thead>
          <tr>
            {p.columns.map((c) =>
              typeof c === 'string' ? <th scope="col">{c}</th> : <th scope="col" class={c.num ? 'num' : undefined}>{c.label}</th>,
            )}
          </tr>
        </thead>
        <tbody>{p.children}</tbody>
      </table>
    </div>
  );
}
