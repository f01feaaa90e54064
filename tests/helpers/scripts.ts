import { mkdirSync, writeFileSync } from 'node:fs';
import type { RemoteRun } from '../../cli/commands/scripts/shared.ts';
import { join } from 'node:path';
import { seedTable, testYaml } from './data.ts';
import { startTestServer, type TestServer } from './server.ts';

/** Small limits so the escape suite ends quickly: 3 s, 128 MB, 5 MB files, 20 MB per run. */
export const SCRIPT_LIMITS_YAML =
  'scripts:\n  timeout_s: 3\n  memory_mb: 128\n  max_file_mb: 5\n  max_disk_mb: 20\n  max_processes: 64\n  max_output_bytes: 4096\n  max_source_bytes: 20000\n  max_concurrent: 1\n';

export interface ScriptsWorld {
  server: TestServer;
  /** An analyst granted `sales` (not `hr`). */
  analyst: { id: string; email: string; password: string; token: string };
  /** Another analyst (granted `hr`), with an upload of their own. */
  other: { id: string; email: string; password: string; token: string };
  viewer: { id: string; email: string; password: string; token: string };
  paths: { hr: string; sales: string; systemDb: string; otherUpload: string };
}

/** A server with two datasets, an analyst who may read only `sales`, and another user's upload. */
export async function startScriptsWorld(extraYaml = ''): Promise<ScriptsWorld> {
  const server = await startTestServer({}, { yaml: testYaml(SCRIPT_LIMITS_YAML + extraYaml) });
  const sales = await seedTable(server, { dataset: 'sales', table: 'orders', select: 'SELECT range AS id, range * 10 AS amount FROM range(5)' });
  const hr = await seedTable(server, { dataset: 'hr', table: 'salaries', select: "SELECT 'ceo' AS who, 1000000 AS salary" });
  const analyst = await server.createUser('analyst');
  const other = await server.createUser('analyst');
  const viewer = await server.createUser('viewer');
  for (const [user, dataset] of [[analyst, 'sales'], [other, 'hr']] as const) {
    const res = await server.fetch(`/api/users/${user.id}/permissions/${dataset}`, { method: 'PUT', token: server.adminToken, json: { access: 'read' } });
    if (res.status !== 200) throw new Error(`grant failed: ${res.status}`);
  }
  const uploadDir = join(server.dataDir, 'uploads', other.id, 'artifacts');
  mkdirSync(uploadDir, { recursive: true });
  const otherUpload = join(uploadDir, 'secret-notes.md');
  writeFileSync(otherUpload, 'TOP-SECRET-UPLOAD\n');
  return { server, analyst, other, viewer, paths: { hr: hr.path, sales: sales.path, systemDb: join(server.dataDir, 'state', 'system.duckdb'), otherUpload } };
}

/** Deploys a script as `token` and returns its id. */
export async function deploy(server: TestServer, token: string, body: { name: string; language: string; source: string; schedule?: string | null }): Promise<string> {
  const res = await server.fetch('/api/scripts', { method: 'POST', token, json: body });
  if (res.status !== 201) throw new Error(`deploy failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

/** A run as the API returns it (the CLI's type of it). */
export type RunBody = RemoteRun;

/** Runs a script with wait=true and returns the finished run. */
export async function runAndWait(server: TestServer, token: string, id: string): Promise<RunBody> {
  const res = await server.fetch(`/api/scripts/${id}/run?wait=true`, { method: 'POST', token });
  if (res.status !== 200) throw new Error(`run failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as RunBody;
}
