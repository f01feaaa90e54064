import { afterAll, afterEach, beforeAll, expect, test } from 'bun:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeboolaConnector } from '../../src/connectors/keboola/index.ts';
import { loadConfig } from '../../src/config.ts';
import { startKeboolaStandIn, type KeboolaStandIn, type StandInProvider } from '../stand-ins/keboola.ts';
import { startTestServer } from '../helpers/server.ts';
import { readParquetFile } from '../helpers/parquet.ts';

// The Keboola connector against the stand-in over real HTTP, as real stacks behave:
// AWS, Azure and GCP file storages, typed, untyped and alias tables, deletes, retries.

let kbc: KeboolaStandIn;
let dir: string;
let n = 0;

const source = (extra: Record<string, unknown> = {}) => ({
  type: 'keboola' as const, url: kbc.url, token: kbc.token, public: false, poll_interval_ms: 5, auto_register: true,
  max_retries: 3, retry_backoff_ms: 10, request_timeout_ms: 5000, s3_endpoint: kbc.url, gcs_endpoint: `${kbc.url}/_gcs`, ...extra,
});

const ORDERS = [
  { name: 'id', basetype: 'INTEGER' as const },
  { name: 'amount', basetype: 'NUMERIC' as const, length: '10,2' },
  { name: 'paid', basetype: 'BOOLEAN' as const },
  { name: 'day', basetype: 'DATE' as const },
  { name: 'note', basetype: 'STRING' as const },
];
const orderRows = (count: number) =>
  Array.from({ length: count }, (_, i) => ({ id: String(i + 1), amount: `${i + 1}.25`, paid: i % 2 ? 'true' : 'false', day: `2025-01-${String(i + 1).padStart(2, '0')}`, note: `n${i + 1}` }));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'da-kbc-storage-'));
  kbc = startKeboolaStandIn();
});
afterEach(() => {
  kbc.provider = 'https';
  kbc.singleFile = false;
  kbc.pollsUntilDone = 2;
  kbc.failures.length = 0;
  kbc.failExports.clear();
});
afterAll(() => {
  kbc.stop();
  rmSync(dir, { recursive: true, force: true });
});

const target = () => join(dir, `t${++n}.parquet`);
const fullPull = (sourceTable: string, path: string) => ({
  source_table: sourceTable, target: path, existing: null, watermark: null, primary_key: null, scratch_dir: join(dir, `s${n}`), mode: 'full' as const,
});

function addOrders(id: string, rows = orderRows(5), extra: { isTyped?: boolean } = {}) {
  return kbc.addTable({ id, bucket: id.split('.').slice(0, 2).join('.'), name: id.split('.').pop()!, primaryKey: ['id'], columns: ORDERS, rows, ...extra });
}

const ORDER_TYPES = { id: 'BIGINT', amount: 'DECIMAL(10,2)', paid: 'BOOLEAN', day: 'DATE', note: 'VARCHAR' };

