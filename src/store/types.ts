/**
 * The one store interface. SQLite (embedded default) and PostgreSQL implement it
 * with the same SQL: write portable statements (TEXT, BIGINT, INTEGER 0/1 for
 * booleans, BIGINT epoch milliseconds for times, TEXT holding JSON) and `$1, $2…`
 * placeholders in both dialects (the SQLite adapter rewrites them).
 */
export type SqlValue = string | number | bigint | boolean | null | Uint8Array;

export type Row = Record<string, unknown>;

export interface RunResult {
  /** Rows inserted, updated or deleted. */
  changes: number;
}

export interface Db {
  readonly dialect: 'sqlite' | 'postgres';
  /** All rows of a query. BIGINT columns come back as JS numbers in both dialects. */
  query<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** The first row, or undefined. */
  one<T extends Row = Row>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** A statement without rows (INSERT/UPDATE/DELETE/DDL). */
  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult>;
  /**
   * Runs `fn` in one transaction: committed when it resolves, rolled back when it
   * throws. Transactions on one store are serialised on SQLite (one connection).
   */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  /**
   * Runs a script of one or more statements without parameters (migrations, DDL).
   * Optional so other implementations stay valid (they may also run it synchronously);
   * both built-in adapters implement it and return a promise.
   */
  exec?(sql: string): Promise<void> | void;
  /** Closes the store. Idempotent: later calls resolve at once. */
  close(): Promise<void>;
}

export interface Migration {
  /** Sortable id, e.g. `0001_core`. */
  id: string;
  /** Portable SQL, or one text per dialect where they must differ. */
  sql: string | { sqlite: string; postgres: string };
}
