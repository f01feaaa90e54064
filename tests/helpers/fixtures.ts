import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Copies the fixture datasets to a fresh directory (tests may change the files) and
 * writes an instance.yaml that configures them like fixtures/instance.yaml does.
 * Returns the directory, the config path, and the data folders.
 */
export function copyFixtures(extraYaml = ''): { dir: string; configPath: string; sales: string; hr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'da-fixtures-'));
  const sales = join(dir, 'sales');
  const hr = join(dir, 'hr');
  cpSync(resolve(import.meta.dir, '../../fixtures/data/sales'), sales, { recursive: true });
  cpSync(resolve(import.meta.dir, '../../fixtures/data/hr'), hr, { recursive: true });
  const configPath = join(dir, 'instance.yaml');
  writeFileSync(
    configPath,
    `sources:
  sales:
    type: local
    path: ${sales}
    public: true
    tables:
      customers: { primary_key: [customer_id] }
      products: { primary_key: [product_id] }
      orders: { primary_key: [order_id], watermark_column: updated_at }
      order_items: { primary_key: [order_item_id] }
  hr:
    type: local
    path: ${hr}
    tables:
      employees: { primary_key: [employee_id] }
      departments: { primary_key: [department_id] }
${extraYaml}`,
  );
  return { dir, configPath, sales, hr };
}
