export type KnowledgeStatus = 'pending' | 'approved' | 'mandatory' | 'rejected';

export interface KnowledgeItem {
  id: string;
  title: string;
  content: string | null;
  category: string | null;
  tags: string[];
  status: KnowledgeStatus;
  contributors: string[];
  source_user: string | null;
  audience: string | null;
  created_at: string | null;
  updated_at: string | null;
  /** Sum of the votes (+1/-1) cast on the item. */
  score: number;
}

/** Corporate memory: knowledge items and their votes. */
export interface KnowledgeRepository {
  /** Newest first. */
  list(f?: { status?: KnowledgeStatus; category?: string }): Promise<KnowledgeItem[]>;
  get(id: string): Promise<KnowledgeItem | undefined>;
  /** Creates a `pending` item; its source user (if any) is its first contributor. */
  create(i: {
    id: string; title: string; content?: string | null; category?: string | null; tags?: string[];
    sourceUser?: string | null; audience?: string | null;
  }): Promise<KnowledgeItem>;
  setStatus(id: string, status: KnowledgeStatus): Promise<void>;
  /** One vote per user and item: voting again replaces the user's vote. */
  vote(itemId: string, userId: string, vote: 1 | -1): Promise<void>;
}
