import type { AuthUser } from '../context.ts';
import { hasRole, seesAllDatasets } from '../auth/roles.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors.ts';
import type { Metric, MetricsRepository, StoredMetric } from '../repositories/metrics.ts';
import type { QueryInputs } from '../query/run.ts';
import { querySpecFor } from '../query/spec.ts';
import { SqlError } from '../query/guard.ts';
import type { QueryResult } from '../query/pool.ts';
import { metricFromYaml, metricsMarkdown, metricToYaml } from './yaml.ts';

/** What a caller sends to create a metric (id and status optional). */
export type MetricInput = Omit<Metric, 'id' | 'status'> & { id?: string; status?: Metric['status'] };

/** A metric's value: the result of its SQL in the caller's sandbox. */
export interface MetricValue {
  id: string;
  name: string;
  columns: Array<{ name: string; type: string }>;
  rows: unknown[][];
  row_count: number;
  truncated: boolean;
  elapsed_ms: number;
}

/** One asset `da sync` delivers for the metrics: its text and hash. */
export interface MetricAsset {
  path: string;
  text: string;
  hash: string;
}

export interface MetricsService {
  /** Bumped by every write: the manifest cache keys on it. */
  version(): number;
  /** Every metric (cached until a write). */
  all(): Promise<StoredMetric[]>;
  /** The metrics whose every dataset the caller may read. */
  listFor(user: AuthUser): Promise<StoredMetric[]>;
  /** One metric the caller may read, or NotFoundError (unknown and forbidden look alike). */
  getFor(user: AuthUser, id: string): Promise<StoredMetric>;
  create(user: AuthUser, input: MetricInput): Promise<StoredMetric>;
  update(user: AuthUser, id: string, patch: Partial<MetricInput>): Promise<StoredMetric>;
  remove(user: AuthUser, id: string): Promise<void>;
  value(user: AuthUser, id: string): Promise<MetricValue>;
  /** Every metric as `<name>.yaml` → YAML text. */
  exportFiles(): Promise<Record<string, string>>;
  /** Creates or replaces (by name) each metric of the files; all are checked before any is stored. */
  importFiles(user: AuthUser, files: Record<string, string>): Promise<{ created: number; updated: number }>;
  /** `docs/metrics.md` and `metrics/<name>.yaml` of the certified metrics the reader may see. */
  assetsFor(canRead: (dataset: string) => boolean): Promise<MetricAsset[]>;
}

const sha256 = (text: string) => new Bun.CryptoHasher('sha256').update(text).digest('hex');

/** The metric's SQL as one statement: comments kept, trailing semicolons dropped. */
function body(sql: string): string {
  return sql.trim().replace(/;\s*$/, '').trim();
}

