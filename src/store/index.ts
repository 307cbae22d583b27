import type { Logger } from '../core/logger.ts';
import { migrate, type MigrateOptions } from './migrate.ts';
import { PostgresDb, type PostgresOptions } from './postgres.ts';
import { SqliteDb, type SqliteOptions } from './sqlite.ts';
import type { Db } from './types.ts';

export type { Db, Migration, Row, RunResult, SqlValue } from './types.ts';
export {
  migrate,
  loadMigrations,
  MIGRATIONS_DIR,
  MIGRATION_LOCK_KEY,
  type MigrateOptions,
} from './migrate.ts';
export { SqliteDb, openSqlite, sqlitePathProblem, type SqliteOptions } from './sqlite.ts';
export { PostgresDb, openPostgres, type PostgresOptions } from './postgres.ts';

export interface OpenStoreOptions {
  logger?: Logger;
  /** Skip migrations (tools that only read). Default false. */
  migrate?: boolean;
  /** Passed to migrate(): e.g. another `dir` in tests. */
  migrations?: Omit<MigrateOptions, 'logger'>;
  sqlite?: Omit<SqliteOptions, 'logger'>;
  postgres?: Omit<PostgresOptions, 'logger'>;
}

export type StoreTarget = { dialect: 'sqlite'; path: string } | { dialect: 'postgres'; url: string };

/**
 * Parses a store URL without ever echoing it (it may hold a password):
 * `sqlite::memory:`, `sqlite://./relative.db`, `sqlite:///absolute.db`, `sqlite:relative.db`,
 * `postgres://…`, `postgresql://…`.
 */
export function parseStoreUrl(url: string): StoreTarget {
  if (typeof url !== 'string' || url.trim() === '') {
    throw new Error(
      'Store URL is empty; expected sqlite::memory:, sqlite://./path.db, sqlite:///abs/path.db or postgres://…',
    );
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    throw new Error(
      'Store URL has no scheme; expected sqlite::memory:, sqlite://./path.db, sqlite:///abs/path.db or postgres://…',
    );
  }
  if (scheme === 'postgres' || scheme === 'postgresql') {
    if (!url.slice(scheme.length + 1).startsWith('//')) {
      throw new Error(
        `Store URL with scheme "${scheme}:" must look like ${scheme}://user:password@host:5432/database`,
      );
    }
    return { dialect: 'postgres', url };
  }
  if (scheme === 'sqlite') {
    let rest = url.slice('sqlite:'.length);
    if (rest === ':memory:' || rest === '//:memory:') return { dialect: 'sqlite', path: ':memory:' };
    if (rest.startsWith('//')) rest = rest.slice(2); // sqlite://./rel → ./rel, sqlite:///abs → /abs
    const q = rest.indexOf('?');
    if (q !== -1) rest = rest.slice(0, q);
    try {
      rest = decodeURIComponent(rest);
    } catch {
      throw new Error('Store URL with scheme "sqlite:" has a malformed %-escape in its path');
    }
    if (rest === '')
      throw new Error(
        'Store URL with scheme "sqlite:" has no path; use sqlite::memory: or sqlite://./path.db',
      );
    return { dialect: 'sqlite', path: rest };
  }
  throw new Error(`Unsupported store URL scheme "${scheme}:"; expected sqlite: or postgres:/postgresql:`);
}

/** Opens the store a URL names and applies pending migrations. */
export async function openStore(url: string, opts: OpenStoreOptions = {}): Promise<Db> {
  const target = parseStoreUrl(url);
  const withLogger = opts.logger ? { logger: opts.logger } : {};
  const db: Db =
    target.dialect === 'sqlite'
      ? new SqliteDb(target.path, { ...opts.sqlite, ...withLogger })
      : new PostgresDb(target.url, { ...opts.postgres, ...withLogger });
  if (opts.migrate === false) return db;
  try {
    await migrate(db, { ...opts.migrations, ...withLogger });
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
  return db;
}
