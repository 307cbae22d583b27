import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { createUsersCommand } from '../../src/cli/commands/users.ts';
import { createIdentityService } from '../../src/identity/index.ts';
import { openStore } from '../../src/store/index.ts';
import { TEST_KEK } from './harness.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rampart-users-cli-'));
  vi.stubEnv('RAMPART_KEY_ENCRYPTION_KEY', TEST_KEK.toString('base64'));
});
afterAll(() => {
  vi.unstubAllEnvs();
  rmSync(dir, { recursive: true, force: true });
});

function cli(password = 'a-long-admin-passphrase') {
  const out: string[] = [];
  const err: string[] = [];
  const cmd = createUsersCommand({ readSecret: async () => password });
  return {
    out,
    err,
    run: (argv: string[]) => cmd.run(argv, { out: (l) => out.push(l), err: (l) => err.push(l) }),
  };
}

it('adds an admin from rampart.yaml, prints the enrolment link, lists, disables and resets MFA', async () => {
  writeFileSync(
    join(dir, 'rampart.yaml'),
    'store: sqlite://./rampart.db\nidentity:\n  issuer: https://api.example.com/auth\n  passwords: { scrypt: { ln: 10 } }\n',
  );
  const cfg = join(dir, 'rampart.yaml');
  const add = cli('Adm1n-secret');
  expect(await add.run(['add', 'Alice', '--admin', '--role', 'ops', '--attr', 'team=sec', '-c', cfg])).toBe(
    0,
  );
  expect(add.out.join('\n')).toMatch(/created user alice .*roles: admin, ops/);
  expect(add.out.join('\n')).toContain('https://api.example.com/auth/ui');
  expect(add.out.join('\n') + add.err.join('\n')).not.toContain('Adm1n-secret');

  const dup = cli('Adm1n-secret');
  expect(await dup.run(['add', 'alice', '-c', cfg])).toBe(1);
  expect(dup.err.join('\n')).toMatch(/already exists/);

  const weak = cli('password1');
  expect(await weak.run(['add', 'bob', '-c', cfg])).toBe(1);
  expect(weak.err.join('\n')).toMatch(/at least 15 characters/);

  const list = cli();
  expect(await list.run(['list', '--json', '-c', cfg])).toBe(0);
  const users = JSON.parse(list.out.join('\n')) as Array<{
    username: string;
    roles: string[];
    attributes: unknown;
  }>;
  expect(users).toEqual([
    expect.objectContaining({ username: 'alice', roles: ['admin', 'ops'], attributes: { team: 'sec' } }),
  ]);

  expect(await cli().run(['disable', 'alice', '-c', cfg])).toBe(0);
  expect(await cli().run(['reset-mfa', 'alice', '-c', cfg])).toBe(0);
  expect(await cli().run(['unlock', 'alice', '-c', cfg])).toBe(0);

  // The same store, opened directly, sees the user disabled.
  const db = await openStore(`sqlite://${join(dir, 'rampart.db')}`);
  const svc = await createIdentityService({
    db,
    config: { passwords: { scrypt: { ln: 10 } } },
    background: false,
  });
  expect((await svc.users.get('alice'))?.disabled).toBe(true);
  await svc.close();
  await db.close();
});

it('works with --store and refuses bad usage', async () => {
  const url = `sqlite://${join(dir, 'other.db')}`;
  const c = cli('another-long-passphrase');
  expect(await c.run(['add', 'carol', '--role', 'reader', '--store', url])).toBe(0);
  await expect(cli().run(['frobnicate', '--store', url])).rejects.toThrow(/unknown subcommand/);
  await expect(cli().run(['add', '--store', url])).rejects.toThrow(/needs a user name/);
  await expect(cli('').run(['add', 'dave', '--store', url])).rejects.toThrow(/no password/);
  const missing = cli();
  expect(await missing.run(['disable', 'nobody', '--store', url])).toBe(1);
});

it('without a config uses the demo store in ./data (with the demo issuer), shows a header and state, names a missing user', async () => {
  const cwd = process.cwd();
  const here = mkdtempSync(join(tmpdir(), 'rampart-users-demo-'));
  process.chdir(here);
  vi.stubEnv('RAMPART_CONFIG', '');
  try {
    // Nothing here: the message says exactly what to pass.
    await expect(cli().run(['list'])).rejects.toThrow(
      /no \.\/rampart\.yaml and no demo store at \.\/data\/rampart\.db: pass -c FILE \(or set RAMPART_CONFIG\) or --store URL/,
    );
    // A read-only command never creates a store (nor its directory).
    await expect(cli().run(['list', '--store', `sqlite://${join(here, 'typo/x.db')}`])).rejects.toThrow(
      /no store at .*typo\/x\.db/,
    );
    const add = cli('a-long-admin-passphrase');
    // A store in a directory that does not exist is refused, not created with its directory.
    await expect(
      add.run(['add', 'erin', '--admin', '--store', `sqlite://${join(here, 'data/rampart.db')}`]),
    ).rejects.toThrow(/the store's directory .*data does not exist/);
    mkdirSync(join(here, 'data'));
    // What `npm start` leaves behind: data/rampart.db and data/demo.json with the running demo's issuer.
    expect(
      await add.run(['add', 'erin', '--admin', '--store', `sqlite://${join(here, 'data/rampart.db')}`]),
    ).toBe(0);
    writeFileSync(join(here, 'data/demo.json'), JSON.stringify({ issuer: 'https://localhost:8443/auth' }));
    const frank = cli('another-long-passphrase');
    expect(await frank.run(['add', 'frank', '--admin'])).toBe(0);
    expect(frank.err.join('\n')).toMatch(/using the built-in demo's store data\/rampart\.db/);
    expect(frank.out.join('\n')).toContain('https://localhost:8443/auth/ui');
    expect(await cli().run(['disable', 'erin'])).toBe(0);
    const list = cli();
    expect(await list.run(['list'])).toBe(0);
    expect(list.out[0]).toMatch(/^USERNAME\s+ID\s+ROLES\s+STATE$/);
    expect(list.out.find((l) => l.startsWith('erin'))).toMatch(/admin\s+disabled$/);
    expect(list.out.find((l) => l.startsWith('frank'))).toMatch(/admin\s+active$/);
    const missing = cli();
    expect(await missing.run(['disable', 'nosuch'])).toBe(1);
    expect(missing.err.at(-1)).toBe("rampart users disable: no user named 'nosuch'");
  } finally {
    process.chdir(cwd);
    vi.stubEnv('RAMPART_CONFIG', '');
    rmSync(here, { recursive: true, force: true });
  }
});
