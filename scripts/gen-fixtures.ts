/**
 * Writes the demo datasets under fixtures/data/ (committed; run again only to change them):
 * `sales` (customers, products, orders, order_items as CSV) and `hr` (employees CSV,
 * departments JSON, salaries Parquet). A seeded PRNG makes every run byte-identical.
 *
 * @example bun scripts/gen-fixtures.ts
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

/** mulberry32: tiny, fast, good enough for fixtures, and the same everywhere. */
function createRandom(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
    chance: (p: number) => next() < p,
  };
}

const FIRST = ['Anna', 'Jan', 'Petra', 'Tomas', 'Eva', 'Martin', 'Lucie', 'Jakub', 'Sofia', 'Liam', 'Olivia', 'Noah', 'Emma',
  'Lukas', 'Marie', 'David', 'Klara', 'Adam', 'Tereza', 'Filip', 'Nina', 'Oskar', 'Ines', 'Hugo'];
const LAST = ['Novak', 'Svoboda', 'Dvorak', 'Cerny', 'Smith', 'Johnson', 'Muller', 'Schmidt', 'Garcia', 'Rossi', 'Dubois',
  'Kowalski', 'Horvat', 'Jensen', 'Larsen', 'Silva', 'Nowak', 'Weber', 'Fischer', 'Moreau'];
const CITIES: Array<[string, string]> = [['Prague', 'CZ'], ['Brno', 'CZ'], ['Ostrava', 'CZ'], ['Berlin', 'DE'], ['Munich', 'DE'],
  ['Vienna', 'AT'], ['Warsaw', 'PL'], ['Krakow', 'PL'], ['Bratislava', 'SK'], ['Paris', 'FR'], ['London', 'GB'], ['Madrid', 'ES']];
const SEGMENTS = ['consumer', 'small_business', 'enterprise'] as const;
const CATEGORIES: Record<string, string[]> = {
  Coffee: ['Espresso Beans', 'Filter Blend', 'Decaf Roast', 'Cold Brew Pack', 'Single Origin Kenya', 'Single Origin Peru'],
  Tea: ['Green Sencha', 'Earl Grey', 'Rooibos', 'Chai Spice', 'Jasmine Pearls'],
  Equipment: ['Pour-Over Kettle', 'Burr Grinder', 'French Press', 'Moka Pot', 'Milk Frother', 'Scale 0.1g', 'Espresso Machine'],
  Accessories: ['Paper Filters', 'Ceramic Mug', 'Travel Tumbler', 'Tamper', 'Cleaning Tablets', 'Knock Box'],
  Snacks: ['Almond Biscotti', 'Dark Chocolate 70%', 'Oat Cookies', 'Salted Caramel Bar'],
};
const STATUSES = ['delivered', 'delivered', 'delivered', 'delivered', 'shipped', 'processing', 'cancelled', 'returned'] as const;
const CHANNELS = ['web', 'web', 'web', 'mobile', 'mobile', 'store', 'phone'] as const;

/** CSV field: quoted when it holds a delimiter, quote or newline; empty for null. */
function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function toCsv(header: string[], rows: unknown[][]): string {
  return [header.join(','), ...rows.map((r) => r.map(csvField).join(','))].join('\n') + '\n';
}

const day = 86_400_000;
const isoDate = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const isoTs = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
const money = (x: number) => (Math.round(x * 100) / 100).toFixed(2);

