import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forEachStore } from '../../test/helpers/stores.ts';
import { freshPgDatabase } from '../../test/helpers/pg.ts';
import { loadMigrations, migrate, openStore, parseStoreUrl, PostgresDb, SqliteDb, type Db } from './index.ts';
import { rewritePlaceholders, splitStatements } from './sql.ts';

const tmpDirs: string[] = [];
function tempDir(prefix = 'rampart-store-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tmpDirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

/** Yields to the event loop so another task can interleave (no timers). */
const tick = () => new Promise<void>((r) => setImmediate(r));

describe('sql helpers', () => {
  it('rewrites $n to ? with a parameter map, reused and out of order', () => {
    const r = rewritePlaceholders('SELECT $2, $1, $2 FROM t WHERE a = $10');
    expect(r.sql).toBe('SELECT ?, ?, ? FROM t WHERE a = ?');
    expect(r.order).toEqual([1, 0, 1, 9]);
    expect(r.maxIndex).toBe(10);
  });

  it('leaves literals, quoted identifiers, comments and dollar quotes alone', () => {
    const sql = `SELECT '$1', 'it''s $2', "col$3", E'\\'$4', $1 -- $5\n/* $6 /* nested $7 */ */ $$ $8 $$, $tag$ $9 $tag$, $2`;
    const r = rewritePlaceholders(sql);
    expect(r.order).toEqual([0, 1]);
    expect(r.sql).toContain(`'$1'`);
    expect(r.sql).toContain(`"col$3"`);
    expect(r.sql).toContain('-- $5');
    expect(r.sql).toContain('$tag$ $9 $tag$');
    expect(r.sql.endsWith('?')).toBe(true);
  });

  it('passes SQL without placeholders through unchanged', () => {
    expect(rewritePlaceholders('SELECT 1')).toEqual({ sql: 'SELECT 1', order: null, maxIndex: 0 });
  });

  it('splits scripts on top-level semicolons, keeping trigger bodies whole', () => {
    const stmts = splitStatements(`
      CREATE TABLE a (x TEXT DEFAULT ';'); -- comment; here
      CREATE TRIGGER trg AFTER INSERT ON a BEGIN UPDATE a SET x = CASE WHEN 1 THEN 'a;' ELSE 'b' END; END;
      /* only a comment; */
    `);
    expect(stmts).toHaveLength(2);
    expect(stmts[1]).toMatch(/^-- comment; here\s+CREATE TRIGGER[\s\S]*END$/);
  });
});

describe('store URLs', () => {
  it('parses the supported forms', () => {
    expect(parseStoreUrl('sqlite::memory:')).toEqual({ dialect: 'sqlite', path: ':memory:' });
    expect(parseStoreUrl('sqlite://./data/r.db')).toEqual({ dialect: 'sqlite', path: './data/r.db' });
    expect(parseStoreUrl('sqlite:///var/lib/r.db')).toEqual({ dialect: 'sqlite', path: '/var/lib/r.db' });
    expect(parseStoreUrl('postgres://u:p@h/db')).toEqual({ dialect: 'postgres', url: 'postgres://u:p@h/db' });
    expect(parseStoreUrl('postgresql://h/db').dialect).toBe('postgres');
  });

  it('rejects unknown schemes by name without echoing secrets', async () => {
    const err = await openStore('mysql://admin:hunter2secret@db.internal/app').catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain('"mysql:"');
    expect((err as Error).message).not.toContain('hunter2secret');
    expect((err as Error).message).not.toContain('db.internal');
  });

  it('rejects URLs without a scheme, empty ones and malformed postgres ones', async () => {
    await expect(openStore('')).rejects.toThrow(/empty/);
    await expect(openStore('./data.db')).rejects.toThrow(/no scheme/);
    await expect(openStore('postgres:secretthing')).rejects.toThrow(/postgres:\/\//);
    await expect(openStore('postgres:secretthing')).rejects.not.toThrow(/secretthing/);
    await expect(openStore('sqlite:')).rejects.toThrow(/no path/);
  });

  it('opens sqlite::memory: with the shipped migrations', async () => {
    const db = await openStore('sqlite::memory:');
    const ids = (await db.query<{ id: string }>('SELECT id FROM schema_migrations ORDER BY id')).map(
      (r) => r.id,
    );
    expect(ids).toEqual(loadMigrations().map((m) => m.id));
    expect(ids).toContain('0001_core');
    await db.close();
  });

  it('refuses a database whose directory does not exist, and never makes directories', async () => {
    const dir = tempDir();
    const path = join(dir, 'typo', 'r.db');
    await expect(openStore(`sqlite://${path}`, { migrate: false })).rejects.toThrow(
      `the store's directory ${join(dir, 'typo')} does not exist (Rampart creates only the database file)`,
    );
    expect(existsSync(join(dir, 'typo'))).toBe(false);
    await expect(openStore(`sqlite://${dir}`, { migrate: false })).rejects.toThrow(
      /is a directory, not a database file/,
    );
  });

  it('creates the database file and uses WAL for file databases', async () => {
    const path = join(tempDir(), 'r.db');
    const db = await openStore(`sqlite://${path}`, { migrate: false });
    expect(existsSync(path)).toBe(true);
    const s = db as SqliteDb;
    expect(s.conn.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(s.conn.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(s.conn.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
    await db.close();
  });
});

const ITEMS = `CREATE TABLE items (
  id TEXT PRIMARY KEY,
  n BIGINT,
  flag INTEGER NOT NULL DEFAULT 0,
  note TEXT,
  bytes BYTEA
)`;

forEachStore(
  'store',
  (getDb, kind) => {
    let db: Db;
    beforeAll(async () => {
      db = getDb();
      await db.run(ITEMS);
      await db.run('CREATE TABLE counter (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)');
      await db.run('INSERT INTO counter (id, n) VALUES (1, 0)');
    });

    it('reports its dialect', () => {
      expect(db.dialect).toBe(kind);
    });

    it('does CRUD with changes counts', async () => {
      expect(await db.run('INSERT INTO items (id, n, note) VALUES ($1, $2, $3)', ['a', 1, 'first'])).toEqual({
        changes: 1,
      });
      await db.run('INSERT INTO items (id, n, note) VALUES ($1, $2, $3)', ['b', 2, 'second']);
      expect(await db.one('SELECT id, n, note FROM items WHERE id = $1', ['a'])).toEqual({
        id: 'a',
        n: 1,
        note: 'first',
      });
      expect(await db.one('SELECT id FROM items WHERE id = $1', ['zzz'])).toBeUndefined();
      expect(await db.run('UPDATE items SET note = $1 WHERE id IN ($2, $3)', ['x', 'a', 'b'])).toEqual({
        changes: 2,
      });
      expect(await db.run('CREATE TABLE scratch (x TEXT)')).toEqual({ changes: 0 }); // DDL right after a DML
      const rows = await db.query<{ id: string; note: string }>('SELECT id, note FROM items ORDER BY id');
      expect(rows).toEqual([
        { id: 'a', note: 'x' },
        { id: 'b', note: 'x' },
      ]);
      expect(await db.run('DELETE FROM items WHERE id = $1', ['b'])).toEqual({ changes: 1 });
      expect(await db.run('DELETE FROM items WHERE id = $1', ['b'])).toEqual({ changes: 0 });
      expect(await db.query('SELECT * FROM items WHERE id = $1', ['nope'])).toEqual([]);
    });

    it('supports portable upserts and CAST of parameters', async () => {
      const upsert =
        'INSERT INTO items (id, n) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET n = items.n + excluded.n';
      await db.run(upsert, ['up', 5]);
      expect(await db.run(upsert, ['up', 6])).toEqual({ changes: 1 });
      expect(await db.one('SELECT n FROM items WHERE id = $1', ['up'])).toEqual({ n: 11 });
      expect(await db.one('SELECT CAST($1 AS BIGINT) + 1 AS v', [41])).toEqual({ v: 42 });
    });

    it('supports RETURNING', async () => {
      const rows = await db.query<{ id: string }>('INSERT INTO items (id) VALUES ($1) RETURNING id', ['ret']);
      expect(rows).toEqual([{ id: 'ret' }]);
    });

    it('maps reused and out-of-order placeholders, ignoring ones in literals', async () => {
      await db.run('INSERT INTO items (id, n, note) VALUES ($2, $1, $2)', [7, 'p1']);
      const row = await db.one<{ id: string; n: number; note: string; lit: string }>(
        `SELECT id, n, note, '$1 and $2' AS lit FROM items WHERE note = $2 AND id = $2 AND n = $1`,
        [7, 'p1'],
      );
      expect(row).toEqual({ id: 'p1', n: 7, note: 'p1', lit: '$1 and $2' });
    });

    it('round-trips BIGINT beyond 2^31 (and epoch ms) as numbers; COUNT and SUM are numbers', async () => {
      const big = 2 ** 40 + 7;
      const now = Date.now();
      await db.run('INSERT INTO items (id, n) VALUES ($1, $2), ($3, $4)', ['big', big, 'now', now]);
      await db.run('INSERT INTO items (id, n) VALUES ($1, $2)', ['bigint', 5_000_000_000n]);
      expect(await db.one('SELECT n FROM items WHERE id = $1', ['big'])).toEqual({ n: big });
      expect(await db.one('SELECT n FROM items WHERE id = $1', ['now'])).toEqual({ n: now });
      expect(await db.one('SELECT n FROM items WHERE id = $1', ['bigint'])).toEqual({ n: 5_000_000_000 });
      const agg = await db.one<{ c: number; s: number }>(
        'SELECT COUNT(*) AS c, SUM(n) AS s FROM items WHERE id IN ($1, $2)',
        ['big', 'bigint'],
      );
      expect(agg).toEqual({ c: 2, s: big + 5_000_000_000 });
      expect(typeof agg?.c).toBe('number');
      expect(await db.one('SELECT id FROM items WHERE n BETWEEN $1 AND $2', [2 ** 32, 2 ** 33])).toEqual({
        id: 'bigint',
      });
    });

    it('stores booleans as 0/1', async () => {
      await db.run('INSERT INTO items (id, flag) VALUES ($1, $2), ($3, $4)', ['t', true, 'f', false]);
      expect(await db.one('SELECT flag FROM items WHERE id = $1', ['t'])).toEqual({ flag: 1 });
      expect(await db.one('SELECT flag FROM items WHERE id = $1', ['f'])).toEqual({ flag: 0 });
      const rows = await db.query('SELECT id FROM items WHERE flag = $1 AND id IN ($2, $3)', [
        true,
        't',
        'f',
      ]);
      expect(rows).toEqual([{ id: 't' }]);
    });

    it('stores bytes in a BYTEA column and returns a Buffer', async () => {
      const u8 = new Uint8Array([0, 1, 2, 250, 255]);
      const sub = new Uint8Array([9, 9, 0xde, 0xad, 9]).subarray(2, 4);
      await db.run('INSERT INTO items (id, bytes) VALUES ($1, $2), ($3, $4)', [
        'u8',
        u8,
        'buf',
        Buffer.from('héllo'),
      ]);
      await db.run('INSERT INTO items (id, bytes) VALUES ($1, $2)', ['sub', sub]);
      const r1 = await db.one<{ bytes: Buffer }>('SELECT bytes FROM items WHERE id = $1', ['u8']);
      expect(Buffer.isBuffer(r1?.bytes)).toBe(true);
      expect([...r1!.bytes]).toEqual([0, 1, 2, 250, 255]);
      const r2 = await db.one<{ bytes: Buffer }>('SELECT bytes FROM items WHERE id = $1', ['buf']);
      expect(r2?.bytes.toString()).toBe('héllo');
      const r3 = await db.one<{ bytes: Buffer }>('SELECT bytes FROM items WHERE id = $1', ['sub']);
      expect([...r3!.bytes]).toEqual([0xde, 0xad]);
    });

    it('stores null and reads it back', async () => {
      await db.run('INSERT INTO items (id, n, note) VALUES ($1, $2, $3)', ['nul', null, null]);
      expect(await db.one('SELECT n, note FROM items WHERE id = $1', ['nul'])).toEqual({
        n: null,
        note: null,
      });
    });

    it('commits a transaction and returns its value', async () => {
      const out = await db.transaction(async (tx) => {
        await tx.run('INSERT INTO items (id) VALUES ($1)', ['tx1']);
        expect(await tx.one('SELECT id FROM items WHERE id = $1', ['tx1'])).toEqual({ id: 'tx1' });
        return 42;
      });
      expect(out).toBe(42);
      expect(await db.one('SELECT id FROM items WHERE id = $1', ['tx1'])).toEqual({ id: 'tx1' });
    });

    it('rolls back when the callback throws, and rethrows', async () => {
      const boom = new Error('boom');
      await expect(
        db.transaction(async (tx) => {
          await tx.run('INSERT INTO items (id) VALUES ($1)', ['tx2']);
          throw boom;
        }),
      ).rejects.toBe(boom);
      expect(await db.one('SELECT id FROM items WHERE id = $1', ['tx2'])).toBeUndefined();
    });

    it('rolls back when a statement fails inside the transaction', async () => {
      await expect(
        db.transaction(async (tx) => {
          await tx.run('INSERT INTO items (id) VALUES ($1)', ['tx3']);
          await tx.run('INSERT INTO items (id) VALUES ($1)', ['tx3']); // duplicate key
        }),
      ).rejects.toThrow();
      expect(await db.one('SELECT id FROM items WHERE id = $1', ['tx3'])).toBeUndefined();
      // the store is still usable afterwards
      await db.transaction((tx) => tx.run('INSERT INTO items (id) VALUES ($1)', ['tx3']));
      expect(await db.one('SELECT id FROM items WHERE id = $1', ['tx3'])).toEqual({ id: 'tx3' });
    });

    it('nests transactions as savepoints', async () => {
      await db.transaction(async (tx) => {
        await tx.run('INSERT INTO items (id) VALUES ($1)', ['outer']);
        await expect(
          tx.transaction(async (inner) => {
            await inner.run('INSERT INTO items (id) VALUES ($1)', ['inner']);
            throw new Error('inner fails');
          }),
        ).rejects.toThrow('inner fails');
        await tx.transaction((inner) => inner.run('INSERT INTO items (id) VALUES ($1)', ['inner2']));
      });
      const ids = (
        await db.query<{ id: string }>(
          `SELECT id FROM items WHERE id IN ('outer', 'inner', 'inner2') ORDER BY id`,
        )
      ).map((r) => r.id);
      expect(ids).toEqual(['inner2', 'outer']);
    });

    it('refuses a transaction handle after the transaction ended', async () => {
      let leaked: Db | undefined;
      await db.transaction(async (tx) => {
        leaked = tx;
      });
      await expect(leaked!.query('SELECT 1 AS x')).rejects.toThrow(/already finished/);
      await expect(leaked!.close()).rejects.toThrow(/transaction handle/);
    });

    it('refuses stacked statements in query/one/run (scripts go through exec)', async () => {
      await expect(db.run(`INSERT INTO items (id) VALUES ('s1'); DELETE FROM items`)).rejects.toThrow();
      await expect(db.query(`SELECT 1 AS x; SELECT 2 AS y`)).rejects.toThrow();
      await expect(db.one(`SELECT id FROM items WHERE id = $1; DELETE FROM items`, ['x'])).rejects.toThrow();
      expect(await db.one(`SELECT id FROM items WHERE id = 's1'`)).toBeUndefined();
    });

    it('runs multi-statement scripts through exec', async () => {
      await db.exec!(`CREATE TABLE script_a (x TEXT); INSERT INTO script_a (x) VALUES ('1;2'); -- trailing;`);
      expect(await db.query('SELECT x FROM script_a')).toEqual([{ x: '1;2' }]);
    });

    it('commits 20 concurrent transactions doing atomic increments (n = n + 1), none lost or failed', async () => {
      await db.run('UPDATE counter SET n = 0 WHERE id = 1');
      await Promise.all(
        Array.from({ length: 20 }, () =>
          db.transaction(async (tx) => {
            await tx.run('UPDATE counter SET n = n + 1 WHERE id = 1');
          }),
        ),
      );
      expect(await db.one('SELECT n FROM counter WHERE id = 1')).toEqual({ n: 20 });
    });

    if (kind === 'sqlite') {
      it('serialises concurrent read-modify-write transactions on SQLite', async () => {
        await db.run('UPDATE counter SET n = 0 WHERE id = 1');
        const order: string[] = [];
        await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            db.transaction(async (tx) => {
              order.push(`start${i}`);
              const row = await tx.one<{ n: number }>('SELECT n FROM counter WHERE id = 1');
              await tick(); // give the others every chance to interleave
              await tx.run('UPDATE counter SET n = $1 WHERE id = 1', [row!.n + 1]);
              order.push(`end${i}`);
            }),
          ),
        );
        expect(await db.one('SELECT n FROM counter WHERE id = 1')).toEqual({ n: 10 });
        // never two transactions open at once
        for (let i = 0; i < order.length; i += 2)
          expect(order[i + 1]).toBe(order[i]!.replace('start', 'end'));
      });

      it('makes outer statements wait for a running transaction', async () => {
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        const txDone = db.transaction(async (tx) => {
          await tx.run('INSERT INTO items (id, note) VALUES ($1, $2)', ['waited', 'in-tx']);
          await gate;
        });
        await tick();
        const outer = db.one('SELECT note FROM items WHERE id = $1', ['waited']);
        let settled = false;
        void outer.then(() => (settled = true));
        await tick();
        expect(settled).toBe(false);
        release();
        await txDone;
        expect(await outer).toEqual({ note: 'in-tx' });
      });

      it('rejects outer-handle calls from inside the transaction after the lock timeout instead of hanging', async () => {
        const quick = new SqliteDb(':memory:', { lockTimeoutMs: 50 });
        try {
          await expect(
            quick.transaction(async () => {
              await quick.query('SELECT 1 AS x');
            }),
          ).rejects.toThrow(/use the tx handle/);
          await expect(quick.transaction(() => quick.transaction(async () => 1))).rejects.toThrow(
            /use the tx handle/,
          );
          // The connection is usable again afterwards.
          expect(await quick.one('SELECT 2 AS y')).toEqual({ y: 2 });
        } finally {
          await quick.close();
        }
      });

      it('keeps working with a tiny statement cache', async () => {
        const small = new SqliteDb(':memory:', { statementCacheSize: 2 });
        for (let round = 0; round < 3; round++) {
          for (let i = 0; i < 5; i++)
            expect(await small.one(`SELECT $1 + ${i} AS v`, [round])).toEqual({ v: round + i });
        }
        await small.close();
      });
    }

    if (kind === 'postgres') {
      it('runs PostgreSQL transactions on separate connections concurrently', async () => {
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        const first = db.transaction(async (tx) => {
          await tx.run('INSERT INTO items (id) VALUES ($1)', ['pg-a']);
          await gate;
        });
        // a second transaction completes while the first is still open
        await db.transaction((tx) => tx.run('INSERT INTO items (id) VALUES ($1)', ['pg-b']));
        expect(await db.one('SELECT id FROM items WHERE id = $1', ['pg-a'])).toBeUndefined(); // not committed yet
        release();
        await first;
        expect(await db.one('SELECT id FROM items WHERE id = $1', ['pg-a'])).toEqual({ id: 'pg-a' });
      });

      it("does not change pg's global type parsers", () => {
        const parse = pg.types.getTypeParser(20, 'text') as (v: string) => unknown;
        expect(parse('5')).toBe('5');
      });
    }

    it('close() is idempotent and later calls reject', async () => {
      // a dedicated store, so the shared one stays open for the other tests
      const other =
        kind === 'sqlite'
          ? await openStore('sqlite::memory:', { migrate: false })
          : await openStore(await freshPgDatabase('close'), { migrate: false });
      await other.close();
      await other.close();
      await expect(other.query('SELECT 1 AS x')).rejects.toThrow(/closed/);
    });
  },
  { migrate: false },
);

function writeMigrations(dir: string, files: Record<string, string>): void {
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), sql);
}

forEachStore(
  'migrations',
  (getDb, kind) => {
    it('applies folder migrations in order once, and picks up new files', async () => {
      const db = getDb();
      const dir = tempDir();
      writeMigrations(dir, {
        '0002_second.sql':
          "CREATE TABLE m_two (id TEXT PRIMARY KEY); INSERT INTO m_two (id) VALUES ('seed;1');",
        '0001_first.sql':
          '-- first\nCREATE TABLE m_one (id TEXT PRIMARY KEY, at BIGINT NOT NULL);\nCREATE INDEX m_one_at ON m_one (at);\n',
        '0003_dialect.sqlite.sql': 'CREATE TABLE m_three (id INTEGER PRIMARY KEY AUTOINCREMENT, d TEXT);',
        '0003_dialect.postgres.sql': 'CREATE TABLE m_three (id BIGSERIAL PRIMARY KEY, d TEXT);',
        'README.md': 'not a migration',
      });
      expect(await migrate(db, { dir, now: () => 1234 })).toEqual([
        '0001_first',
        '0002_second',
        '0003_dialect',
      ]);
      expect(await migrate(db, { dir })).toEqual([]);
      expect(await db.query('SELECT id FROM m_two')).toEqual([{ id: 'seed;1' }]);
      await db.run('INSERT INTO m_three (d) VALUES ($1)', [kind]);
      expect(await db.one('SELECT id, d FROM m_three')).toEqual({ id: 1, d: kind });
      const recorded = await db.query('SELECT id, applied_at FROM schema_migrations ORDER BY id');
      expect(recorded).toEqual([
        { id: '0001_first', applied_at: 1234 },
        { id: '0002_second', applied_at: 1234 },
        { id: '0003_dialect', applied_at: 1234 },
      ]);

      writeMigrations(dir, { '0150_late.sql': 'CREATE TABLE m_late (id TEXT);' });
      expect(await migrate(db, { dir })).toEqual(['0150_late']);
      expect(await migrate(db, { dir })).toEqual([]);
    });

    it('rolls back a failing migration, records nothing for it, and names it', async () => {
      const db = getDb();
      const dir = tempDir();
      writeMigrations(dir, {
        '0401_ok.sql': 'CREATE TABLE f_ok (id TEXT);',
        '0402_bad.sql': 'CREATE TABLE f_bad (id TEXT); INSERT INTO no_such_table VALUES (1);',
      });
      await expect(migrate(db, { dir })).rejects.toThrow(/Migration 0402_bad failed on/);
      const ids = (
        await db.query<{ id: string }>(`SELECT id FROM schema_migrations WHERE id LIKE '04%'`)
      ).map((r) => r.id);
      expect(ids).toEqual(['0401_ok']);
      // f_bad was rolled back with its migration: creating it again works
      await db.run('CREATE TABLE f_bad (id TEXT)');
    });

    if (kind === 'postgres') {
      it('never applies a migration twice when processes start together', async () => {
        const url = await freshPgDatabase('concurrent');
        const dir = tempDir();
        writeMigrations(dir, {
          '0001_a.sql': 'CREATE TABLE c_a (id TEXT);',
          '0002_b.sql': 'CREATE TABLE c_b (id TEXT);',
          '0003_c.sql': 'CREATE TABLE c_c (id TEXT);',
        });
        const stores = Array.from({ length: 4 }, () => new PostgresDb(url, { max: 2 }));
        try {
          const results = await Promise.all(stores.map((s) => migrate(s, { dir })));
          expect(results.flat().sort()).toEqual(['0001_a', '0002_b', '0003_c']);
        } finally {
          await Promise.all(stores.map((s) => s.close()));
        }
      });
    }

    it('applies every shipped migration (src/store/migrations)', async () => {
      const db = getDb();
      expect(await migrate(db)).toEqual(loadMigrations().map((m) => m.id));
      expect(await migrate(db)).toEqual([]);
      await db.run('INSERT INTO kv (key, value, expires_at) VALUES ($1, $2, $3)', ['k', 'v', 2 ** 42]);
      expect(await db.one('SELECT value, expires_at FROM kv WHERE key = $1', ['k'])).toEqual({
        value: 'v',
        expires_at: 2 ** 42,
      });
      await db.run(
        'INSERT INTO audit_events (id, at, type, request_id, ip, data) VALUES ($1, $2, $3, $4, $5, $6)',
        ['e1', Date.now(), 'auth', 'r1', '127.0.0.1', JSON.stringify({ outcome: 'success' })],
      );
      expect(await db.one<{ type: string }>('SELECT type FROM audit_events WHERE id = $1', ['e1'])).toEqual({
        type: 'auth',
      });
    });
  },
  { migrate: false, fresh: 'each' },
);

describe('loadMigrations', () => {
  it('rejects misnamed files, unpaired dialect files and mixed forms', () => {
    const bad = tempDir();
    writeMigrations(bad, { '001_short.sql': 'SELECT 1;' });
    expect(() => loadMigrations(bad)).toThrow(/001_short\.sql/);

    const lonely = tempDir();
    writeMigrations(lonely, { '0005_x.sqlite.sql': 'SELECT 1;' });
    expect(() => loadMigrations(lonely)).toThrow(/0005_x lacks its 0005_x\.postgres\.sql/);

    const mixed = tempDir();
    writeMigrations(mixed, {
      '0006_y.sql': 'SELECT 1;',
      '0006_y.sqlite.sql': 'SELECT 1;',
      '0006_y.postgres.sql': 'SELECT 1;',
    });
    expect(() => loadMigrations(mixed)).toThrow(/both a portable/);

    expect(() => loadMigrations(join(tempDir(), 'missing'))).toThrow(/Migrations folder not found/);
  });

  it('finds the shipped core migration', () => {
    const core = loadMigrations().find((m) => m.id === '0001_core');
    expect(typeof core?.sql).toBe('string');
    expect(core?.sql).toMatch(/CREATE TABLE audit_events/);
  });
});
