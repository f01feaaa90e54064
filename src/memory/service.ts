import { scrubText } from './scrub.ts';
import type { AuthUser } from '../context.ts';
import type { Config } from '../config.ts';
import type { EventBus } from '../events.ts';
import { hasRole, seesAllDatasets } from '../auth/roles.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors.ts';
import { newId } from '../auth/secrets.ts';
import type { AccessCache } from '../sync/catalog.ts';
import type { UsersRepository } from '../repositories/users.ts';
import type {
  Audience, MemoryHistoryEntry, MemoryPatch, MemoryRepository, MemoryStatus, StoredMemoryItem,
} from '../repositories/memory.ts';
import { inAudience, normaliseAudience } from './audience.ts';
import { fingerprint } from './dedup.ts';
import { memoryAssets, type MemoryAsset } from './digest.ts';

/** What a person types is delivered to every analyst's agent: secrets and personal data are removed as from extracted items. */
function clean(text: string): string {
  return scrubText(text.trim()).text;
}

/** An item as a reader sees it: the stored item with the reader's own vote. */
export interface MemoryItem extends Omit<StoredMemoryItem, 'fingerprint'> {
  my_vote: -1 | 0 | 1;
}

/** Filters and paging of a list. */
export interface MemoryQuery {
  q?: string;
  status?: MemoryStatus;
  category?: string;
  tag?: string;
  cursor?: string;
  limit?: number;
}

export interface MemoryInput {
  title: string;
  content: string;
  category?: string;
  tags?: string[];
}

/** A status change: the new status, why, and (km_admin) the audience or category. */
export interface StatusChange {
  status: Exclude<MemoryStatus, 'pending'>;
  note?: string | null;
  /** undefined: unchanged; null: everyone. */
  audience?: Audience | null;
  category?: string;
}

export interface MemoryService {
  /** Bumped by every write: the manifest cache keys on it. */
  version(): number;
  list(user: AuthUser, query?: MemoryQuery): Promise<{ items: MemoryItem[]; next_cursor: string | null }>;
  /** One item the user may see, or NotFoundError (unknown and hidden look alike). */
  get(user: AuthUser, id: string): Promise<MemoryItem>;
  /** The item's changes (admins; anyone else gets NotFoundError for what they cannot see). */
  history(user: AuthUser, id: string): Promise<MemoryHistoryEntry[]>;
  create(user: AuthUser, input: MemoryInput, source?: string): Promise<MemoryItem>;
  update(user: AuthUser, id: string, patch: Partial<MemoryInput>): Promise<MemoryItem>;
  vote(user: AuthUser, id: string, vote: -1 | 0 | 1): Promise<MemoryItem>;
  setStatus(user: AuthUser, id: string, change: StatusChange): Promise<MemoryItem>;
  /** The same status for several items: every one is checked before any changes. */
  batch(user: AuthUser, ids: string[], status: StatusChange['status'], note?: string | null): Promise<MemoryItem[]>;
  /** The categories in use, sorted. */
  categories(): Promise<string[]>;
  /** What `da sync` delivers to `user`: `rules/km_<id>.md` per mandatory item and `docs/knowledge.md`. */
  assetsFor(user: AuthUser): Promise<MemoryAsset[]>;
  /** Every stored item (cached until a write), for the extraction job's dedup. */
  all(): Promise<StoredMemoryItem[]>;
  /** Tells the service its store changed behind it (the extraction job wrote). */
  changed(): void;
}

export interface MemoryServiceDeps {
  repo: MemoryRepository;
  users: Pick<UsersRepository, 'get' | 'findByEmail'>;
  access: AccessCache;
  events: EventBus;
  sources: Config['sources'];
}

const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 200;
export const DEFAULT_CATEGORY = 'general';

/** Statuses a reader below admin sees of other people's items. */
const PUBLISHED = new Set<MemoryStatus>(['approved', 'mandatory']);

function encodeCursor(item: StoredMemoryItem): string {
  return Buffer.from(JSON.stringify([item.created_at, item.id])).toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') return [v[0], v[1]];
  } catch {
    // fall through
  }
  throw new ValidationError('cursor is not one this server gave', [{ path: 'cursor', message: 'unknown cursor' }]);
}

/** Newest first; ties by id, so paging is stable. */
function newerFirst(a: StoredMemoryItem, b: StoredMemoryItem): number {
  return b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id);
}

function matchesText(item: StoredMemoryItem, q: string): boolean {
  const hay = `${item.title}\n${item.content}\n${item.tags.join(' ')}\n${item.category}`.toLowerCase();
  return q.toLowerCase().split(/\s+/).filter(Boolean).every((w) => hay.includes(w));
}

/**
 * Corporate memory's rules: who sees which item (audience, pending items), who may change
 * what, votes, governance (admin: approve/reject; km_admin: mandate/revoke, audience,
 * category), with every change kept in the item's history and announced as
 * `memory.status_changed`.
 */
