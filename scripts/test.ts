/**
 * The test command: type check, then every test file, then one closing line
 * `N passed, N failed` (bun test prints none that CI reads). Exit code 0 only when all pass.
 */
import { spawnSync } from 'node:child_process';

const extra = process.argv.slice(2);
let failed = 0;
let passed = 0;

if (!extra.length) {
  process.stderr.write('== type check (tsc --noEmit)\n');
  const tsc = spawnSync('bun', ['x', 'tsc', '--noEmit', '-p', '.'], { stdio: 'inherit' });
  if (tsc.status === 0) passed++;
  else failed++;
}

process.stderr.write('== bun test\n');
const run = spawnSync('bun', ['test', '--timeout', '60000', ...extra], {
  stdio: ['inherit', 'inherit', 'pipe'],
  encoding: 'utf8',
  maxBuffer: 256 * 1024 * 1024,
});
process.stderr.write(run.stderr ?? '');
const out = run.stderr ?? '';
const pass = /^\s*(\d+) pass$/m.exec(out);
const fail = /^\s*(\d+) fail$/m.exec(out);
passed += pass ? Number(pass[1]) : 0;
failed += fail ? Number(fail[1]) : 0;
if (run.status !== 0 && !fail) failed++; // the runner itself failed (crash, no tests found)
if (!pass && !fail) process.stderr.write('bun test printed no summary\n');

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && run.status === 0 ? 0 : 1);
