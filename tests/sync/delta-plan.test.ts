import { expect, test } from 'bun:test';
import { chainOfFull, planDelta } from '../../cli/delta.ts';
import type { ManifestTable } from '../../src/sync/manifest-schema.ts';

// Which manifests `da` trusts for a delta download, and which send it to the full file.

const delta = (seq: number, hash: string, full: string) => ({
  seq, hash, size_bytes: 10, url: `/api/data/a.t/parts/${seq}`, rows_upserted: 3, rows_inserted: 1, rows_updated: 2, rows_deleted: 4, full_hash: full,
});
const table = (deltas: ReturnType<typeof delta>[], hash = deltas.at(-1)?.full_hash ?? 'B'): ManifestTable => ({
  dataset: 'a', name: 't', hash, size_bytes: 1000, rows: 5, columns: 2, updated_at: null, url: '/api/data/a.t/download',
  parts: { primary_key: ['id'], base: { seq: 1, hash: 'B', size_bytes: 900, url: '/api/data/a.t/parts/1' }, deltas },
});
const d2 = delta(2, 'd2', 'F2');
const d3 = delta(3, 'd3', 'F3');

test('a chain that extends the local one: only the missing deltas, with their row counts summed', () => {
  const plan = planDelta({ base: 'B', deltas: [{ seq: 2, hash: 'd2' }] }, table([d2, d3]));
  expect('missing' in plan && plan.missing.map((d) => d.seq)).toEqual([3]);
  const two = planDelta({ base: 'B', deltas: [] }, table([d2, d3]));
  expect(two).toMatchObject({ bytes: 20, rows_added: 2, rows_changed: 4, rows_removed: 8 });
});

test('anything else is the full file: new base, other or missing parts, out of order, wrong end, nothing new', () => {
  const local = { base: 'B', deltas: [{ seq: 2, hash: 'd2' }] };
  const compacted = table([d2, d3]);
  compacted.parts!.base.hash = 'B2';
  expect(planDelta(local, compacted)).toHaveProperty('why');
  expect(planDelta(local, table([delta(2, 'other', 'F2'), d3]))).toHaveProperty('why');
  expect(planDelta(local, table([d3]))).toHaveProperty('why');
  expect(planDelta({ base: 'B', deltas: [] }, table([d3, d2], 'F2'))).toHaveProperty('why');
  expect(planDelta(local, table([d2, d3], 'F9'))).toHaveProperty('why');
  expect(planDelta(local, table([d2]))).toHaveProperty('why');
  expect(planDelta(undefined, table([d2, d3]))).toHaveProperty('why');
  expect(planDelta(local, { ...table([d2, d3]), parts: undefined })).toHaveProperty('why');
});

test('a full download records the chain only when the parts lead to its hash', () => {
  expect(chainOfFull(table([d2, d3]))).toEqual({ base: 'B', deltas: [{ seq: 2, hash: 'd2' }, { seq: 3, hash: 'd3' }] });
  expect(chainOfFull(table([d2, d3], 'F9'))).toBeUndefined();
  expect(chainOfFull(table([]))).toEqual({ base: 'B', deltas: [] });
});
