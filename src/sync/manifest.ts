import type { AuthUser } from '../context.ts';
import { VERSION } from '../version.ts';
import { seesAllDatasets } from '../auth/roles.ts';
import { isServed, type AccessCache, type TableCatalog } from './catalog.ts';
import type { DocsIndex } from './assets.ts';
import { SYNC_EVERYTHING, type SyncSelections } from './settings.ts';
import type { MetricsService } from '../metrics/service.ts';
import type { MemoryService } from '../memory/service.ts';

export type { Manifest, ManifestAsset, ManifestTable } from './manifest-schema.ts';
import type { Manifest, ManifestAsset, ManifestParts, ManifestTable } from './manifest-schema.ts';
import type { TablePart } from '../repositories/table-parts.ts';
import { consistentChain } from './delta.ts';

/** The delta parts and primary keys the manifest lists (the state repositories, in the server). */
export interface PartsSource {
  listAll(): Promise<Map<string, TablePart[]>>;
  primaryKeys(): Promise<Map<string, string[] | null>>;
}

/** Where a table's file is downloaded from (relative to the server's base URL). */
export function downloadUrl(tableId: string): string {
  return `/api/data/${tableId}/download`;
}

/** Where part `seq` of a table synced by delta is downloaded from. */
export function partUrl(tableId: string, seq: number): string {
  return `/api/data/${tableId}/parts/${seq}`;
}

/** The manifest's `parts` of a table: only a chain that ends at the file being served. */
export function manifestParts(tableId: string, hash: string, primaryKey: string[] | null, parts: TablePart[] | undefined): ManifestParts | undefined {
  const chain = consistentChain(parts, hash);
  if (!chain || !primaryKey?.length) return undefined;
  const file = (p: TablePart) => ({ seq: p.seq, hash: p.hash, size_bytes: p.size_bytes, url: partUrl(tableId, p.seq) });
  return {
    primary_key: primaryKey,
    base: file(chain[0]!),
    deltas: chain.slice(1).map((p) => ({
      ...file(p), rows_upserted: p.rows_inserted + p.rows_updated, rows_inserted: p.rows_inserted, rows_updated: p.rows_updated,
      rows_deleted: p.rows_deleted, full_hash: p.full_hash,
    })),
  };
}

/** Where an asset is downloaded from. */
export function assetUrl(path: string): string {
  return `/api/assets/${path}`;
}

/** A serialised manifest with its strong ETag. */
export interface RenderedManifest {
  body: string;
  etag: string;
}

export interface ManifestService {
  forUser(user: AuthUser): Promise<RenderedManifest>;
}

/**
 * Builds manifests, cached per permission set and sync selection: callers who may read the
 * same datasets and chose the same tables get the same bytes. An entry is rebuilt when the
 * state fingerprint or the documents change, so a finished sync or a new grant shows up on
 * the next request. With `selections`, each user's sync settings narrow what they get: a
 * dataset switched off brings neither its tables nor its documents, an explicit table list
 * only those tables (and their profiles).
 */