export function createMetricsService(repo: MetricsRepository, query: QueryInputs): MetricsService {
  let version = 0;
  let cached: { version: number; metrics: StoredMetric[] } | undefined;
  const changed = () => {
    version++;
    cached = undefined;
  };

  async function all(): Promise<StoredMetric[]> {
    if (cached?.version === version) return cached.metrics;
    const v = version;
    const metrics = await repo.list();
    if (v === version) cached = { version: v, metrics };
    return metrics;
  }

  async function readable(user: AuthUser): Promise<(dataset: string) => boolean> {
    const rule = await query.access.forUser(user);
    return (d) => seesAllDatasets(user.role) || rule.canRead(d);
  }

  /**
   * Runs the metric's SQL for `user` through the query pool, in a sandbox that holds only the
   * metric's datasets among those the user may read (never the admin's state views): the
   * pool's deny-by-default guard applies, and SQL that reads anything else does not bind.
   */
  async function run(user: AuthUser, m: Pick<Metric, 'sql' | 'datasets'>, validateOnly: boolean): Promise<QueryResult> {
    const { default_limit, timeout_ms, max_result_bytes } = query.config.query;
    const spec = await querySpecFor({ ...query, dataDir: query.config.dataDir }, user);
    delete spec.state;
    const allowed = new Set(m.datasets);
    spec.tables = spec.tables.filter((t) => allowed.has(t.dataset));
    const sql = validateOnly ? `SELECT * FROM (\n${body(m.sql)}\n) AS metric LIMIT 0` : body(m.sql);
    return query.queryPool.run(spec, { owner: user.id, sql, limit: validateOnly ? 1 : default_limit, maxBytes: max_result_bytes, timeoutMs: timeout_ms });
  }

  /** Refuses (4xx, nothing stored) a metric its author may not define. */
  async function check(user: AuthUser, m: Metric): Promise<void> {
    const canRead = await readable(user);
    const denied = m.datasets.filter((d) => !canRead(d));
    if (denied.length) throw new ForbiddenError(`you may not read dataset ${denied.join(', ')}, so a metric of yours cannot use it`);
    try {
      await run(user, m, true);
    } catch (err) {
      // Wrapped in a SELECT, a write or a second statement is a syntax error: say what it means.
      if (err instanceof SqlError && /Parser Error/i.test(err.message)) {
        throw new SqlError(`a metric is one read-only SELECT statement; this SQL is not (${err.message.split('\n')[0]})`);
      }
      throw err;
    }
  }

  async function nameFree(name: string, id: string) {
    const other = await repo.getByName(name);
    if (other && other.id !== id) throw new ConflictError(`a metric named ${name} already exists`);
  }

  /** Admins edit anything; analysts only their own drafts, and keep them drafts. */
  function mayEdit(user: AuthUser, existing: StoredMetric | undefined, next: Metric) {
    if (hasRole(user.role, 'admin')) return;
    if (next.status !== 'draft') throw new ForbiddenError('only an admin may certify a metric; analysts propose drafts');
    if (existing && (existing.created_by !== user.id || existing.status !== 'draft')) {
      throw new ForbiddenError('analysts may change only their own draft metrics');
    }
  }

  async function getFor(user: AuthUser, id: string): Promise<StoredMetric> {
    const m = (await all()).find((x) => x.id === id);
    const canRead = await readable(user);
    if (!m || !m.datasets.every(canRead)) throw new NotFoundError(`metric ${id} not found`);
    return m;
  }

  function normalise(input: MetricInput, id: string, user: AuthUser): Metric {
    return {
      id,
      name: input.name,
      description: input.description ?? '',
      sql: input.sql,
      datasets: [...new Set(input.datasets)].sort(),
      owner: input.owner || user.email,
      unit: input.unit ?? '',
      grain: input.grain ?? '',
      tags: [...new Set(input.tags ?? [])],
      status: input.status ?? 'draft',
    };
  }

  return {
    version: () => version,
    all,
    async listFor(user) {
      const canRead = await readable(user);
      return (await all()).filter((m) => m.datasets.every(canRead));
    },
    getFor,
    async create(user, input) {
      const metric = normalise(input, input.id ?? crypto.randomUUID(), user);
      mayEdit(user, undefined, metric);
      if (await repo.get(metric.id)) throw new ConflictError(`metric ${metric.id} already exists`);
      await nameFree(metric.name, metric.id);
      await check(user, metric);
      await repo.insert(metric, user.id);
      changed();
      return (await repo.get(metric.id))!;
    },
    async update(user, id, patch) {
      const existing = await getFor(user, id);
      const metric = normalise({ ...existing, ...patch, id }, id, user);
      mayEdit(user, existing, metric);
      await nameFree(metric.name, id);
      await check(user, metric);
      await repo.update(metric);
      changed();
      return (await repo.get(id))!;
    },
    async remove(user, id) {
      const existing = await getFor(user, id);
      mayEdit(user, existing, { ...existing, status: 'draft' });
      if (!hasRole(user.role, 'admin') && existing.status !== 'draft') throw new ForbiddenError('analysts may delete only their own drafts');
      await repo.delete(id);
      changed();
    },
    async value(user, id) {
      const m = await getFor(user, id);
      const r = await run(user, m, false);
      return { id: m.id, name: m.name, columns: r.columns, rows: JSON.parse(r.rowsJson), row_count: r.row_count, truncated: r.truncated, elapsed_ms: r.elapsed_ms };
    },
    async exportFiles() {
      return Object.fromEntries((await all()).map((m) => [`${m.name}.yaml`, metricToYaml(m)]));
    },
    async importFiles(user, files) {
      const parsed: Metric[] = [];
      for (const [file, text] of Object.entries(files)) {
        let m;
        try {
          m = metricFromYaml(text);
        } catch (err) {
          throw new ValidationError(`${file} is not a metric file`, [{ path: file, message: err instanceof Error ? err.message : String(err) }]);
        }
        const existing = await repo.getByName(m.name);
        const metric = normalise(m, existing?.id ?? m.id ?? crypto.randomUUID(), user);
        if (!existing && (await repo.get(metric.id))) throw new ConflictError(`${file}: metric id ${metric.id} is taken by another name`);
        try {
          await check(user, metric);
        } catch (err) {
          if (err instanceof Error) err.message = `${file}: ${err.message}`;
          throw err;
        }
        if (parsed.some((p) => p.name === metric.name || p.id === metric.id)) throw new ConflictError(`${file}: another file of this import defines ${metric.name}`);
        parsed.push(metric);
      }
      let created = 0;
      let updated = 0;
      for (const metric of parsed) {
        if (await repo.get(metric.id)) {
          await repo.update(metric);
          updated++;
        } else {
          await repo.insert(metric, user.id);
          created++;
        }
      }
      changed();
      return { created, updated };
    },
    async assetsFor(canRead) {
      const certified = (await all()).filter((m) => m.status === 'certified' && m.datasets.every(canRead));
      const assets: MetricAsset[] = [];
      if (!certified.length) return assets;
      const md = metricsMarkdown(certified);
      assets.push({ path: 'docs/metrics.md', text: md, hash: sha256(md) });
      for (const m of certified) {
        const text = metricToYaml(m);
        assets.push({ path: `metrics/${m.name}.yaml`, text, hash: sha256(text) });
      }
      return assets;
    },
  };
}
