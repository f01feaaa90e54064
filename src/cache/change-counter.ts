/** Counts writes to a group of repositories, so caches over them know when to reload. */
export interface ChangeCounter {
  readonly value: number;
  bump(): void;
}

export function createChangeCounter(): ChangeCounter {
  let value = 0;
  return {
    get value() {
      return value;
    },
    bump() {
      value++;
    },
  };
}

/**
 * The repository with each named write method bumping `counter` once it has settled
 * (after a failure too: part of a write may have landed). Caches compare the counter
 * instead of asking the database on every request.
 *
 * @example syncState: countingWrites(createSyncStateRepository(db), ['recordSuccess', 'recordFailure', 'remove'], dataChanges)
 */
export function countingWrites<T extends object>(repo: T, methods: Array<keyof T>, counter: ChangeCounter): T {
  const wrapped: T = { ...repo };
  for (const name of methods) {
    const original = repo[name] as unknown as (...args: unknown[]) => Promise<unknown>;
    (wrapped as Record<keyof T, unknown>)[name] = function (this: T, ...args: unknown[]) {
      return original.apply(this, args).finally(() => counter.bump());
    };
  }
  return wrapped;
}
