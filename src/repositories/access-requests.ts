import type { MethodEffects } from '../cache/change-counter.ts';

export type AccessRequestStatus = 'pending' | 'approved' | 'denied';

/**
 * A user's request for read access to a dataset. `user` and `decided_by` are the emails of
 * the requester and of the admin who decided (the ids stay in the store).
 */
export interface AccessRequest {
  id: string;
  user: string;
  dataset: string;
  reason: string;
  status: AccessRequestStatus;
  note: string | null;
  created_at: string;
  decided_by: string | null;
  decided_at: string | null;
}

/** What a decision found: the request decided (with its requester's id), no such request, or one already decided. */
export type Decision = { ok: true; request: AccessRequest; userId: string } | { ok: false; reason: 'not_found' | 'not_pending'; request?: AccessRequest };

/** Requests for dataset access and their decisions. */
export interface AccessRequestsRepository {
  /**
   * Records a pending request unless the user already has one pending for the dataset (then
   * returns that one as `existing`); the check and the insert are one write.
   */
  createPending(input: { id: string; userId: string; dataset: string; reason: string }): Promise<{ created?: AccessRequest; existing?: AccessRequest }>;
  get(id: string): Promise<AccessRequest | undefined>;
  /** The user's requests, or everyone's; newest first. */
  list(filter: { userId?: string; status?: AccessRequestStatus }): Promise<AccessRequest[]>;
  /**
   * Approves a pending request and grants its user `read` on its dataset (replacing a
   * previous grant or denial), both in one transaction.
   */
  approve(id: string, deciderId: string): Promise<Decision>;
  /** Denies a pending request with a note. */
  deny(id: string, deciderId: string, note: string | null): Promise<Decision>;
}

/** `approve` writes a dataset grant: the access cache must reload (counted with the permissions). */
export const ACCESS_REQUESTS_METHODS = {
  createPending: 'write',
  get: 'read',
  list: 'read',
  approve: 'changes',
  deny: 'write',
} as const satisfies MethodEffects<AccessRequestsRepository>;
