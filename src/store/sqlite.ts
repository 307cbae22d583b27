import { existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from '../core/logger.ts';
import { rewritePlaceholders } from './sql.ts';
import type { Db, Row, RunResult, SqlValue } from './types.ts';

/**
 * Why a SQLite database file cannot be opened or created at `path` (its directory is missing,
 * or the path is a directory), or undefined. Used by the store and by `rampart check`.
 */
export function sqlitePathProblem(path: string): string | undefined {
  const file = resolve(path);
  const dir = dirname(file);
  if (!existsSync(dir))
    return `the store's directory ${dir} does not exist (Rampart creates only the database file)`;
  if (!statSync(dir).isDirectory()) return `the store's directory ${dir} is not a directory`;
  if (existsSync(file) && statSync(file).isDirectory())
    return `the store path ${file} is a directory, not a database file`;
  return undefined;
}

export interface SqliteOptions {
  logger?: Logger;
  /** Prepared statements kept (LRU). Default 500. */
  statementCacheSize?: number;
  /** How long a write waits for another process's lock, in ms. Default 5000. */
  busyTimeoutMs?: number;
  /**
   * How long a call waits for a transaction of this process to release the connection,
   * in ms, before it is rejected. Default 5000. A call on the outer handle made from
   * inside `transaction()` would wait for itself; it fails after this time with advice
   * to use the tx handle.
   */
  lockTimeoutMs?: number;
}

interface Cached {
  stmt: Database.Statement;
  /** Which caller parameter each `?` takes; null = pass through. */
  order: number[] | null;
  maxIndex: number;
}

/** Parameters as better-sqlite3 binds them: booleans → 0/1, Uint8Array → Buffer, undefined → NULL. */
function toSqlite(v: SqlValue | undefined): unknown {
  if (v === undefined || v === null) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Uint8Array && !Buffer.isBuffer(v))
    return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return v;
}

/**
 * SQLite store on one better-sqlite3 connection (WAL, synchronous=NORMAL, foreign keys on).
 *
 * Concurrency: better-sqlite3 is synchronous, so a statement outside a transaction runs
 * at once. `transaction(fn)` takes an async mutex for its whole duration (BEGIN IMMEDIATE
 * … COMMIT/ROLLBACK); statements and transactions issued on this outer handle meanwhile
 * wait in FIFO order until it ends. Inside `fn`, use only the `tx` handle: calling the
 * outer handle from inside `fn` would wait for itself until `lockTimeoutMs` (5 s) and then
 * reject with an explanatory error. `tx.transaction()`
 * nests with a SAVEPOINT.
 */
export class SqliteDb implements Db {
  readonly dialect = 'sqlite' as const;
  /** The underlying connection, for tests and tools. Do not run BEGIN/COMMIT on it directly. */
  readonly conn: Database.Database;
  private readonly cache = new Map<string, Cached>();
  private readonly cacheSize: number;
  private readonly lockTimeoutMs: number;
  private locked = false;
  private readonly waiters: Array<() => void> = [];
  private spCounter = 0;
  private closed = false;
  private closing: Promise<void> | undefined;

  /**
   * @param path a file path, or `:memory:`. The file is created when missing; its directory
   * must exist (a typo in a store URL must not silently make directories and an empty database).
   */
  constructor(
    readonly path: string,
    opts: SqliteOptions = {},
  ) {
    const memory = path === ':memory:' || path === '';
    if (!memory) {
      const problem = sqlitePathProblem(path);
      if (problem) throw new Error(problem);
    }
    const busy = opts.busyTimeoutMs ?? 5000;
    this.conn = new Database(memory ? ':memory:' : path, { timeout: busy });
    this.conn.pragma('journal_mode = WAL');
    this.conn.pragma('synchronous = NORMAL');
    this.conn.pragma('foreign_keys = ON');
    this.conn.pragma(`busy_timeout = ${Math.max(0, Math.floor(busy))}`);
    this.cacheSize = Math.max(1, opts.statementCacheSize ?? 500);
    this.lockTimeoutMs = opts.lockTimeoutMs ?? 5000;
  }

  // ── Db ────────────────────────────────────────────────────────────────────

