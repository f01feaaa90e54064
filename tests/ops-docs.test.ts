import { expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { configReference } from '../scripts/gen-config-docs.ts';
import { ConfigSchema } from '../src/config.ts';

const ROOT = resolve(import.meta.dir, '..');

test('docs/configuration.md is what the config schema generates (run `bun scripts/gen-config-docs.ts`)', () => {
  expect(readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8')).toBe(configReference());
});

test('the reference lists every top-level section of the schema', () => {
  const text = configReference();
  for (const key of Object.keys(ConfigSchema.shape ?? {})) expect(text).toContain(`\`${key}`);
});
