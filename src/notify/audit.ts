import type { EventBus, DomainEvent } from '../events.ts';
import type { AuditRepository } from '../repositories/audit.ts';
import { newId } from '../auth/secrets.ts';

/** What a domain event leaves in the audit trail: the resource it concerns, its outcome and details. */
function describe(e: DomainEvent): { resource: string; result: 'ok' | 'error'; params: unknown } {
  switch (e.type) {
    case 'sync.finished':
      return { resource: `sync/jobs/${e.jobId}`, result: 'ok', params: { tables: e.tableIds, failed: e.failedTableIds } };
    case 'sync.failed':
      return { resource: `sync/jobs/${e.jobId}`, result: 'error', params: { error: e.error, tables: e.tableIds, failed: e.failedTableIds } };
    case 'job.finished':
      return { resource: `jobs/${e.name}/runs/${e.runId}`, result: e.status === 'succeeded' ? 'ok' : 'error', params: { error: e.error } };
    case 'access.requested':
      return { resource: `access-requests/${e.requestId}`, result: 'ok', params: { user: e.userId, dataset: e.dataset, reason: e.reason } };
    case 'access.granted':
      return { resource: `access-requests/${e.requestId}`, result: 'ok', params: { user: e.userId, dataset: e.dataset, decided_by: e.decidedBy } };
    case 'access.denied':
      return { resource: `access-requests/${e.requestId}`, result: 'ok', params: { user: e.userId, dataset: e.dataset, decided_by: e.decidedBy, note: e.note } };
    case 'script.finished':
    case 'script.failed':
      return {
        resource: `scripts/${e.scriptId}/runs/${e.runId}`, result: e.type === 'script.finished' ? 'ok' : 'error',
        params: { name: e.name, owner: e.owner, status: e.status, exit_code: e.exitCode, duration_ms: e.durationMs, reason: e.reason },
      };
    case 'memory.status_changed':
      return { resource: `memory/${e.itemId}`, result: 'ok', params: { from: e.from, to: e.to, by: e.by, note: e.note } };
  }
}

/**
 * Writes every domain event to the audit trail as an action of the server itself (no
 * user, no request): what the server did on its own (scheduled syncs, jobs) is audited
 * like what users ask of it. Returns the function that stops listening.
 */
export function auditDomainEvents(events: EventBus, audit: AuditRepository): () => void {
  return events.on('*', (e) => {
    const { resource, result, params } = describe(e);
    return audit.append(
      { id: newId(), timestamp: e.at, request_id: null, user_id: null, action: e.type, resource, params, result, status: null, duration_ms: null, ip: null },
      { urgent: result === 'error' },
    );
  });
}
