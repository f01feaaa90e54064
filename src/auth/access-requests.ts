import type { AuthUser } from '../context.ts';
import type { Config } from '../config.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import type { EventBus } from '../events.ts';
import type { AccessRequest, AccessRequestsRepository, AccessRequestStatus, Decision } from '../repositories/access-requests.ts';
import type { PermissionsRepository } from '../repositories/permissions.ts';
import { newId } from './secrets.ts';
import { datasetAccess } from './datasets.ts';
import type { Actor } from './users.ts';

/**
 * Access requests: a signed-in user asks for read on a configured dataset they cannot read;
 * an admin approves (the grant and the status change are one transaction) or denies with a
 * note. The API routes (src/api/access-requests.ts) and the pages (src/web/catalog.tsx,
 * src/web/admin/access.tsx) call these, so both refuse the same things.
 */
export interface AccessRequestDeps {
  accessRequests: AccessRequestsRepository;
  permissions: Pick<PermissionsRepository, 'readableDatasets' | 'deniedDatasets'>;
  sources: Config['sources'];
  events: EventBus;
}

/**
 * Records a pending request. An unknown dataset is NotFoundError (404); a dataset the user
 * can already read, or one they already have a pending request for, is ConflictError (409).
 */
export async function requestAccess(deps: AccessRequestDeps, user: AuthUser, input: { dataset: string; reason: string }): Promise<AccessRequest> {
  const { dataset, reason } = input;
  if (!Object.hasOwn(deps.sources, dataset)) throw new NotFoundError(`no dataset named ${dataset}`);
  const rule = await datasetAccess({ permissions: deps.permissions, sources: deps.sources }, user);
  if (rule.canRead(dataset)) throw new ConflictError(`you can already read dataset ${dataset}; there is nothing to request`);
  const { created, existing } = await deps.accessRequests.createPending({ id: newId(), userId: user.id, dataset, reason });
  if (!created) throw new ConflictError(`you already have a pending request for dataset ${dataset} (${existing?.id})`);
  deps.events.emit({ type: 'access.requested', at: new Date().toISOString(), requestId: created.id, userId: user.id, dataset, reason });
  return created;
}

export function listMyRequests(deps: Pick<AccessRequestDeps, 'accessRequests'>, user: AuthUser): Promise<AccessRequest[]> {
  return deps.accessRequests.list({ userId: user.id });
}

export function listRequests(deps: Pick<AccessRequestDeps, 'accessRequests'>, status?: AccessRequestStatus): Promise<AccessRequest[]> {
  return deps.accessRequests.list({ status });
}

function decided(d: Decision, id: string): { request: AccessRequest; userId: string } {
  if (d.ok) return d;
  if (d.reason === 'not_found') throw new NotFoundError(`access request ${id} not found`);
  throw new ConflictError(`access request ${id} is already ${d.request?.status ?? 'decided'}`);
}

/** Approves a pending request: grants its user read on the dataset, in one transaction with the status change. */
export async function approveRequest(deps: AccessRequestDeps, actor: Actor, id: string): Promise<AccessRequest> {
  const { request, userId } = decided(await deps.accessRequests.approve(id, actor.id), id);
  deps.events.emit({ type: 'access.granted', at: new Date().toISOString(), requestId: id, userId, dataset: request.dataset, decidedBy: actor.id });
  return request;
}

/** Denies a pending request with a note for the requester. */
export async function denyRequest(deps: AccessRequestDeps, actor: Actor, id: string, note: string | null): Promise<AccessRequest> {
  const { request, userId } = decided(await deps.accessRequests.deny(id, actor.id, note), id);
  deps.events.emit({ type: 'access.denied', at: new Date().toISOString(), requestId: id, userId, dataset: request.dataset, decidedBy: actor.id, note });
  return request;
}

