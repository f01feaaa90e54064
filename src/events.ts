import { silentLogger, type Logger } from './log.ts';

/**
 * What happened in the domain, for whoever listens (audit, the WebSocket hub, Telegram).
 * Domain code emits; it never imports a transport. `at` is an ISO timestamp.
 */
export type DomainEvent =
  | { type: 'sync.finished'; at: string; jobId: string; tableIds: string[]; failedTableIds: string[] }
  | { type: 'sync.failed'; at: string; jobId: string; error: string; tableIds: string[]; failedTableIds: string[] }
  | { type: 'job.finished'; at: string; name: string; runId: string; status: 'succeeded' | 'failed'; error: string | null }
  | { type: 'access.requested'; at: string; requestId: string; userId: string; dataset: string; reason: string }
  | { type: 'access.granted'; at: string; requestId: string; userId: string; dataset: string; decidedBy: string }
  | { type: 'access.denied'; at: string; requestId: string; userId: string; dataset: string; decidedBy: string; note: string | null }
  | ScriptRunEvent<'script.finished'>
  | ScriptRunEvent<'script.failed'>
  | {
      type: 'memory.status_changed'; at: string; itemId: string; title: string;
      from: string; to: string; by: string; note: string | null;
      /** Who contributed the item: they are told about its fate. */
      contributors: string[];
    };

/** A script run that ended: `script.finished` when it succeeded, `script.failed` otherwise. */
export interface ScriptRunEvent<T extends 'script.finished' | 'script.failed'> {
  type: T;
  at: string;
  scriptId: string;
  name: string;
  /** The owner's user id: the one notified. */
  owner: string;
  runId: string;
  status: 'succeeded' | 'failed' | 'timed_out' | 'killed';
  exitCode: number | null;
  durationMs: number;
  /** Why it failed, in words (null when it succeeded). */
  reason: string | null;
}

export type EventType = DomainEvent['type'];
export type EventOf<T extends EventType> = Extract<DomainEvent, { type: T }>;

/** One bus per server: `emit` never throws and never waits for listeners. */
export interface EventBus {
  emit(event: DomainEvent): void;
  /** Listens to one type (or `*` for all); returns a function that stops listening. */
  on<T extends EventType>(type: T, listener: (event: EventOf<T>) => unknown): () => void;
  on(type: '*', listener: (event: DomainEvent) => unknown): () => void;
}

/**
 * A synchronous in-process bus. A listener that throws (or rejects) is logged and does not
 * stop the others or the emitter.
 *
 * @example
 * const events = createEventBus(logger)
 * events.on('sync.finished', (e) => hub.broadcast(e))
 * events.emit({ type: 'sync.finished', at: new Date().toISOString(), jobId, tableIds, failedTableIds: [] })
 */
export function createEventBus(logger: Logger = silentLogger): EventBus {
  const listeners = new Map<string, Set<(event: DomainEvent) => unknown>>();
  const report = (event: DomainEvent, err: unknown) =>
    logger.error('event listener failed', { event: event.type, error: err instanceof Error ? err.message : String(err) });
  return {
    emit(event) {
      for (const key of [event.type, '*']) {
        for (const listener of listeners.get(key) ?? []) {
          try {
            const result = listener(event);
            if (result instanceof Promise) result.catch((err) => report(event, err));
          } catch (err) {
            report(event, err);
          }
        }
      }
    },
    on(type: string, listener: (event: never) => unknown) {
      const set = listeners.get(type) ?? new Set();
      listeners.set(type, set);
      const l = listener as (event: DomainEvent) => unknown;
      set.add(l);
      return () => void set.delete(l);
    },
  };
}
