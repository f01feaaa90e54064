import type { SystemDb } from './system.ts';

/** One answer of the state database to a trivial query. */
export interface LivenessCheck {
  status: 'ok' | 'failed';
  detail: string;
}

/** Whether the state database answers, as `/api/health` reports it. */
export interface StateDbLiveness {
  /** The latest probe's answer; waits for a fresh probe only when there is no trustworthy one. */
  check(): Promise<LivenessCheck>;
  stop(): void;
}

/**
 * Pings the state database on a timer (every `intervalMs`) instead of on every health
 * request, so `/api/health` answers from memory in one turn of the event loop: a request
 * that awaits a query waits for a full extra turn, and under download load a turn is long.
 * It stays honest: a failed ping is reported at once (and the next request pings again, so
 * a recovery shows as soon as it happens); with no answer yet, or none for `staleMs`, the
 * request pings itself (or joins the ping under way) and waits for it until that ping has
 * gone unanswered for `staleMs`, then reports the database failed (a hung database).
 */
export function createStateDbLiveness(
  db: Pick<SystemDb, 'ping' | 'schemaVersion'>,
  { intervalMs = 1000, staleMs = 5000 }: { intervalMs?: number; staleMs?: number } = {},
): StateDbLiveness {
  let last: (LivenessCheck & { at: number }) | undefined;
  let pending: { since: number; done: Promise<void> } | undefined;
  let stopped = false;

  function probe(): Promise<void> {
    if (pending) return pending.done;
    const since = performance.now();
    const done = db
      .ping()
      .then(
        () => ({ status: 'ok' as const, detail: `schema version ${db.schemaVersion}` }),
        (err: unknown) => ({ status: 'failed' as const, detail: err instanceof Error ? err.message : String(err) }),
      )
      .then((result) => {
        last = { ...result, at: performance.now() };
        pending = undefined;
      });
    pending = { since, done };
    return done;
  }

  const timer = setInterval(() => void probe(), intervalMs);
  timer.unref?.();
  void probe();

  return {
    async check() {
      if (stopped) return { status: 'failed', detail: 'the server is shutting down' };
      const now = performance.now();
      if (last?.status === 'ok' && now - last.at <= staleMs) return { status: 'ok', detail: last.detail };
      // No trustworthy answer: ping now (or join the ping under way), waiting no longer than
      // until that ping is overdue.
      const since = pending?.since ?? now;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const overdue = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, since + staleMs - now))));
      const answered = await Promise.race([probe().then(() => true as const), overdue]);
      clearTimeout(timer);
      if (!answered) {
        return { status: 'failed', detail: `the state database has not answered for ${((performance.now() - since) / 1000).toFixed(1)} s` };
      }
      return { status: last!.status, detail: last!.detail };
    },
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
