/**
 * Run the same tests against every store dialect.
 *
 * @example
 * import { forEachStore } from '../../test/helpers/stores.ts';
 * forEachStore('api keys', (getDb, kind) => {
 *   it('stores a key', async () => {
 *     const db = getDb();            // migrated, private to this describe block
 *     await db.run('INSERT INTO kv (key, value) VALUES ($1, $2)', ['a', 'b']);
 *   });
 * });
 *
 * Each `forEachStore` block gets its own SQLite file (temp dir) and its own PostgreSQL
 * database (freshPgDatabase), opened with openStore() so every migration in
 * src/store/migrations/ is applied. Pass `{ fresh: 'each' }` for a new store per test.
 * RAMPART_TEST_STORES=sqlite (comma list) narrows the dialects, e.g. for a quick local run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe } from 'vitest';
import { openStore, type OpenStoreOptions } from '../../src/store/index.ts';
import type { Db } from '../../src/store/types.ts';
import { freshPgDatabase } from './pg.ts';

export const allStoreKinds = ['sqlite', 'postgres'] as const;
export type StoreKind = (typeof allStoreKinds)[number];

/** The dialects tests run against (all, unless RAMPART_TEST_STORES narrows them). */
export const storeKinds: readonly StoreKind[] = (() => {
  const only = process.env.RAMPART_TEST_STORES;
  if (!only) return allStoreKinds;
  const picked = only.split(',').map((s) => s.trim()) as StoreKind[];
  for (const k of picked) {
    if (!allStoreKinds.includes(k)) throw new Error(`RAMPART_TEST_STORES: unknown store kind "${k}"`);
  }
  return picked;
})();

export interface TestStore {
  kind: StoreKind;
  db: Db;
  /** The URL it was opened with (PostgreSQL URLs here hold no password). */
  url: string;
  /** Closes the store and removes its files. */
  cleanup(): Promise<void>;
}

/** Opens a fresh, migrated store of one kind: a SQLite file in a temp dir, or a new PostgreSQL database. */
export async function openTestStore(kind: StoreKind, opts: OpenStoreOptions = {}): Promise<TestStore> {
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'rampart-sqlite-'));
    const url = `sqlite://${join(dir, 'test.db')}`;
    const db = await openStore(url, opts);
    return {
      kind,
      db,
      url,
      cleanup: async () => {
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const url = await freshPgDatabase(kind);
  const db = await openStore(url, opts);
  return { kind, db, url, cleanup: () => db.close() };
}

export interface ForEachStoreOptions extends OpenStoreOptions {
  /** 'block' (default): one store per describe block; 'each': a new store for every test. */
  fresh?: 'block' | 'each';
}

/** Declares `describe(`${name} [${kind}]`)` once per store kind; `getDb()` returns that block's store. */
export function forEachStore(
  name: string,
  body: (getDb: () => Db, kind: StoreKind) => void,
  opts: ForEachStoreOptions = {},
): void {
  const { fresh = 'block', ...openOpts } = opts;
  for (const kind of storeKinds) {
    describe(`${name} [${kind}]`, () => {
      let current: TestStore | undefined;
      const open = async () => {
        current = await openTestStore(kind, openOpts);
      };
      const close = async () => {
        await current?.cleanup();
        current = undefined;
      };
      if (fresh === 'each') {
        beforeEach(open);
        afterEach(close);
      } else {
        beforeAll(open);
        afterAll(close);
      }
      body(() => {
        if (!current)
          throw new Error('getDb() is only available inside tests and hooks of this forEachStore block');
        return current.db;
      }, kind);
    });
  }
}
