/** A table with a file: the thing a view is put over. */
export interface ViewTable {
  dataset: string;
  name: string;
}

/** One view to create: `<schema>.<name>` reading the table `<dataset>.<table>`. */
export interface PlannedView<T extends ViewTable = ViewTable> {
  schema: string;
  name: string;
  table: T;
}

/**
 * The views over a set of synced tables, the one rule the server's analytics database,
 * the query sandbox and `da`'s local database all follow: `<dataset>.<table>` for every
 * table, plus an unqualified `main.<table>` where that table name is unique among the
 * tables and is not also a dataset name (`sales.orders` → `orders`; with `crm.orders` as
 * well, neither gets one).
 *
 * @example planViews([{ dataset: 'sales', name: 'orders' }]) // sales.orders, main.orders
 */
export function planViews<T extends ViewTable>(tables: readonly T[]): Array<PlannedView<T>> {
  const datasets = new Set(tables.map((t) => t.dataset));
  const count = new Map<string, number>();
  for (const t of tables) count.set(t.name, (count.get(t.name) ?? 0) + 1);
  const views: Array<PlannedView<T>> = [];
  for (const t of tables) {
    views.push({ schema: t.dataset, name: t.name, table: t });
    if (count.get(t.name) === 1 && !datasets.has(t.name)) views.push({ schema: 'main', name: t.name, table: t });
  }
  return views;
}
