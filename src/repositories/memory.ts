import type { Role } from '../auth/roles.ts';

/** Where an item stands: proposed, accepted (digest), delivered as a rule, refused, or withdrawn. */
export const MEMORY_STATUSES = ['pending', 'approved', 'mandatory', 'rejected', 'revoked'] as const;
export type MemoryStatus = (typeof MEMORY_STATUSES)[number];

/** Who an item is for: null is everyone; otherwise a reader must match one of the lists given. */
export interface Audience {
  roles?: Role[];
  users?: string[];
  datasets?: string[];
}

/** A corporate memory item as stored, with its score and contributors. */
export interface StoredMemoryItem {
  id: string;
  title: string;
  content: string;
  category: string;
  tags: string[];
  status: MemoryStatus;
  audience: Audience | null;
  /** Where it came from: `uploads/<user>/CLAUDE.local.md`, `uploads/<user>/sessions/…`, or `api`/`web`. */
  source: string | null;
  /** The normalised title extraction dedups on. */
  fingerprint: string;
  /** The user who wrote it (null when the extraction job proposed it). */
  created_by: string | null;
  /** User ids, first contributor first. */
  contributors: string[];
  /** Sum of the votes (+1/-1). */
  score: number;
  created_at: string;
  updated_at: string;
}

/** One change of an item: who (null: the extraction job), what, and why. */
export interface MemoryHistoryEntry {
  id: string;
  item_id: string;
  at: string;
  actor: string | null;
  action: 'created' | 'edited' | 'status' | 'contributor';
  from_status: MemoryStatus | null;
  to_status: MemoryStatus | null;
  note: string | null;
  changes: Record<string, unknown> | null;
}

/** What is written with a change: its history entry (id and time are the store's). */
export type HistoryInput = Omit<MemoryHistoryEntry, 'id' | 'item_id' | 'at'>;

/** A new item. */
export type NewMemoryItem = Omit<StoredMemoryItem, 'contributors' | 'score' | 'created_at' | 'updated_at'> & { contributors: string[] };

/** Fields a change may set. */
export type MemoryPatch = Partial<Pick<StoredMemoryItem, 'title' | 'content' | 'category' | 'tags' | 'status' | 'audience' | 'fingerprint'>>;

/** What one upload gave the extraction job, stored all at once. */
export interface ExtractionRecord {
  /** The upload's path under the data directory (`uploads/<user>/CLAUDE.local.md`). */
  path: string;
  sha256: string;
  userId: string;
  created: NewMemoryItem[];
  /** Existing items the upload said again: the uploader becomes a contributor. */
  merged: Array<{ itemId: string; userId: string }>;
}

/** Corporate memory: items, contributors, votes, history, and the extraction cursor. */
export interface MemoryRepository {
  /** Every item, newest first. */
  list(): Promise<StoredMemoryItem[]>;
  get(id: string): Promise<StoredMemoryItem | undefined>;
  /** Inserts an item with its contributors and its `created` history entry, in one transaction. */
  insert(item: NewMemoryItem, history: HistoryInput): Promise<void>;
  /** Applies a change and its history entry in one transaction. */
  update(id: string, patch: MemoryPatch, history: HistoryInput): Promise<void>;
  /** Sets the status of several items, each with its history entry, all or none. */
  updateMany(changes: Array<{ id: string; patch: MemoryPatch; history: HistoryInput }>): Promise<void>;
  /** Replaces the user's vote (1 or -1); 0 removes it. */
  vote(itemId: string, userId: string, vote: -1 | 0 | 1): Promise<void>;
  /** The user's votes by item id. */
  votesOf(userId: string): Promise<Map<string, number>>;
  /** The item's changes, oldest first. */
  history(itemId: string): Promise<MemoryHistoryEntry[]>;
  /** The content hash each upload had when it was last read, by path. */
  sourceHashes(): Promise<Map<string, string>>;
  /** One upload's new items, contributor merges and content hash, in one transaction. */
  recordExtraction(record: ExtractionRecord): Promise<void>;
}
