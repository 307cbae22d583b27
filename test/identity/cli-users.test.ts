import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