export function createManifestService(
  access: AccessCache,
  catalog: TableCatalog,
  docs: DocsIndex,
  { maxEntries = 256, selections, metrics, memory, parts, remoteEngine }: {
    maxEntries?: number; selections?: SyncSelections; metrics?: MetricsService; memory?: MemoryService; parts?: PartsSource;
    /** The engine a dataset's tables stay in (`bigquery`), or null when they are downloaded. */
    remoteEngine?: (dataset: string) => string | null;
  } = {},
): ManifestService {
  const cache = new Map<string, { version: string; rendered: RenderedManifest }>();
  // The datasets that have tables or documents, per catalog+docs version: computed once,
  // not by walking every table on every request.
  let known: { version: string; datasets: string[] } | undefined;

  return {
    async forUser(user) {
      const [rule, snapshot, selection] = await Promise.all([
        access.forUser(user),
        catalog.snapshot(),
        selections ? selections.forUser(user.id) : SYNC_EVERYTHING,
      ]);
      const documents = docs.list();
      const metricList = metrics ? await metrics.all() : [];
      const version = `${snapshot.version}|${documents.version}|${metrics?.version() ?? 0}|${memory?.version() ?? 0}`;
      // Corporate memory follows each item's audience (roles, users, datasets): its files are
      // part of the cache key, so callers with the same datasets but other rules do not share.
      const memoryAssets = memory ? await memory.assetsFor(user) : [];
      const memoryKey = memoryAssets.map((a) => `${a.path}#${a.hash}`).join(',');
      if (known?.version !== version) {
        const datasets = new Set<string>();
        for (const t of snapshot.tables) datasets.add(t.dataset);
        for (const a of documents.assets) if (a.dataset) datasets.add(a.dataset);
        for (const m of metricList) for (const d of m.datasets) datasets.add(d);
        known = { version, datasets: [...datasets].sort() };
      }
      const readable = known.datasets.filter((d) => rule.canRead(d));
      const key = `${seesAllDatasets(user.role) ? '*' : readable.join(',')}|${selection.key}|${memoryKey}`;
      const hit = cache.get(key);
      if (hit?.version === version) return hit.rendered;

      const allowed = new Set(readable);
      const manifest: Manifest = {
        manifest_version: 1,
        generated_at: new Date().toISOString(),
        server_version: VERSION,
        tables: {},
        assets: {},
      };
      for (const a of documents.assets) {
        if (a.dataset === null || (allowed.has(a.dataset) && selection.includesDataset(a.dataset))) {
          manifest.assets[a.path] = { hash: a.hash, size_bytes: a.size_bytes, url: assetUrl(a.path) };
        }
      }
      // Certified metrics over datasets the caller may read: docs/metrics.md and metrics/<name>.yaml.
      for (const a of metrics ? await metrics.assetsFor((d) => allowed.has(d)) : []) {
        manifest.assets[a.path] = { hash: a.hash, size_bytes: Buffer.byteLength(a.text), url: assetUrl(a.path) };
      }
      // Mandatory items as rules (`rules/km_<id>.md`) and the digest (`docs/knowledge.md`, which
      // wins over a document of that name while the caller has any item).
      for (const a of memoryAssets) {
        manifest.assets[a.path] = { hash: a.hash, size_bytes: Buffer.byteLength(a.text), url: assetUrl(a.path) };
      }
      const [allParts, keys] = parts ? await Promise.all([parts.listAll(), parts.primaryKeys()]) : [new Map(), new Map()];
      for (const t of snapshot.tables) {
        const engine = remoteEngine?.(t.dataset);
        if (engine && allowed.has(t.dataset) && t.enabled && selection.includes(t)) {
          manifest.remote_tables ??= {};
          manifest.remote_tables[t.id] = { dataset: t.dataset, name: t.name, remote: true, engine, description: t.description, tags: t.tags };
          continue;
        }
        if (!allowed.has(t.dataset) || !isServed(t) || !selection.includes(t)) continue;
        manifest.tables[t.id] = {
          dataset: t.dataset,
          name: t.name,
          hash: t.hash!,
          size_bytes: t.size_bytes,
          rows: t.rows,
          columns: t.columns,
          updated_at: t.last_sync,
          url: downloadUrl(t.id),
          description: t.description,
          tags: t.tags,
          column_descriptions: t.column_descriptions,
        };
        const tableParts = manifestParts(t.id, t.hash!, keys.get(t.id) ?? null, allParts.get(t.id));
        if (tableParts) manifest.tables[t.id]!.parts = tableParts;
        if (t.profile_hash) {
          const path = `profiles/${t.id}.json`;
          manifest.assets[path] = { hash: t.profile_hash, size_bytes: t.profile_size, url: assetUrl(path) };
        }
      }
      const body = JSON.stringify(manifest);
      const rendered = { body, etag: `"${new Bun.CryptoHasher('sha256').update(body).digest('hex')}"` };
      if (cache.size >= maxEntries && !cache.has(key)) cache.delete(cache.keys().next().value!);
      cache.set(key, { version, rendered });
      return rendered;
    },
  };
}
