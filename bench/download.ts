/**
 * Download throughput: `GET /api/data/{table}/download` (authenticated, sendfile) against
 * Debian nginx serving the same file from a temporary config on loopback, both fetched with
 * curl. Goal: da ≥ 0.9× nginx.
 *
 * @example bun bench/download.ts --mb 512
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { bigFile, fmtRate, median, report, seedServedTable, sh, startBenchServer, type BenchResult } from './lib.ts';

async function freePort(): Promise<number> {
  const s = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

async function curlSpeed(url: string, headers: string[] = []): Promise<number> {
  const out = await sh(['curl', '-sf', '-o', '/dev/null', '-w', '%{speed_download} %{size_download}', ...headers.flatMap((h) => ['-H', h]), url]);
  return Number(out.split(' ')[0]);
}

export async function benchDownload({ mb = 512, runs = 5 } = {}): Promise<BenchResult> {
  const source = await bigFile(mb);
  const server = await startBenchServer({ datasets: ['bench'] });
  const nginxDir = mkdtempSync(join(tmpdir(), 'da-bench-nginx-'));
  let nginx: ReturnType<typeof Bun.spawn> | undefined;
  try {
    const table = await seedServedTable(server, { dataset: 'bench', table: 'blob', source });
    const port = await freePort();
    const root = join(server.dataDir, 'parquet');
    writeFileSync(
      join(nginxDir, 'nginx.conf'),
      `${process.getuid?.() === 0 ? "user root; " : ""}daemon off; worker_processes 1; pid ${nginxDir}/nginx.pid; error_log ${nginxDir}/error.log;
events { worker_connections 64; }
http {
  access_log off; sendfile on; tcp_nopush on; default_type application/octet-stream;
  client_body_temp_path ${nginxDir}/body; proxy_temp_path ${nginxDir}/proxy; fastcgi_temp_path ${nginxDir}/fcgi;
  uwsgi_temp_path ${nginxDir}/uwsgi; scgi_temp_path ${nginxDir}/scgi;
  server { listen 127.0.0.1:${port}; root ${root}; }
}
`,
    );
    nginx = Bun.spawn(['nginx', '-c', join(nginxDir, 'nginx.conf'), '-p', nginxDir], { stdout: 'ignore', stderr: 'inherit' });
    const nginxUrl = `http://127.0.0.1:${port}/${relative(root, table.path)}`;
    for (let i = 0; i < 50; i++) {
      if (await fetch(nginxUrl, { method: 'HEAD' }).then((r) => r.ok, () => false)) break;
      await Bun.sleep(100);
    }
    const daUrl = `${server.url}/api/data/${table.id}/download`;
    const auth = [`Authorization: Bearer ${server.analystToken}`];
    await curlSpeed(daUrl, auth);
    await curlSpeed(nginxUrl);
    const ours: number[] = [];
    const base: number[] = [];
    for (let i = 0; i < runs; i++) {
      ours.push(await curlSpeed(daUrl, auth));
      base.push(await curlSpeed(nginxUrl));
    }
    const o = median(ours);
    const b = median(base);
    return {
      name: 'download',
      what: `Throughput of one ${mb} MiB file: \`GET /api/data/{table_id}/download\` (bearer token, permission check, ETag, Bun sendfile) vs nginx (1 worker, sendfile on) serving the same file on loopback; curl to /dev/null, median of ${runs} alternating runs.`,
      ours: fmtRate(o),
      baseline: fmtRate(b),
      ratio: o / b,
      goal: '≥ 0.9×',
      met: o / b >= 0.9,
    };
  } finally {
    nginx?.kill();
    await nginx?.exited;
    rmSync(nginxDir, { recursive: true, force: true });
    await server.stop();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { mb: { type: 'string', default: '512' }, runs: { type: 'string', default: '5' } } });
  report(await benchDownload({ mb: Number(values.mb), runs: Number(values.runs) }));
}
