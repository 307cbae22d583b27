import { describe, expect, it } from 'vitest';
import { identityConfigSchema, resolveIdentityConfig } from './config.ts';

describe('identity config', () => {
  it('fills every default', () => {
    const c = resolveIdentityConfig({});
    expect(c).toMatchObject({
      prefix: '/auth',
      accessTokenTtl: 300,
      selfSignup: false,
      revocationRefreshInterval: 5,
      passwords: {
        minLengthSingleFactor: 15,
        minLengthWithMfa: 8,
        maxLength: 256,
        scrypt: { ln: 17, r: 8, p: 1 },
      },
      mfa: {
        requiredForRoles: ['admin'],
        requiredForAll: false,
        totp: { window: 'strict', issuer: 'Rampart' },
      },
      lockout: { maxFailuresPerAccount: 5, maxFailuresPerIp: 50, window: 900, maxConsecutiveFailures: 100 },
      apiKeys: { prefix: 'rpk_live' },
    });
  });

  it('describes every field and gives it a default', () => {
    const walk = (schema: Record<string, unknown>, path: string) => {
      const props = schema.properties as Record<string, Record<string, unknown>> | undefined;
      if (!props) return;
      for (const [k, v] of Object.entries(props)) {
        expect(v.description, `${path}/${k} description`).toBeTypeOf('string');
        expect(v, `${path}/${k} default`).toHaveProperty('default');
        walk(v, `${path}/${k}`);
      }
    };
    walk(identityConfigSchema as unknown as Record<string, unknown>, '');
  });

  it('fails with the path of a bad value', () => {
    expect(() => resolveIdentityConfig({ mfa: { totp: { window: 'loose' as never } } })).toThrow(
      /\/mfa\/totp\/window/,
    );
    expect(() => resolveIdentityConfig({ lockout: { maxConsecutiveFailures: 500 } })).toThrow(
      /maxConsecutiveFailures/,
    );
    expect(() => resolveIdentityConfig({ unknown: 1 } as never)).toThrow(/Invalid identity config/);
    expect(() => resolveIdentityConfig({ signingKeys: { gracePeriod: 100 } })).toThrow(/gracePeriod/);
  });
});
