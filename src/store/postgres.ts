import pg from 'pg';
import type { Logger } from '../core/logger.ts';
import type { Db, Row, RunResult, SqlValue } from './types.ts';

export interface PostgresOptions {
  logger?: Logger;
  /** Pool size. Default 10. */
  max?: number;
  /** Extra pg pool settings (ssl, timeouts…); `connectionString` and `types` are set by the adapter. */
  pool?: Omit<pg.PoolConfig, 'connectionString' | 'types'>;
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;
const INT8_ARRAY_OID = 1016;
const toNumber = (v: string): number => Number(v);

/**
 * Per-pool type parsers: BIGINT (COUNT(*), epoch ms) and NUMERIC (SUM of BIGINT)
 * come back as JS numbers, like SQLite returns them. Values beyond 2^53 lose
 * precision, as they would in SQLite. The global `pg.types` registry is not touched.
 */
const typeParsers = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): unknown {
    if (format !== 'binary') {
      if (oid === INT8_OID || oid === NUMERIC_OID) return toNumber;
      if (oid === INT8_ARRAY_OID) {
        const parseArray = (pg.types.getTypeParser as (oid: number, format: string) => unknown)(
          INT8_ARRAY_OID,
          'text',
        ) as (v: string) => unknown[];
        return (v: string) => parseArray(v).map((x) => (x === null ? null : Number(x)));
      }
    }
    return format === 'binary' ? pg.types.getTypeParser(oid, 'binary') : pg.types.getTypeParser(oid, 'text');
  },
} as unknown as pg.CustomTypesConfig;

/** Parameters as the portable schema expects them: booleans → 0/1, bigint → text, bytes → Buffer. */
function toPg(params: readonly SqlValue[]): unknown[] {
  return params.map((v) => {
    if (v === undefined || v === null) return null;
    if (typeof v === 'boolean') return v ? 1 : 0;
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Uint8Array && !Buffer.isBuffer(v))
      return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    return v;
  });
}

type Queryable = pg.Pool | pg.PoolClient;

/**
 * One statement through the extended protocol, even without parameters: PostgreSQL
 * then refuses stacked statements ("SELECT 1; DROP …"), as SQLite's prepare does.
 * Scripts go through exec() (simple-query protocol).
 */
async function q<T>(
  on: Queryable,
  sql: string,
  params: readonly SqlValue[],
): Promise<pg.QueryResult<T & pg.QueryResultRow>> {
  // `queryMode` is supported by pg 8 but missing from @types/pg.
  const config = { text: sql, values: toPg(params), queryMode: 'extended' } as pg.QueryConfig;
  return on.query<T & pg.QueryResultRow>(config);
}

/** PostgreSQL store on a `pg` Pool. Each transaction gets its own pooled client. */
export class PostgresDb implements Db {
  readonly dialect = 'postgres' as const;
  readonly pool: pg.Pool;
  private closing: Promise<void> | undefined;
  private spCounter = 0;

  constructor(url: string, opts: PostgresOptions = {}) {
    this.pool = new pg.Pool({
      ...opts.pool,
      connectionString: url,
      max: opts.max ?? opts.pool?.max ?? 10,
      types: typeParsers,
    });
    const logger = opts.logger;
    // An idle client losing its connection must not crash the process.
    this.pool.on('error', (err) => {
      logger?.error(
        { err: { message: err.message, code: (err as { code?: string }).code } },
        'postgres pool client error',
      );
    });
  }

  async query<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    this.assertOpen();
    return (await q<T>(this.pool, sql, params)).rows;
  }

  async one<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    this.assertOpen();
    return (await q<T>(this.pool, sql, params)).rows[0];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<RunResult> {
    this.assertOpen();
    return { changes: (await q(this.pool, sql, params)).rowCount ?? 0 };
  }

  /** Simple-query protocol: several statements, no parameters. */
  async exec(sql: string): Promise<void> {
    this.assertOpen();
    await this.pool.query(sql);
  }

  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    this.assertOpen();
    const client = await this.pool.connect();
    const tx = new PostgresTx(this, client);
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      try {
        const result = await fn(tx);
        tx.done = true;
        await client.query('COMMIT');
        return result;
      } catch (err) {
        tx.done = true;
        try {
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          broken = rollbackErr as Error;
        }
        throw err;
      }
    } finally {
      tx.done = true;
      // A client whose ROLLBACK failed is destroyed rather than reused.
      client.release(broken ?? false);
    }
  }

  close(): Promise<void> {
    this.closing ??= this.pool.end();
    return this.closing;
  }

  /** @internal */
  async savepoint<T>(parent: PostgresTx, fn: (tx: Db) => Promise<T>): Promise<T> {
    parent.assertActive();
    const name = `rampart_sp_${++this.spCounter}`;
    await parent.client.query(`SAVEPOINT ${name}`);
    const child = new PostgresTx(this, parent.client);
    try {
      const result = await fn(child);
      child.done = true;
      await parent.client.query(`RELEASE SAVEPOINT ${name}`);
      return result;
    } catch (err) {
      child.done = true;
      await parent.client.query(`ROLLBACK TO SAVEPOINT ${name}`);
      await parent.client.query(`RELEASE SAVEPOINT ${name}`);
      throw err;
    }
  }

  private assertOpen(): void {
    if (this.closing) throw new Error('The PostgreSQL store is closed');
  }
}

/** The handle a PostgreSQL transaction callback receives. Valid only until the callback settles. */
class PostgresTx implements Db {
  readonly dialect = 'postgres' as const;
  done = false;
  constructor(
    private readonly owner: PostgresDb,
    readonly client: pg.PoolClient,
  ) {}

  assertActive(): void {
    if (this.done) throw new Error('This transaction has already finished; its handle can no longer be used');
  }

  async query<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    this.assertActive();
    return (await q<T>(this.client, sql, params)).rows;
  }

  async one<T extends Row = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    this.assertActive();
    return (await q<T>(this.client, sql, params)).rows[0];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<RunResult> {
    this.assertActive();
    return { changes: (await q(this.client, sql, params)).rowCount ?? 0 };
  }

  async exec(sql: string): Promise<void> {
    this.assertActive();
    await this.client.query(sql);
  }

  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    return this.owner.savepoint(this, fn);
  }

  async close(): Promise<void> {
    throw new Error('close() is not available on a transaction handle; close the store instead');
  }
}

/** Opens a PostgreSQL store (no migrations; see openStore). */
export function openPostgres(url: string, opts: PostgresOptions = {}): PostgresDb {
  return new PostgresDb(url, opts);
}
