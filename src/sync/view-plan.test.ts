import { expect, test } from 'bun:test';
import { planViews } from './view-plan.ts';

const names = (tables: Array<{ dataset: string; name: string }>) => planViews(tables).map((v) => `${v.schema}.${v.name}`);

test('every table gets <dataset>.<table>, and main.<table> where the name is unique', () => {
  expect(names([{ dataset: 'sales', name: 'orders' }, { dataset: 'sales', name: 'customers' }])).toEqual([
    'sales.orders', 'main.orders', 'sales.customers', 'main.customers',
  ]);
});

test('a name two datasets share gets no unqualified view', () => {
  expect(names([{ dataset: 'sales', name: 'orders' }, { dataset: 'crm', name: 'orders' }])).toEqual(['sales.orders', 'crm.orders']);
});

test('a table named like a dataset gets no unqualified view (the name would mean the schema)', () => {
  expect(names([{ dataset: 'sales', name: 'crm' }, { dataset: 'crm', name: 'contacts' }])).toEqual(['sales.crm', 'crm.contacts', 'main.contacts']);
});
