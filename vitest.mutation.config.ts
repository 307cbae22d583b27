import { defineConfig } from 'vitest/config';

/**
 * The tests Stryker runs against the security-decision modules (stryker.config.json):
 * the unit tests of each module and the end-to-end decision tests that drive them through
 * the real gateway and identity service. Kept apart from the full suite so a mutation run
 * fits the machine (see docs/testing.md).
 */
export default defineConfig({
  test: {
    include: [
      'src/gateway/path.test.ts',
      'src/gateway/ip.test.ts',
      'src/gateway/host.test.ts',
      'src/gateway/policies/request-limits/index.test.ts',
      'src/gateway/policies/authenticate/index.test.ts',
      'src/gateway/policies/mfa/index.test.ts',
      'src/identity/totp.test.ts',
      'src/identity/passwords.test.ts',
      'src/identity/throttle.test.ts',
      'test/gateway/decisions.test.ts',
      'test/gateway/framing.test.ts',
      'test/identity/totp-store.test.ts',
      'test/identity/sessions.test.ts',
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
  },
});
