import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../core/logger.ts';
import { splitStatements } from './sql.ts';
import type { Db, Migration } from './types.ts';

/**
 * The folder shipped migrations live in: next to this module when running from
 * source; from a build in dist/store/ (where tsc does not copy .sql files) it falls
 * back to the package's src/store/migrations/.
 */
export const MIGRATIONS_DIR: string = (() => {
  const here = fileURLToPath(new URL('./migrations/', import.meta.url));
  const fromDist = fileURLToPath(new URL('../../src/store/migrations/', import.meta.url));
  return existsSync(here) || !existsSync(fromDist) ? here : fromDist;
})();

/**
 * Key of the PostgreSQL transaction-scoped advisory lock that serialises migration
 * runs across processes ("rampart:migrate" as a stable 32-bit number).
 */
export const MIGRATION_LOCK_KEY = 0x5241_4d50; // "RAMP"

const FILE_RE = /^(\d{4})_([A-Za-z0-9][A-Za-z0-9_-]*?)(?:\.(sqlite|postgres))?\.sql$/;

/**
 * Reads `NNNN_name.sql` (portable) and `NNNN_name.sqlite.sql` + `NNNN_name.postgres.sql`
 * (per dialect) files from `dir`, sorted by id. A missing folder is an error. Other files (README.md…) are ignored;
 * a `.sql` file whose name does not follow the pattern is an error, as is a dialect
 * file without its twin or a portable file next to dialect files with the same id.
 */
export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    // Never start against an unmigrated schema because a folder went missing.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error(`Migrations folder not found: ${dir}`);
    throw err;
  }
  const byId = new Map<string, { portable?: string; sqlite?: string; postgres?: string }>();
  for (const name of names) {
    if (!name.endsWith('.sql')) continue;
    const m = FILE_RE.exec(name);
    if (!m) {
      throw new Error(
        `Migration file "${name}" is not named NNNN_name.sql, NNNN_name.sqlite.sql or NNNN_name.postgres.sql`,
      );
    }
    const id = `${m[1]}_${m[2]}`;
    const entry = byId.get(id) ?? {};
    const text = readFileSync(join(dir, name), 'utf8');
    const dialect = m[3] as 'sqlite' | 'postgres' | undefined;
    if (dialect) entry[dialect] = text;
    else entry.portable = text;
    byId.set(id, entry);
  }
  const out: Migration[] = [];
  for (const id of [...byId.keys()].sort()) {
    const e = byId.get(id)!;
    if (e.portable !== undefined) {
      if (e.sqlite !== undefined || e.postgres !== undefined) {
        throw new Error(
          `Migration ${id} has both a portable .sql file and dialect-specific files; keep one form`,
        );
      }
      out.push({ id, sql: e.portable });
    } else if (e.sqlite === undefined || e.postgres === undefined) {
      const missing = e.sqlite === undefined ? 'sqlite' : 'postgres';
      throw new Error(`Migration ${id} lacks its ${id}.${missing}.sql twin (dialect files come in pairs)`);
    } else {
      out.push({ id, sql: { sqlite: e.sqlite, postgres: e.postgres } });
    }
  }
  return out;
}

export interface MigrateOptions {
  /** Folder to read; defaults to the shipped `src/store/migrations/`. */
  dir?: string;
  /** Migrations given directly (instead of reading `dir`). */
  migrations?: readonly Migration[];
  logger?: Logger;
  /** Clock for `applied_at`; defaults to Date.now. */
  now?: () => number;
}

async function execScript(tx: Db, sql: string): Promise<void> {
  if (tx.exec) {
    await tx.exec(sql);
    return;
  }
  for (const stmt of splitStatements(sql)) await tx.run(stmt);
}

const CREATE_TABLE =
  'CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)';

/**
 * Applies pending migrations in lexical id order, each in its own transaction, and
 * records them in `schema_migrations`. Idempotent. On PostgreSQL every step first
 * takes `pg_advisory_xact_lock`, so two processes starting together never both apply
 * one migration (the second waits, then sees it recorded). Returns the ids applied.
 */
export async function migrate(db: Db, opts: MigrateOptions = {}): Promise<string[]> {
  const migrations = [...(opts.migrations ?? loadMigrations(opts.dir))].sort((a, b) =>
    a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
  );
  const now = opts.now ?? Date.now;
  const lock = async (tx: Db): Promise<void> => {
    if (tx.dialect === 'postgres') await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
  };

  await db.transaction(async (tx) => {
    await lock(tx);
    await tx.run(CREATE_TABLE);
  });
  const done = new Set((await db.query<{ id: string }>('SELECT id FROM schema_migrations')).map((r) => r.id));

  const applied: string[] = [];
  for (const m of migrations) {
    if (done.has(m.id)) continue;
    const sql = typeof m.sql === 'string' ? m.sql : m.sql[db.dialect];
    const ran = await db.transaction(async (tx) => {
      await lock(tx);
      // Another process may have applied it while we waited for the lock.
      if (await tx.one('SELECT id FROM schema_migrations WHERE id = $1', [m.id])) return false;
      try {
        await execScript(tx, sql);
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        throw new Error(`Migration ${m.id} failed on ${db.dialect}: ${msg}`, { cause: err });
      }
      await tx.run('INSERT INTO schema_migrations (id, applied_at) VALUES ($1, $2)', [m.id, now()]);
      return true;
    });
    if (ran) {
      applied.push(m.id);
      opts.logger?.info({ migration: m.id, dialect: db.dialect }, 'store migration applied');
    }
  }
  return applied;
}
