/**
 * Mutation testing of one security-decision module at a time (issue #19, docs/testing.md).
 *
 *   node --import tsx scripts/mutation.ts transport          # one module, its nearest tests
 *   node --import tsx scripts/mutation.ts ip throttle        # several, one after another
 *   node --import tsx scripts/mutation.ts --list             # the modules and their tests
 *   node --import tsx scripts/mutation.ts tokens -- --force  # extra arguments go to Stryker
 *
 * Each module runs with only the tests nearest to it (`RAMPART_MUTATION_TESTS`, read by
 * vitest.mutation.config.ts) and its own incremental file `.stryker/incremental/<name>.json`:
 * Stryker rewrites its incremental file with the current run's modules only, so one shared
 * file would forget every module but the last one run.
 */
import { spawnSync } from 'node:child_process';

interface MutationModule {
  /** The file(s) to mutate: one path, or several joined by commas (Stryker's `--mutate`). */
  file: string;
  tests: string[];
  /** Extra environment, e.g. one store dialect where the module does not depend on it. */
  env?: Record<string, string>;
}

/** The identity modules' SQL is the store's business (tested on both dialects by the suite). */
const SQLITE_ONLY = { RAMPART_TEST_STORES: 'sqlite' };

export const MODULES: Record<string, MutationModule> = {
  path: { file: 'src/gateway/path.ts', tests: ['src/gateway/path.test.ts'] },
  ip: { file: 'src/gateway/ip.ts', tests: ['src/gateway/ip.test.ts'] },
  host: { file: 'src/gateway/host.ts', tests: ['src/gateway/host.test.ts'] },
  framing: {
    file: 'src/gateway/framing.ts',
    tests: ['src/gateway/framing.test.ts', 'test/gateway/framing.test.ts'],
  },
  transport: {
    file: 'src/gateway/policies/transport/index.ts',
    tests: ['src/gateway/policies/transport/index.test.ts', 'test/gateway/decisions.test.ts'],
  },
  'request-limits': {
    file: 'src/gateway/policies/request-limits/index.ts',
    tests: [
      'src/gateway/policies/request-limits/index.test.ts',
      'src/gateway/policies/request-limits/json.test.ts',
      'test/gateway/decisions.test.ts',
    ],
  },
  authenticate: {
    file: 'src/gateway/policies/authenticate/index.ts',
    tests: [
      'src/gateway/policies/authenticate/index.test.ts',
      'src/gateway/policies/authenticate/hmac-issuer.test.ts',
      'src/gateway/policies/authenticate/decisions.test.ts',
    ],
  },
  'mfa-policy': {
    file: 'src/gateway/policies/mfa/index.ts',
    tests: ['src/gateway/policies/mfa/index.test.ts'],
  },
  totp: {
    file: 'src/identity/totp.ts',
    tests: ['src/identity/totp.test.ts', 'test/identity/totp-store.test.ts'],
  },
  mfa: {
    file: 'src/identity/mfa.ts',
    tests: ['test/identity/totp-store.test.ts', 'test/identity/recovery-codes.test.ts'],
    env: SQLITE_ONLY,
  },
  passwords: {
    file: 'src/identity/passwords.ts',
    tests: ['src/identity/passwords.test.ts', 'test/identity/passwords-store.test.ts'],
    env: SQLITE_ONLY,
  },
  tokens: {
    file: 'src/identity/tokens.ts',
    tests: ['test/identity/tokens.test.ts', 'test/identity/sessions.test.ts'],
    env: SQLITE_ONLY,
  },
  throttle: { file: 'src/identity/throttle.ts', tests: ['src/identity/throttle.test.ts'] },
  // Policies that landed after the first run (#19: "each new policy as it lands").
  roles: {
    file: 'src/gateway/policies/roles/index.ts,src/gateway/policies/roles/check.ts,src/gateway/policies/roles/hierarchy.ts',
    tests: [
      'src/gateway/policies/roles/index.test.ts',
      'src/gateway/policies/roles/hierarchy.test.ts',
      'src/gateway/policies/roles/check.test.ts',
      'src/gateway/policies/roles/boundaries.test.ts',
    ],
  },
  owner: {
    file: 'src/gateway/policies/owner/index.ts,src/gateway/policies/owner/rules.ts',
    tests: [
      'src/gateway/policies/owner/index.test.ts',
      'src/gateway/policies/owner/rules.test.ts',
      'src/gateway/policies/owner/decisions.test.ts',
      'src/gateway/policies/owner/equivalents.test.ts',
    ],
  },
  'validate-request': {
    file: 'src/gateway/policies/validate-request/index.ts',
    tests: [
      'src/gateway/policies/validate-request/index.test.ts',
      'src/gateway/policies/validate-request/decisions.test.ts',
    ],
  },
  // The well-formedness gate of every JSON body (request-limits): its verdict must match JSON.parse.
  'json-strict': {
    file: 'src/gateway/contract/json-strict.ts',
    tests: ['src/gateway/contract/json-strict.test.ts'],
  },
  'rate-limit': {
    file: 'src/gateway/policies/rate-limit/limits.ts,src/gateway/policies/rate-limit/index.ts',
    tests: [
      'src/gateway/policies/rate-limit/limits.test.ts',
      'src/gateway/policies/rate-limit/levels.test.ts',
      'src/gateway/policies/rate-limit/decisions.test.ts',
      'src/gateway/policies/rate-limit/refund.test.ts',
      'test/gateway/rate-limit.test.ts',
    ],
  },
};

function main(argv: string[]): number {
  const dash = argv.indexOf('--');
  const names = dash === -1 ? argv : argv.slice(0, dash);
  const extra = dash === -1 ? [] : argv.slice(dash + 1);
  if (names.length === 0 || names.includes('--list')) {
    for (const [name, m] of Object.entries(MODULES))
      console.log(`${name.padEnd(15)} ${m.file}  <- ${m.tests.join(', ')}`);
    return names.length === 0 ? 2 : 0;
  }
  const unknown = names.filter((n) => !(n in MODULES));
  if (unknown.length > 0) {
    console.error(`unknown module ${unknown.join(', ')}; one of: ${Object.keys(MODULES).join(', ')}`);
    return 2;
  }
  for (const name of names) {
    const m = MODULES[name]!;
    const args = [
      'stryker',
      'run',
      '--mutate',
      m.file,
      '--incrementalFile',
      `.stryker/incremental/${name}.json`,
    ];
    const r = spawnSync('npx', [...args, ...extra], {
      stdio: 'inherit',
      env: { ...process.env, ...m.env, RAMPART_MUTATION_TESTS: m.tests.join(',') },
    });
    if (r.status !== 0) return r.status ?? 1;
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
