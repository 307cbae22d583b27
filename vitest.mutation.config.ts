import { defineConfig } from 'vitest/config';

/**
 * The tests Stryker runs against the security-decision modules (stryker.config.json).
 * Default: the modules' own unit tests — fast enough to run once per mutant on a shared
 * 2-core machine. `RAMPART_MUTATION_E2E=1` adds the end-to-end decision tests that drive the
 * same modules through the real gateway and identity service (slower: each mutant restarts
 * their listeners). `RAMPART_MUTATION_TESTS=a.test.ts,b.test.ts` runs exactly those files
 * (scripts/mutation.ts sets it to each module's nearest tests). See docs/testing.md.
 */
const unit = [
  'src/gateway/path.test.ts',
  'src/gateway/ip.test.ts',
  'src/gateway/host.test.ts',
  'src/gateway/policies/transport/index.test.ts',
  'src/gateway/policies/request-limits/index.test.ts',
  'src/gateway/policies/request-limits/json.test.ts',
  'src/gateway/policies/authenticate/index.test.ts',
  'src/gateway/policies/mfa/index.test.ts',
  'src/identity/totp.test.ts',
  'src/identity/passwords.test.ts',
  'src/identity/throttle.test.ts',
  'src/gateway/policies/authenticate/hmac-issuer.test.ts',
  'src/gateway/policies/authenticate/decisions.test.ts',
  'src/gateway/policies/roles/index.test.ts',
  'src/gateway/policies/roles/hierarchy.test.ts',
  'src/gateway/policies/roles/check.test.ts',
  'src/gateway/policies/roles/boundaries.test.ts',
  'src/gateway/policies/owner/index.test.ts',
  'src/gateway/policies/owner/rules.test.ts',
  'src/gateway/policies/owner/decisions.test.ts',
  'src/gateway/policies/owner/equivalents.test.ts',
  'src/gateway/policies/validate-request/index.test.ts',
  'src/gateway/policies/validate-request/decisions.test.ts',
  'src/gateway/policies/rate-limit/limits.test.ts',
  'src/gateway/policies/rate-limit/levels.test.ts',
  'src/gateway/policies/rate-limit/decisions.test.ts',
  'src/gateway/policies/rate-limit/refund.test.ts',
  'src/gateway/contract/json-strict.test.ts',
];
const e2e = [
  'test/gateway/decisions.test.ts',
  'test/gateway/framing.test.ts',
  'test/identity/totp-store.test.ts',
  'test/identity/sessions.test.ts',
  'test/identity/tokens.test.ts',
  'test/identity/recovery-codes.test.ts',
  'test/identity/passwords-store.test.ts',
  'test/gateway/rate-limit.test.ts',
];

const chosen = process.env.RAMPART_MUTATION_TESTS;

export default defineConfig({
  test: {
    include: chosen
      ? chosen.split(',').map((f) => f.trim())
      : process.env.RAMPART_MUTATION_E2E === '1'
        ? [...unit, ...e2e]
        : unit,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
  },
});
