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
 * What each method of a repository does to what a cache over it holds: `read`, `write`
 * (changes state no cache holds), or `changes` (the cache must reload). A complete record
 * by type: every method must be listed, so a new method cannot be added without deciding.
 */
export type MethodEffects<T> = { readonly [K in keyof T]-?: 'read' | 'write' | 'changes' };

/**
 * The repository with each method that `effects` marks `changes` bumping `counter` once it
 * has settled (after a failure too: part of a write may have landed). Caches compare the
 * counter instead of asking the database on every request.
 *
 * @example profiles: countingWrites(repos.profiles, PROFILES_METHODS, dataChanges)
 */
export function countingWrites<T extends object>(repo: T, effects: MethodEffects<T>, counter: ChangeCounter): T {
  const wrapped: T = { ...repo };
  for (const name of Object.keys(effects) as Array<keyof T>) {
    if (effects[name] !== 'changes') continue;
    const original = repo[name] as unknown as (...args: unknown[]) => Promise<unknown>;
    (wrapped as Record<keyof T, unknown>)[name] = function (this: T, ...args: unknown[]) {
      return original.apply(this, args).finally(() => counter.bump());
    };
  }
  return wrapped;
}