  query<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.outer(() => this.queryNow<T>(sql, params));
  }

  one<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return this.outer(() => this.oneNow<T>(sql, params));
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<RunResult> {
    return this.outer(() => this.runNow(sql, params));
  }

  exec(sql: string): Promise<void> {
    return this.outer(() => {
      this.conn.exec(sql);
    });
  }

  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    this.assertOpen();
    await this.acquire();
    const tx = new SqliteTx(this);
    try {
      this.conn.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(tx);
        this.conn.exec('COMMIT');
        return result;
      } catch (err) {
        if (this.conn.inTransaction) this.conn.exec('ROLLBACK');
        throw err;
      }
    } finally {
      tx.done = true;
      this.release();
    }
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    // Let queued work (taken before close) finish, then close the connection.
    this.closing = (async () => {
      if (this.locked) await this.acquire();
      this.cache.clear();
      if (this.conn.open) this.conn.close();
    })();
    return this.closing;
  }

  // ── internals shared with SqliteTx ───────────────────────────────────────

  /** @internal */
  queryNow<T>(sql: string, params: readonly SqlValue[]): T[] {
    const c = this.prepared(sql, params);
    const args = this.bind(c, params);
    if (!c.stmt.reader) {
      c.stmt.run(...args);
      return [];
    }
    return c.stmt.all(...args) as T[];
  }

  /** @internal */
  oneNow<T>(sql: string, params: readonly SqlValue[]): T | undefined {
    const c = this.prepared(sql, params);
    const args = this.bind(c, params);
    if (!c.stmt.reader) {
      c.stmt.run(...args);
      return undefined;
    }
    return c.stmt.get(...args) as T | undefined;
  }

  /** @internal */
  runNow(sql: string, params: readonly SqlValue[]): RunResult {
    const c = this.prepared(sql, params);
    const info = c.stmt.run(...this.bind(c, params));
    return { changes: info.changes };
  }

  /** @internal */
  async savepoint<T>(parent: SqliteTx, fn: (tx: Db) => Promise<T>): Promise<T> {
    parent.assertActive();
    const name = `rampart_sp_${++this.spCounter}`;
    this.conn.exec(`SAVEPOINT ${name}`);
    const child = new SqliteTx(this);
    try {
      const result = await fn(child);
      this.conn.exec(`RELEASE ${name}`);
      return result;
    } catch (err) {
      if (this.conn.inTransaction) {
        this.conn.exec(`ROLLBACK TO ${name}`);
        this.conn.exec(`RELEASE ${name}`);
      }
      throw err;
    } finally {
      // Everything after `await fn` is synchronous: no call can slip in before this.
      child.done = true;
    }
  }

  // ── private ──────────────────────────────────────────────────────────────

  private assertOpen(): void {
    if (this.closed) throw new Error('The SQLite store is closed');
  }

  /** Runs `op` now when no transaction holds the connection, else after it (FIFO). */
  private async outer<T>(op: () => T): Promise<T> {
    this.assertOpen();
    if (!this.locked) return op();
    await this.acquire();
    try {
      return op();
    } finally {
      this.release();
    }
  }

  /**
   * Takes the connection (FIFO). No AsyncLocalStorage to detect a self-wait: in Node 20
   * it installs promise hooks for the whole process, a measurable tax on every promise
   * of the gateway's hot path; the lock-wait timeout turns that mistake into a clear error.
   */
  private acquire(): Promise<void> {
    if (!this.locked) {
      this.locked = true;
      return Promise.resolve();
    }
    return new Promise<void>((resolveWait, reject) => {
      const waiter = () => {
        clearTimeout(timer);
        resolveWait();
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i !== -1) this.waiters.splice(i, 1);
        reject(
          new Error(
            `waited ${this.lockTimeoutMs} ms for a transaction to release the SQLite connection; if this call is inside ` +
              'db.transaction(), use the tx handle passed to the callback (the outer handle waits for the transaction to end)',
          ),
        );
      }, this.lockTimeoutMs);
      timer.unref();
      this.waiters.push(waiter);
    });
  }

  private release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.locked = false;
  }

  private prepared(sql: string, params: readonly SqlValue[]): Cached {
    let c = this.cache.get(sql);
    if (c) {
      // Refresh LRU position.
      this.cache.delete(sql);
      this.cache.set(sql, c);
    } else {
      const rw = rewritePlaceholders(sql);
      c = { stmt: this.conn.prepare(rw.sql), order: rw.order, maxIndex: rw.maxIndex };
      this.cache.set(sql, c);
      if (this.cache.size > this.cacheSize) {
        const oldest = this.cache.keys().next().value;
        if (oldest !== undefined) this.cache.delete(oldest);
      }
    }
    if (params.length < c.maxIndex) {
      throw new RangeError(`SQL uses $${c.maxIndex} but only ${params.length} parameter(s) were given`);
    }
    return c;
  }

  private bind(c: Cached, params: readonly SqlValue[]): unknown[] {
    if (c.order) return c.order.map((i) => toSqlite(params[i]));
    return params.map(toSqlite);
  }
}

/** The handle a SQLite transaction callback receives. Valid only until the callback settles. */
class SqliteTx implements Db {
  readonly dialect = 'sqlite' as const;
  done = false;
  constructor(private readonly owner: SqliteDb) {}

  assertActive(): void {
    if (this.done) throw new Error('This transaction has already finished; its handle can no longer be used');
  }

  async query<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    this.assertActive();
    return this.owner.queryNow<T>(sql, params);
  }

  async one<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    this.assertActive();
    return this.owner.oneNow<T>(sql, params);
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<RunResult> {
    this.assertActive();
    return this.owner.runNow(sql, params);
  }

  async exec(sql: string): Promise<void> {
    this.assertActive();
    this.owner.conn.exec(sql);
  }

  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    return this.owner.savepoint(this, fn);
  }

  async close(): Promise<void> {
    throw new Error('close() is not available on a transaction handle; close the store instead');
  }
}

/** Opens a SQLite store at a file path or `:memory:` (no migrations; see openStore). */
export function openSqlite(path: string, opts: SqliteOptions = {}): SqliteDb {
  return new SqliteDb(path, opts);
}
