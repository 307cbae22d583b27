/**
 * PostgreSQL for tests. The cluster is started once per run by test/global-setup.ts;
 * each caller gets its own database so test files running in parallel never collide.
 *
 * @example
 * const url = await freshPgDatabase();
 * const db = await openStore(url);
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

/** URL of the test cluster's shared database (prefer freshPgDatabase()). */
export function testPgUrl(): string {
  let url: string | undefined;
  try {
    url = inject('pgUrl');
  } catch {
    // not inside a vitest worker (e.g. a child process): fall back to the environment
  }
  url ??= process.env.RAMPART_TEST_PG_URL;
  if (!url) {
    throw new Error(
      'No test PostgreSQL: run through vitest (test/global-setup.ts starts one) or set RAMPART_TEST_PG_URL',
    );
  }
  return url;
}

/** Creates a uniquely named, empty database on the test cluster and returns its URL. */
export async function freshPgDatabase(prefix = 't'): Promise<string> {
  const base = new URL(testPgUrl());
  const safe = prefix
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 30);
  const name = `rampart_${safe}_${process.pid}_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: base.toString() });
  await client.connect();
  try {
    // template0: never blocked by other sessions connected to template1.
    await client.query(`CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'UTF8'`);
  } finally {
    await client.end();
  }
  base.pathname = `/${name}`;
  return base.toString();
}
