import type { DomainEvent, EventOf } from '../events.ts';
import type { NotificationEvent } from '../repositories/notifications.ts';

/**
 * What a recipient is sent: `{type, at, …}` in snake_case like the API. Sync messages name
 * only the tables the recipient may read (`tables`, `failed_tables`).
 */
export type NotificationMessage =
  | { type: 'sync.finished' | 'sync.failed'; at: string; job_id: string; tables: string[]; failed_tables: string[]; error?: string }
  | {
      type: 'script.finished' | 'script.failed'; at: string; script_id: string; name: string; run_id: string;
      status: string; exit_code: number | null; duration_ms: number; reason: string | null;
    }
  | { type: 'memory.status_changed'; at: string; item_id: string; title: string; from: string; to: string; note: string | null }
  | { type: 'access.granted'; at: string; request_id: string; dataset: string };

/** The events users are notified of, with their message builders. */
export type NotifiedEvent = EventOf<NotificationEvent>;

export function isNotified(e: DomainEvent): e is NotifiedEvent {
  return ['sync.finished', 'sync.failed', 'script.finished', 'script.failed', 'memory.status_changed', 'access.granted'].includes(e.type);
}

/** The message of an event; for sync events, `readable` picks the tables the recipient may see. */
export function messageOf(e: NotifiedEvent, readable: (tableId: string) => boolean = () => true): NotificationMessage {
  switch (e.type) {
    case 'sync.finished':
      return { type: e.type, at: e.at, job_id: e.jobId, tables: e.tableIds.filter(readable), failed_tables: e.failedTableIds.filter(readable) };
    case 'sync.failed':
      return {
        type: e.type, at: e.at, job_id: e.jobId, tables: e.tableIds.filter(readable), failed_tables: e.failedTableIds.filter(readable), error: e.error,
      };
    case 'script.finished':
    case 'script.failed':
      return {
        type: e.type, at: e.at, script_id: e.scriptId, name: e.name, run_id: e.runId, status: e.status,
        exit_code: e.exitCode, duration_ms: e.durationMs, reason: e.reason,
      };
    case 'memory.status_changed':
      return { type: e.type, at: e.at, item_id: e.itemId, title: e.title, from: e.from, to: e.to, note: e.note };
    case 'access.granted':
      return { type: e.type, at: e.at, request_id: e.requestId, dataset: e.dataset };
  }
}

const list = (ids: string[], most = 20) => (ids.length > most ? `${ids.slice(0, most).join(', ')} and ${ids.length - most} more` : ids.join(', '));

/** The message as plain text for a chat (Telegram). */
export function textOf(m: NotificationMessage): string {
  switch (m.type) {
    case 'sync.finished': {
      const failed = m.failed_tables.length ? `\nFailed: ${list(m.failed_tables)}` : '';
      return `✅ Sync finished: ${m.tables.length} table${m.tables.length === 1 ? '' : 's'} updated${m.tables.length ? ` (${list(m.tables)})` : ''}.${failed}`;
    }
    case 'sync.failed':
      return `❌ Sync failed: ${m.error ?? 'unknown error'}${m.failed_tables.length ? `\nFailed: ${list(m.failed_tables)}` : ''}`;
    case 'script.finished':
      return `✅ Script ${m.name} finished in ${(m.duration_ms / 1000).toFixed(1)} s (run ${m.run_id}).`;
    case 'script.failed':
      return `❌ Script ${m.name} ${m.status.replace('_', ' ')}${m.exit_code !== null ? ` (exit ${m.exit_code})` : ''}: ${m.reason ?? 'no reason given'} (run ${m.run_id}).`;
    case 'memory.status_changed':
      return `📝 Your knowledge item "${m.title}" is now ${m.to} (was ${m.from}).${m.note ? `\nNote: ${m.note}` : ''}`;
    case 'access.granted':
      return `🔓 You may now read the dataset ${m.dataset}. Run da sync to fetch it.`;
  }
}

/** Telegram's limit on one message's text. */
export const TELEGRAM_MAX_MESSAGE = 4096;

/**
 * Cuts a text into parts of at most `limit` characters, at line breaks where it can (else
 * at spaces, else anywhere), so each part can be sent as one message.
 */
export function splitMessage(text: string, limit = TELEGRAM_MAX_MESSAGE): string[] {
  const parts: string[] = [];
  let rest = text;
  while (rest.length > limit) {
    const window = rest.slice(0, limit);
    let cut = window.lastIndexOf('\n');
    if (cut < limit / 2) cut = window.lastIndexOf(' ');
    if (cut < limit / 2) {
      cut = limit;
      // Never between the two halves of a character outside the BMP (an emoji).
      const code = rest.charCodeAt(cut - 1);
      if (code >= 0xd800 && code <= 0xdbff) cut--;
    }
    parts.push(rest.slice(0, cut));
    rest = rest.slice(cut).replace(/^[\n ]/, '');
  }
  if (rest.length || !parts.length) parts.push(rest);
  return parts;
}
