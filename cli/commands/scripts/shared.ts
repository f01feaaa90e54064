import { basename, extname } from 'node:path';
import type { Client } from '../../client.ts';
import { CliError } from '../../errors.ts';

/** A script as the server lists it. */
export interface RemoteScript {
  id: string;
  name: string;
  owner: string;
  language: string;
  source: string;
  schedule: string | null;
  enabled: boolean;
  last_run: { run_id: string; status: string; queued_at: string; finished_at: string | null } | null;
}

/** A run as the server returns it. */
export interface RemoteRun {
  run_id: string;
  status: string;
  exit_code: number | null;
  reason: string | null;
  stdout: string;
  stderr: string;
  truncated: boolean;
  duration_ms: number | null;
  artifacts: Array<{ name: string; size_bytes: number; url: string }>;
  queued_at: string;
}

const BY_EXTENSION: Record<string, string> = { '.sql': 'sql', '.ts': 'typescript', '.mts': 'typescript', '.js': 'javascript', '.mjs': 'javascript', '.py': 'python' };

/** The language of a script file, from its extension. */
export function languageOf(file: string): string | undefined {
  return BY_EXTENSION[extname(file).toLowerCase()];
}

/** The default script name of a file: its base name without the extension, made a valid name. */
export function nameOf(file: string): string {
  return basename(file, extname(file)).replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '') || 'script';
}

/** The caller's script of that name (an admin's own first, then anyone's), or CliError. */
export async function findScript(client: Client, name: string): Promise<RemoteScript> {
  const [me, scripts] = await Promise.all([client.get<{ id: string }>('/api/me'), client.get<RemoteScript[]>('/api/scripts')]);
  const named = scripts.filter((s) => s.name === name);
  const found = named.find((s) => s.owner === me.id) ?? named[0];
  if (!found) throw new CliError(`no script named ${name} (see: da scripts list)`);
  return found;
}

/** A run in a few lines: status, reason, output, artifacts. */
export function formatRun(run: RemoteRun): string {
  const lines = [`run ${run.run_id}: ${run.status}${run.exit_code !== null ? ` (exit ${run.exit_code})` : ''}${run.duration_ms !== null ? ` in ${run.duration_ms} ms` : ''}`];
  if (run.reason && run.status !== 'succeeded') lines.push(`reason: ${run.reason}`);
  if (run.stdout) lines.push('--- stdout', run.stdout.replace(/\n$/, ''));
  if (run.stderr) lines.push('--- stderr', run.stderr.replace(/\n$/, ''));
  if (run.truncated) lines.push('(output truncated)');
  for (const a of run.artifacts) lines.push(`artifact: ${a.name} (${a.size_bytes} bytes) ${a.url}`);
  return lines.join('\n');
}