/** Generates both datasets into `outDir` (fixtures/data). */
export async function generateFixtures(outDir: string): Promise<void> {
  const rnd = createRandom(20260101);
  const start = Date.UTC(2024, 0, 1);
  const end = Date.UTC(2025, 11, 31);

  // sales.customers
  const customers: unknown[][] = [];
  for (let id = 1; id <= 400; id++) {
    const first = rnd.pick(FIRST);
    const last = rnd.pick(LAST);
    const [city, country] = rnd.pick(CITIES);
    const signup = start - rnd.int(0, 700) * day + rnd.int(0, 700) * day;
    customers.push([
      id,
      `${first} ${last}`,
      rnd.chance(0.08) ? null : `${first.toLowerCase()}.${last.toLowerCase()}${id}@example.com`,
      city,
      country,
      rnd.pick(SEGMENTS),
      isoDate(signup),
      rnd.chance(0.85),
    ]);
  }

  // sales.products
  const products: unknown[][] = [];
  const prices: number[] = [0];
  let pid = 0;
  for (const [category, names] of Object.entries(CATEGORIES)) {
    for (const name of names) {
      for (const size of category === 'Equipment' ? [''] : [' 250g', ' 1kg']) {
        pid++;
        const base = category === 'Equipment' ? rnd.int(25, 480) + rnd.next() : rnd.int(4, 38) + rnd.next();
        const price = size === ' 1kg' ? base * 3.4 : base;
        prices.push(Math.round(price * 100) / 100);
        products.push([pid, `SKU-${String(pid).padStart(4, '0')}`, name + size, category, money(price),
          money(price * (0.45 + rnd.next() * 0.2)), rnd.chance(0.1) ? null : rnd.int(80, 2400), isoDate(start - rnd.int(30, 900) * day)]);
      }
    }
  }

  // sales.orders + sales.order_items
  const orders: unknown[][] = [];
  const items: unknown[][] = [];
  let itemId = 0;
  for (let id = 1; id <= 2000; id++) {
    const customer = rnd.int(1, customers.length);
    // More orders towards the end of the period: a growing business.
    const placed = start + Math.floor(Math.sqrt(rnd.next()) * (end - start));
    const status = rnd.pick(STATUSES);
    const shipped = status === 'processing' || status === 'cancelled' ? null : placed + rnd.int(1, 5) * day;
    let total = 0;
    const lines = rnd.int(1, 4);
    for (let l = 0; l < lines; l++) {
      const product = rnd.int(1, products.length);
      const qty = rnd.chance(0.85) ? rnd.int(1, 3) : rnd.int(4, 24);
      const discount = rnd.chance(0.2) ? rnd.pick([0.05, 0.1, 0.15, 0.25]) : 0;
      const lineTotal = prices[product]! * qty * (1 - discount);
      total += lineTotal;
      items.push([++itemId, id, product, qty, money(prices[product]!), discount.toFixed(2), money(lineTotal)]);
    }
    const updated = (shipped ?? placed) + rnd.int(0, 72) * 3_600_000;
    orders.push([id, customer, isoTs(placed), status, rnd.pick(CHANNELS), money(total), 'EUR',
      shipped === null ? null : isoDate(shipped), rnd.chance(0.15) ? rnd.pick(['gift wrap', 'leave at door', 'call before delivery, please', 'invoice to "ACME, s.r.o."']) : null,
      isoTs(updated)]);
  }

  const sales = join(outDir, 'sales');
  const hr = join(outDir, 'hr');
  rmSync(sales, { recursive: true, force: true });
  rmSync(hr, { recursive: true, force: true });
  mkdirSync(sales, { recursive: true });
  mkdirSync(hr, { recursive: true });
  writeFileSync(join(sales, 'customers.csv'), toCsv(['customer_id', 'name', 'email', 'city', 'country', 'segment', 'signup_date', 'marketing_opt_in'], customers));
  writeFileSync(join(sales, 'products.csv'), toCsv(['product_id', 'sku', 'name', 'category', 'unit_price', 'unit_cost', 'stock_qty', 'launched_on'], products));
  writeFileSync(join(sales, 'orders.csv'), toCsv(['order_id', 'customer_id', 'ordered_at', 'status', 'channel', 'total_amount', 'currency', 'shipped_on', 'note', 'updated_at'], orders));
  writeFileSync(join(sales, 'order_items.csv'), toCsv(['order_item_id', 'order_id', 'product_id', 'quantity', 'unit_price', 'discount', 'line_total'], items));

  // hr: a non-public dataset, in the other two formats.
  const departments = [
    { department_id: 1, name: 'Sales', cost_center: 'CC-100', head_count_target: 14 },
    { department_id: 2, name: 'Operations', cost_center: 'CC-200', head_count_target: 10 },
    { department_id: 3, name: 'Engineering', cost_center: 'CC-300', head_count_target: 12 },
    { department_id: 4, name: 'Finance', cost_center: 'CC-400', head_count_target: 4 },
    { department_id: 5, name: 'People', cost_center: 'CC-500', head_count_target: null },
  ];
  writeFileSync(join(hr, 'departments.json'), JSON.stringify(departments, null, 1) + '\n');
  const employees: unknown[][] = [];
  const salaries: Array<[number, string, number, string]> = [];
  for (let id = 1; id <= 60; id++) {
    const hired = start - rnd.int(0, 2500) * day;
    const left = rnd.chance(0.12) ? hired + rnd.int(200, 2000) * day : null;
    const dept = rnd.int(1, departments.length);
    employees.push([id, `${rnd.pick(FIRST)} ${rnd.pick(LAST)}`, dept, rnd.pick(['Specialist', 'Senior Specialist', 'Lead', 'Manager']),
      isoDate(hired), left === null ? null : isoDate(left), id > 3 ? rnd.int(1, 3) : null]);
    let salary = rnd.int(38, 95) * 1000;
    for (let y = 2023; y <= 2025; y++) {
      salaries.push([id, `${y}-01-01`, salary, 'EUR']);
      salary = Math.round(salary * (1 + rnd.int(0, 8) / 100));
    }
  }
  writeFileSync(join(hr, 'employees.csv'), toCsv(['employee_id', 'full_name', 'department_id', 'title', 'hired_on', 'left_on', 'manager_id'], employees));

  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    await conn.run(`CREATE TABLE salaries (employee_id INTEGER, effective_from DATE, annual_salary DECIMAL(12,2), currency VARCHAR)`);
    const appender = await conn.createAppender('salaries');
    for (const [e, d, s, c] of salaries) {
      appender.appendInteger(e);
      appender.appendVarchar(d);
      appender.appendDouble(s);
      appender.appendVarchar(c);
      appender.endRow();
    }
    appender.closeSync();
    const out = join(hr, 'salaries.parquet').replace(/'/g, "''");
    await conn.run(`COPY (SELECT * FROM salaries ORDER BY employee_id, effective_from) TO '${out}' (FORMAT parquet, COMPRESSION zstd)`);
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

if (import.meta.main) {
  const out = resolve(process.argv[2] ?? 'fixtures/data');
  await generateFixtures(out);
  process.stderr.write(`fixtures written to ${out}\n`);
}
