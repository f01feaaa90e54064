/** The argon2id cost of new hashes (config `auth.password_hash`). */
export interface PasswordCost {
  memory_kib: number;
  time_cost: number;
}

/** Bun's argon2id defaults: what production uses. */
export const DEFAULT_PASSWORD_COST: PasswordCost = { memory_kib: 65536, time_cost: 2 };

/** Password hashing with argon2id (Bun.password); the cost is stored in the hash itself. */
export function hashPassword(password: string, cost: PasswordCost = DEFAULT_PASSWORD_COST): Promise<string> {
  return Bun.password.hash(password, { algorithm: 'argon2id', memoryCost: cost.memory_kib, timeCost: cost.time_cost });
}

export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  try {
    return await Bun.password.verify(password, hash);
  } catch {
    return false;
  }
}

const decoys = new Map<string, Promise<string>>();

/**
 * A hash of nothing at `cost`, checked when an email is unknown so that answer takes as
 * long as a wrong password for a real user (made once per cost, so even the first
 * unknown-email answer is not faster).
 */
export function decoyHash(cost: PasswordCost): Promise<string> {
  const key = `${cost.memory_kib}:${cost.time_cost}`;
  let decoy = decoys.get(key);
  if (!decoy) {
    decoy = hashPassword(crypto.randomUUID(), cost);
    decoys.set(key, decoy);
  }
  return decoy;
}
