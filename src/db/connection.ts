import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';

/** Values bound to `?`/`$name` placeholders. Never build SQL from them. */
export type Params = Record<string, unknown> | unknown[];
export type Row = Record<string, unknown>;

/**
 * One DuckDB connection whose statements run one after another: a connection is not
 * meant for overlapping statements, and a queue also keeps multi-statement work
 * (transactions) from interleaving.
 */
export class SerialConnection {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;
  constructor(readonly conn: DuckDBConnection) {}

  get queued(): number {
    return this.pending;
  }

  /** Runs `fn` with exclusive use of the connection. */
  exclusive<T>(fn: (q: Queryable) => Promise<T>): Promise<T> {
    this.pending++;
    const result = this.tail.then(() => fn(new Queryable(this.conn)));
    this.tail = result.catch(() => {}).finally(() => this.pending--);
    return result;
  }

  close(): void {
    this.conn.closeSync();
  }
}

/** The statement helpers repositories use; every value is bound. */
export class Queryable {
  constructor(readonly conn: DuckDBConnection) {}

  async run(sql: string, params?: Params): Promise<void> {
    await this.conn.run(sql, params as Record<string, DuckDBValue> | DuckDBValue[] | undefined);
  }

  /** Rows as JSON-safe objects (BIGINT as string, TIMESTAMP as text). */
  async all<T = Row>(sql: string, params?: Params): Promise<T[]> {
    const reader = await this.conn.runAndReadAll(sql, params as Record<string, DuckDBValue> | undefined);
    return reader.getRowObjectsJson() as T[];
  }

  async one<T = Row>(sql: string, params?: Params): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  /** Runs `fn` inside BEGIN/COMMIT, rolling back on any error. */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    await this.conn.run('BEGIN TRANSACTION');
    try {
      const out = await fn();
      await this.conn.run('COMMIT');
      return out;
    } catch (err) {
      await this.conn.run('ROLLBACK').catch(() => {});
      throw err;
    }
  }
}

/** Quotes an identifier for the rare dynamic name (views, schemas); values are always bound. */
export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

/** Quotes a string literal for the few statements that take no parameters (e.g. CREATE VIEW). */
export function quoteLiteral(value: string): string {
  return "'" + value.replace(/'/g, "''") + "'";
}

/** DuckDB TIMESTAMP text ("2026-01-02 03:04:05.678") → ISO 8601 UTC. */
export function toIso(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const s = String(value);
  if (s.includes('T')) return s.endsWith('Z') ? s : s + 'Z';
  return s.replace(' ', 'T') + (s.includes('.') ? 'Z' : '.000Z');
}

/** Parses a BIGINT that getRowObjectsJson returned as a string. */
export function toNumber(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  return Number(value);
}