for (const provider of ['aws', 'azure', 'gcp', 'https'] as StandInProvider[]) {
  test(`sliced exports on ${provider} storage are read with that stack's credentials into typed Parquet`, async () => {
    const id = `in.c-${provider}.orders`;
    addOrders(id);
    kbc.provider = provider;
    const before = kbc.requests.length;
    const path = target();
    const result = await createKeboolaConnector('crm', source()).pull(fullPull(id, path));
    expect(result).toMatchObject({ mode: 'full', rows_read: 5 });
    const { types, rows } = await readParquetFile(path);
    expect(types).toEqual(ORDER_TYPES);
    expect(rows.map((r) => [r.id, r.amount, r.paid, r.day, r.note])).toEqual(orderRows(5).map((r) => [r.id, r.amount, r.paid === 'true', r.day, r.note]));
    const reads = kbc.requests.slice(before).filter((r) => /part\d+\.csv\.gz|\/slices\//.test(r));
    // Three slices of two rows, each read where the stack keeps it.
    expect(reads).toHaveLength(3);
    const where = { aws: /^GET \/kbc-sapi-files\/exports\/\d+\/part\d+\.csv\.gz\?X-Amz-/, azure: /^GET \/_azure\/kbcstandin\/exp-\d+\/exports\/\d+\/part\d+\.csv\.gz\?sv=/, gcp: /^GET \/_gcs\/kbc-gcs-files\/exports\/\d+\/part\d+\.csv\.gz$/, https: /^GET \/_files\/\d+\/slices\/\d+\?/ }[provider];
    for (const r of reads) expect(r).toMatch(where);
    expect(kbc.refusedReads).toEqual([]);
  });
}

test('a non-sliced file with a header row is read without taking the header for data', async () => {
  addOrders('in.c-single.orders');
  kbc.singleFile = true;
  const path = target();
  const result = await createKeboolaConnector('crm', source()).pull(fullPull('in.c-single.orders', path));
  expect(result.rows_read).toBe(5);
  const { types, rows } = await readParquetFile(path);
  expect(types).toEqual(ORDER_TYPES);
  expect(rows[0]).toMatchObject({ id: '1', amount: '1.25', note: 'n1' });
});

test('untyped tables cast with TRY_CAST: dirty values become NULL and are counted; the columns are asked for explicitly', async () => {
  const rows = orderRows(4);
  rows[1]!.amount = 'N/A';
  rows[2]!.paid = 'maybe';
  rows[3]!.day = '31.12.2024';
  rows[3]!.amount = '';
  addOrders('in.c-dirty.orders', rows);
  const path = target();
  const result = await createKeboolaConnector('crm', source()).pull(fullPull('in.c-dirty.orders', path));
  expect(result.unconverted_values).toBe(3);
  expect(result.notes).toContainEqual(expect.stringContaining('3 values did not convert'));
  expect(result.notes!.join(' ')).toContain('amount: 1, paid: 1, day: 1');
  const { types, rows: out } = await readParquetFile(path);
  expect(types).toEqual(ORDER_TYPES);
  expect(out.map((r) => [r.amount, r.paid, r.day])).toEqual([['1.25', false, '2025-01-01'], [null, true, '2025-01-02'], ['3.25', null, '2025-01-03'], [null, true, null]]);
  expect(kbc.exports.at(-1)!.columns).toBe('id,amount,paid,day,note');
});

test('typed tables take their types from the definition and cast strictly: a bad value fails the pull', async () => {
  addOrders('in.c-typed.orders', orderRows(3), { isTyped: true });
  const path = target();
  const ok = await createKeboolaConnector('crm', source()).pull(fullPull('in.c-typed.orders', path));
  expect(ok.unconverted_values).toBeUndefined();
  expect((await readParquetFile(path)).types).toEqual(ORDER_TYPES);
  const bad = orderRows(3);
  bad[0]!.amount = 'N/A';
  addOrders('in.c-typed.bad', bad, { isTyped: true });
  await expect(createKeboolaConnector('crm', source()).pull(fullPull('in.c-typed.bad', target()))).rejects.toThrow(/in.c-typed.bad: .*Could not convert string "N\/A" to DECIMAL/);
});

test('alias and linked-bucket tables take their types from sourceColumnMetadata', async () => {
  addOrders('in.c-shared.orders');
  kbc.addAlias({ id: 'in.c-linked.orders', bucket: 'in.c-linked', name: 'orders', sourceId: 'in.c-shared.orders' });
  const listed = await createKeboolaConnector('crm', source({ buckets: ['in.c-linked'] })).listTables();
  expect(listed).toHaveLength(1);
  expect(listed[0]!.columns).toEqual(Object.entries(ORDER_TYPES).map(([name, type]) => ({ name, type })));
  const path = target();
  await createKeboolaConnector('crm', source()).pull(fullPull('in.c-linked.orders', path));
  expect((await readParquetFile(path)).types).toEqual(ORDER_TYPES);
});

test('the stand-in honours include: without it a listing has no columns or metadata', async () => {
  addOrders('in.c-include.orders');
  const res = await fetch(`${kbc.url}/v2/storage/buckets/in.c-include/tables`, { headers: { 'x-storageapi-token': kbc.token } });
  const [bare] = (await res.json()) as Array<Record<string, unknown>>;
  expect(bare).not.toHaveProperty('columns');
  expect(bare).not.toHaveProperty('columnMetadata');
  expect(bare).toMatchObject({ id: 'in.c-include.orders', rowsCount: 5 });
});

test('5xx and 429 answers are retried with backoff, honouring Retry-After; the job may say results: [] while it runs', async () => {
  addOrders('in.c-flaky.orders');
  kbc.pollsUntilDone = 4;
  kbc.provider = 'aws';
  kbc.failures.push(
    { match: /^POST \/v2\/storage\/tables\/in\.c-flaky\.orders\/export-async/, status: 503, retryAfter: '1' },
    { match: /^GET \/v2\/storage\/jobs\//, status: 500 },
    { match: /^GET \/v2\/storage\/jobs\//, status: 502 },
    { match: /^GET \/v2\/storage\/files\//, status: 429, retryAfter: '0' },
    { match: /part0001\.csv\.gz/, status: 503 },
  );
  const before = kbc.requests.length;
  const path = target();
  const result = await createKeboolaConnector('crm', source()).pull(fullPull('in.c-flaky.orders', path));
  expect(result.rows_read).toBe(5);
  expect(kbc.failures).toEqual([]);
  const calls = kbc.requests.slice(before);
  const times = kbc.requestTimes.slice(before);
  const exportsAt = calls.flatMap((r, i) => (r.startsWith('POST /v2/storage/tables/in.c-flaky.orders/export-async') ? [times[i]!] : []));
  expect(exportsAt).toHaveLength(2);
  // Retry-After: 1 is honoured (the retry came no sooner than a second later).
  expect(exportsAt[1]! - exportsAt[0]!).toBeGreaterThanOrEqual(950);
  expect((await readParquetFile(path)).rows).toHaveLength(5);
});

test('a 501 is not retried, retries give up after max_retries, and the exceptionId is kept in the error', async () => {
  addOrders('in.c-broken.orders');
  kbc.failures.push({ match: /^GET \/v2\/storage\/tables\/in\.c-broken\.orders$/, status: 501 });
  const before = kbc.requests.length;
  await expect(createKeboolaConnector('crm', source()).pull(fullPull('in.c-broken.orders', target()))).rejects.toThrow(/answered 501: .*exceptionId exception-retry/);
  expect(kbc.requests.slice(before).filter((r) => r.startsWith('GET /v2/storage/tables/in.c-broken.orders'))).toHaveLength(1);

  for (let i = 0; i < 4; i++) kbc.failures.push({ match: /^GET \/v2\/storage\/tables\/in\.c-broken\.orders$/, status: 500 });
  await expect(createKeboolaConnector('crm', source()).pull(fullPull('in.c-broken.orders', target()))).rejects.toThrow(/answered 500/);
  expect(kbc.failures).toEqual([]);

  kbc.failExports.add('in.c-broken.orders');
  await expect(createKeboolaConnector('crm', source()).pull(fullPull('in.c-broken.orders', target()))).rejects.toThrow(/ended with status error: .*\(exceptionId exception-job-\d+\)/);
});

test('an unchanged table exported again is a cache hit, and the pull says so', async () => {
  addOrders('in.c-cache.orders');
  const connector = createKeboolaConnector('crm', source());
  await connector.pull(fullPull('in.c-cache.orders', target()));
  const path = target();
  const again = await connector.pull(fullPull('in.c-cache.orders', path));
  expect(again.notes).toContain('Keboola served the export from its cache');
  expect((await readParquetFile(path)).rows).toHaveLength(5);
});

test('deletes and replacing full loads are detected by the row count and pulled in full', async () => {
  addOrders('in.c-deletes.orders');
  const connector = createKeboolaConnector('crm', source());
  const first = target();
  const full = await connector.pull(fullPull('in.c-deletes.orders', first));
  const incremental = (existing: string, watermark: string | null, path: string) =>
    connector.pull({ source_table: 'in.c-deletes.orders', target: path, existing, watermark, primary_key: ['id'], scratch_dir: join(dir, `s${n}`), mode: 'incremental' });

  // An update alone: incremental, no full pull.
  kbc.upsert('in.c-deletes.orders', [{ ...orderRows(5)[0]!, note: 'changed' }]);
  const second = target();
  const upd = await incremental(first, full.watermark, second);
  expect(upd.mode).toBe('incremental');
  expect(upd.notes ?? []).toEqual([]);

  // Two rows deleted: changedSince cannot see it; the row count can.
  kbc.deleteRows('in.c-deletes.orders', ['2', '3']);
  const third = target();
  const del = await incremental(second, upd.watermark, third);
  expect(del.mode).toBe('full');
  expect(del.notes!.join(' ')).toContain('the source counts 3 rows, the merged file 5');
  expect((await readParquetFile(third)).rows.map((r) => [r.id, r.note])).toEqual([['1', 'changed'], ['4', 'n4'], ['5', 'n5']]);

  // A full load that replaces the table with other keys.
  kbc.replace('in.c-deletes.orders', orderRows(7).slice(4));
  const fourth = target();
  const rep = await incremental(third, del.watermark, fourth);
  expect(rep.mode).toBe('full');
  expect((await readParquetFile(fourth)).rows.map((r) => r.id)).toEqual(['5', '6', '7']);
  expect((await readParquetFile(fourth)).types).toEqual(ORDER_TYPES);
});

test('full_refresh_every pulls an incremental table in full once the last full pull is older', async () => {
  addOrders('in.c-periodic.orders');
  const config = loadConfig({
    DA_DATA_DIR: dir,
    DA_CONFIG: (writeFileSync(join(dir, 'periodic.yaml'), `sources:\n  crm: { type: keboola, url: "${kbc.url}", token: t, full_refresh_every: 6h }\n`), join(dir, 'periodic.yaml')),
  });
  const every = (config.sources.crm as { full_refresh_every?: number }).full_refresh_every;
  expect(every).toBe(6 * 3600_000);
  const connector = createKeboolaConnector('crm', source({ full_refresh_every: every }));
  const first = target();
  const full = await connector.pull(fullPull('in.c-periodic.orders', first));
  const now = Math.floor(Date.now() / 1000);
  const pull = (watermark: object) =>
    connector.pull({ source_table: 'in.c-periodic.orders', target: target(), existing: first, watermark: JSON.stringify(watermark), primary_key: ['id'], scratch_dir: dir, mode: 'incremental' });
  expect((await pull({ changed_since: now, full_at: now - 3600 })).mode).toBe('incremental');
  const due = await pull({ changed_since: now, full_at: now - 7 * 3600 });
  expect(due.mode).toBe('full');
  expect(due.notes).toContainEqual(expect.stringContaining('full_refresh_every'));
  expect(JSON.parse(due.watermark!).full_at).toBeGreaterThanOrEqual(now);
  expect(full.mode).toBe('full');
});

test('a bad full_refresh_every is a clear config error', () => {
  writeFileSync(join(dir, 'bad.yaml'), `sources:\n  crm: { type: keboola, url: "${kbc.url}", token: t, full_refresh_every: weekly }\n`);
  expect(() => loadConfig({ DA_DATA_DIR: dir, DA_CONFIG: join(dir, 'bad.yaml') })).toThrow(/full_refresh_every.*30m, 12h, 7d/s);
});

test('a sync over a server reports the full pull and the unconverted values in its job result', async () => {
  const rows = orderRows(3);
  rows[0]!.amount = 'N/A';
  addOrders('in.c-server.orders', rows);
  kbc.provider = 'gcp';
  const configPath = join(dir, 'server.yaml');
  writeFileSync(configPath, `sources:\n  crm:\n    type: keboola\n    url: ${kbc.url}\n    token: \${KBC_TOKEN}\n    poll_interval_ms: 5\n    retry_backoff_ms: 10\n    gcs_endpoint: ${kbc.url}/_gcs\n    buckets: [in.c-server]\n`);
  const server = await startTestServer({ DA_CONFIG: configPath, KBC_TOKEN: kbc.token });
  try {
    const first = await server.services.sync.runNow();
    expect(first.status).toBe('succeeded');
    kbc.deleteRows('in.c-server.orders', ['2']);
    const { job } = await server.services.sync.trigger({ requestedBy: null });
    await server.services.sync.idle();
    const body = (await (await server.fetch(`/api/sync/jobs/${job.id}`, { token: server.adminToken })).json()) as {
      tables: Array<{ table_id: string; mode: string; rows: number; unconverted_values: number; notes: string[] }>;
    };
    expect(body.tables[0]).toMatchObject({ table_id: 'crm.orders', mode: 'full', rows: 2, unconverted_values: 1 });
    expect(body.tables[0]!.notes.join(' ')).toContain('rows were deleted');
    const profile = (await server.deps.repos.profiles.get('crm.orders'))!.profile as { columns: Array<{ name: string; type: string }> };
    expect(profile.columns.find((c) => c.name === 'amount')!.type).toBe('DECIMAL(10,2)');
  } finally {
    await server.stop();
  }
});

test('without endpoint overrides, slices are read where each real stack keeps them', async () => {
  const { sliceRequest } = await import('../../src/connectors/keboola/files.ts');
  const { retryAfterMs, isRetryable } = await import('../../src/connectors/keboola/client.ts');
  const aws = sliceRequest('s3://kbc-sapi-files/exp-2/1/part0.csv.gz', {
    id: 1, url: '', isSliced: true, provider: 'aws', region: 'eu-central-1',
    credentials: { AccessKeyId: 'ASIAX', SecretAccessKey: 's', SessionToken: 'tok' },
  });
  expect(aws.url).toStartWith('https://kbc-sapi-files.s3.eu-central-1.amazonaws.com/exp-2/1/part0.csv.gz?');
  expect(new URL(aws.url).searchParams.get('X-Amz-Security-Token')).toBe('tok');
  const azure = sliceRequest('azure://kbcfiles.blob.core.windows.net/exp-15/1/part0.csv.gz', {
    id: 2, url: '', isSliced: true, provider: 'azure',
    absCredentials: { SASConnectionString: 'BlobEndpoint=https://kbcfiles.blob.core.windows.net;SharedAccessSignature=sv=2021-08-06&sig=abc%3D' },
  });
  expect(azure.url).toBe('https://kbcfiles.blob.core.windows.net/exp-15/1/part0.csv.gz?sv=2021-08-06&sig=abc%3D');
  const gcs = sliceRequest('gs://kbc-files/exp/1/part 0.csv.gz', {
    id: 3, url: '', isSliced: true, provider: 'gcp', gcsCredentials: { access_token: 'ya29.x' },
  });
  expect(gcs).toEqual({ url: 'https://storage.googleapis.com/kbc-files/exp/1/part%200.csv.gz', headers: { authorization: 'Bearer ya29.x' } });
  expect(() => sliceRequest('gs://b/o', { id: 4, url: '', isSliced: true, provider: 'gcp' })).toThrow(/no gcsCredentials/);
  expect(() => sliceRequest('ftp://x/y', { id: 5, url: '', isSliced: true })).toThrow(/cannot read/);
  expect(retryAfterMs('2')).toBe(2000);
  expect(retryAfterMs(new Date(Date.now() + 5000).toUTCString())).toBeGreaterThan(3000);
  expect(retryAfterMs('soon')).toBeUndefined();
  expect([500, 502, 503, 429, 501, 404].map(isRetryable)).toEqual([true, true, true, true, false, false]);
});

test('a Storage API that does not answer times out, is retried, and then fails the pull with a clear error', async () => {
  addOrders('in.c-slow.orders');
  kbc.failures.push(
    { match: /^GET \/v2\/storage\/tables\/in\.c-slow\.orders$/, status: 200, delayMs: 3000 },
    { match: /^GET \/v2\/storage\/tables\/in\.c-slow\.orders$/, status: 200, delayMs: 3000 },
  );
  const connector = createKeboolaConnector('crm', source({ request_timeout_ms: 200, max_retries: 1 }));
  await expect(connector.pull(fullPull('in.c-slow.orders', target()))).rejects.toThrow(/in.c-slow.orders: .*unreachable: no answer within 0.2 s/);
  // One slow answer is retried and the pull goes through.
  kbc.failures.push({ match: /^GET \/v2\/storage\/tables\/in\.c-slow\.orders$/, status: 200, delayMs: 3000 });
  const path = target();
  expect((await connector.pull(fullPull('in.c-slow.orders', path))).rows_read).toBe(5);
});