export function createMemoryService({ repo, users, access, events, sources }: MemoryServiceDeps): MemoryService {
  let version = 0;
  let cached: { version: number; items: StoredMemoryItem[] } | undefined;
  // Rendered digest and rules per set of delivered items, until the next write: every
  // manifest request asks, and most callers share a few audiences.
  const rendered = new Map<string, MemoryAsset[]>();
  const changed = () => {
    version++;
    cached = undefined;
    rendered.clear();
  };

  async function all(): Promise<StoredMemoryItem[]> {
    if (cached?.version === version) return cached.items;
    const v = version;
    const items = (await repo.list()).sort(newerFirst);
    if (v === version) cached = { version: v, items };
    return items;
  }

  /** Whether `user` may see `item`: admins see everything; others their audience's published items and their own. */
  async function visibility(user: AuthUser): Promise<(item: StoredMemoryItem) => boolean> {
    if (hasRole(user.role, 'admin')) return () => true;
    const rule = await access.forUser(user);
    return (item) => inAudience(item.audience, user, rule) && (PUBLISHED.has(item.status) || item.contributors.includes(user.id) || item.created_by === user.id);
  }

  async function present(user: AuthUser, items: StoredMemoryItem[]): Promise<MemoryItem[]> {
    const votes = items.length ? await repo.votesOf(user.id) : new Map<string, number>();
    return items.map(({ fingerprint: _, ...i }) => ({ ...i, my_vote: (votes.get(i.id) ?? 0) as -1 | 0 | 1 }));
  }

  async function visibleItem(user: AuthUser, id: string): Promise<StoredMemoryItem> {
    const item = (await all()).find((i) => i.id === id);
    if (!item || !(await visibility(user))(item)) throw new NotFoundError(`memory item ${id} not found`);
    return item;
  }

  async function fresh(user: AuthUser, id: string): Promise<MemoryItem> {
    changed();
    return (await present(user, [await visibleItem(user, id)]))[0]!;
  }

  /** The audience as stored: users by id (emails resolved), datasets that exist, roles as given. */
  async function checkAudience(audience: Audience | null | undefined): Promise<Audience | null> {
    const a = normaliseAudience(audience);
    if (!a) return null;
    const errors: Array<{ path: string; message: string }> = [];
    for (const d of a.datasets ?? []) if (!sources[d]) errors.push({ path: 'audience.datasets', message: `no dataset ${d} is configured` });
    const ids: string[] = [];
    for (const u of a.users ?? []) {
      const found = u.includes('@') ? await users.findByEmail(u) : await users.get(u);
      if (found) ids.push(found.id);
      else errors.push({ path: 'audience.users', message: `no user ${u}` });
    }
    if (errors.length) throw new ValidationError('the audience names what does not exist', errors);
    return normaliseAudience({ ...a, users: ids });
  }

  /** Refuses a status change the user's role may not make, or that makes no sense from where the item stands. */
  function checkChange(user: AuthUser, item: StoredMemoryItem, change: StatusChange) {
    const km = hasRole(user.role, 'km_admin');
    if (!km) {
      if (change.status === 'mandatory' || change.status === 'revoked') throw new ForbiddenError(`only a km_admin may make an item ${change.status}`);
      if (change.audience !== undefined) throw new ForbiddenError("only a km_admin may change an item's audience");
      if (change.category !== undefined && change.category !== item.category) throw new ForbiddenError("only a km_admin may change an item's category");
      if (item.status === 'mandatory') throw new ForbiddenError('only a km_admin may change a mandatory item');
    }
    if (change.status === 'revoked' && !['approved', 'mandatory', 'revoked'].includes(item.status)) {
      throw new ConflictError(`a ${item.status} item cannot be revoked: only approved or mandatory ones`);
    }
    const same = change.status === item.status && change.audience === undefined && (change.category === undefined || change.category === item.category);
    if (same) throw new ConflictError(`the item is already ${item.status}`);
  }

  async function patchFor(item: StoredMemoryItem, change: StatusChange): Promise<MemoryPatch> {
    const patch: MemoryPatch = {};
    if (change.status !== item.status) patch.status = change.status;
    if (change.audience !== undefined) patch.audience = await checkAudience(change.audience);
    if (change.category !== undefined && change.category !== item.category) patch.category = change.category;
    return patch;
  }

  function announce(user: AuthUser, item: StoredMemoryItem, to: MemoryStatus, note: string | null) {
    events.emit({
      type: 'memory.status_changed', at: new Date().toISOString(), itemId: item.id, title: item.title,
      from: item.status, to, by: user.id, note, contributors: item.contributors,
    });
  }

  const historyOf = (user: AuthUser, item: StoredMemoryItem, patch: MemoryPatch, note: string | null) => ({
    actor: user.id, action: 'status' as const, from_status: item.status, to_status: patch.status ?? item.status, note,
    changes: Object.keys(patch).length ? { ...patch } : null,
  });

  return {
    version: () => version,
    all,
    changed,

    async list(user, query = {}) {
      const limit = Math.min(Math.max(query.limit ?? DEFAULT_LIMIT, 1), MAX_LIMIT);
      const visible = await visibility(user);
      const after = query.cursor ? decodeCursor(query.cursor) : undefined;
      const q = query.q?.trim();
      const matched = (await all()).filter(
        (i) =>
          visible(i) &&
          (!query.status || i.status === query.status) &&
          (!query.category || i.category === query.category) &&
          (!query.tag || i.tags.includes(query.tag)) &&
          (!q || matchesText(i, q)) &&
          (!after || i.created_at < after[0] || (i.created_at === after[0] && i.id < after[1])),
      );
      const page = matched.slice(0, limit);
      return { items: await present(user, page), next_cursor: matched.length > limit ? encodeCursor(page[page.length - 1]!) : null };
    },

    async get(user, id) {
      return (await present(user, [await visibleItem(user, id)]))[0]!;
    },

    async history(user, id) {
      await visibleItem(user, id);
      if (!hasRole(user.role, 'admin')) throw new ForbiddenError("only admins read an item's history");
      return repo.history(id);
    },

    async create(user, input, source = 'api') {
      const id = newId();
      const title = clean(input.title);
      await repo.insert(
        {
          id, title, content: clean(input.content), category: input.category?.trim() || DEFAULT_CATEGORY,
          tags: [...new Set((input.tags ?? []).map(clean))], status: 'pending', audience: null, source, fingerprint: fingerprint(title),
          created_by: user.id, contributors: [user.id],
        },
        { actor: user.id, action: 'created', from_status: null, to_status: 'pending', note: null, changes: null },
      );
      return fresh(user, id);
    },

    async update(user, id, patch) {
      const item = await visibleItem(user, id);
      const admin = hasRole(user.role, 'admin');
      if (!admin && !(item.created_by === user.id && item.status === 'pending')) {
        throw new ForbiddenError('only its author may change an item, and only while it is pending (or an admin)');
      }
      if (item.status === 'mandatory' && !hasRole(user.role, 'km_admin')) throw new ForbiddenError('only a km_admin may change a mandatory item');
      const next: MemoryPatch = {};
      if (patch.title !== undefined) {
        const title = clean(patch.title);
        Object.assign(next, { title, fingerprint: fingerprint(title) });
      }
      if (patch.content !== undefined) next.content = clean(patch.content);
      if (patch.tags !== undefined) next.tags = [...new Set(patch.tags.map(clean))];
      if (patch.category !== undefined && patch.category.trim() !== item.category) {
        if (item.created_by !== user.id && !hasRole(user.role, 'km_admin')) throw new ForbiddenError("only a km_admin may change the category of someone else's item");
        next.category = patch.category.trim();
      }
      const { fingerprint: _, ...changes } = next;
      await repo.update(id, next, { actor: user.id, action: 'edited', from_status: null, to_status: null, note: null, changes });
      return fresh(user, id);
    },

    async vote(user, id, vote) {
      const item = await visibleItem(user, id);
      if (!PUBLISHED.has(item.status) && item.status !== 'pending') throw new ConflictError(`a ${item.status} item takes no votes`);
      await repo.vote(id, user.id, vote);
      return fresh(user, id);
    },

    async setStatus(user, id, change) {
      const item = await visibleItem(user, id);
      checkChange(user, item, change);
      const patch = await patchFor(item, change);
      const note = change.note?.trim() || null;
      await repo.update(id, patch, historyOf(user, item, patch, note));
      changed();
      announce(user, item, change.status, note);
      return fresh(user, id);
    },

    async batch(user, ids, status, note = null) {
      const unique = [...new Set(ids)];
      const items: StoredMemoryItem[] = [];
      for (const id of unique) items.push(await visibleItem(user, id));
      const change: StatusChange = { status, note };
      for (const item of items) checkChange(user, item, change);
      const why = note?.trim() || null;
      await repo.updateMany(items.map((item) => ({ id: item.id, patch: { status }, history: historyOf(user, item, { status }, why) })));
      changed();
      for (const item of items) announce(user, item, status, why);
      const byId = new Map((await all()).map((i) => [i.id, i]));
      return present(user, unique.map((id) => byId.get(id)!));
    },

    async categories() {
      return [...new Set((await all()).map((i) => i.category))].sort();
    },

    async assetsFor(user) {
      const v = version;
      const rule = await access.forUser(user);
      // Delivery follows the audience for everyone, admins included: rules are instructions to their agent.
      const canRead = seesAllDatasets(user.role) ? () => true : (d: string) => rule.canRead(d);
      const mine = (await all()).filter((i) => PUBLISHED.has(i.status) && inAudience(i.audience, user, { canRead }));
      const key = mine.map((i) => i.id).join(',');
      let assets = rendered.get(key);
      if (!assets) {
        assets = memoryAssets(mine);
        if (rendered.size >= 256) rendered.clear();
        if (v === version) rendered.set(key, assets); // not what a write during the reads made stale
      }
      return assets;
    },
  };
}
