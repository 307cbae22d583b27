import { randomBytes } from 'node:crypto';
import { SignJWT, type JWTHeaderParameters } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../core/clock.ts';
import { Writable } from 'node:stream';
import { createLogger, silentLogger, type Logger } from '../../../core/logger.ts';
import { crossFieldErrors } from '../../../cli/config-rules.ts';
import type { RampartFileConfig } from '../../../cli/config-schema.ts';
import type { Denial } from '../../policy.ts';
import { buildPolicy, testContext, testServices, type TestPolicy } from '../test-context.ts';
import { hmacSecretProblems, weakSecretReason } from './hmac-issuer.ts';
import { authenticate, REJECTIONS } from './index.ts';
import { JWT_WORDLIST } from './jwt-wordlist.ts';
import { keyPair, signToken } from './testing.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const NOW = T0 / 1000;
const ISS = 'https://api.clinic.test';
const AUD = 'clinic';
const SECRET = randomBytes(32).toString('base64url'); // 43 bytes of text
const OLD_SECRET = randomBytes(32).toString('base64url');

let clock: ManualClock;
beforeEach(() => {
  clock = new ManualClock(T0);
});

const claims = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  iss: ISS,
  aud: AUD,
  sub: '42',
  iat: NOW - 5,
  exp: NOW + 600,
  role: 'doctor',
  ...extra,
});

async function hs(
  secret: string,
  payload: Record<string, unknown>,
  header: Partial<JWTHeaderParameters> = {},
): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...header } as JWTHeaderParameters)
    .sign(new TextEncoder().encode(secret));
}

function issuer(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { issuer: ISS, audience: AUD, secret: SECRET, claimMapping: { roles: 'role' }, ...extra };
}

function build(options: Record<string, unknown>, log: Logger = silentLogger): TestPolicy {
  return buildPolicy(authenticate, options, testServices({ clock, log }));
}

async function run(policy: TestPolicy, token: string) {
  const ctx = testContext({ clock, headers: { authorization: `Bearer ${token}` } });
  const d = ((await policy.onRequest(ctx)) ?? undefined) as Denial | undefined;
  return { d, ctx };
}

function expectInvalid(d: Denial | undefined, description: string): void {
  expect(d?.problem).toMatchObject({
    status: 401,
    type: 'https://rampart.dev/problems/invalid-token',
    detail: description,
  });
  expect(d?.headers?.['www-authenticate']).toContain(`error_description="${description}"`);
}

describe('authenticate: HMAC issuers (the API’s own HS256 tokens)', () => {
  it('accepts a valid HS256 token without kid and maps subject and roles', async () => {
    const { d, ctx } = await run(build({ hmacIssuers: [issuer()] }), await hs(SECRET, claims()));
    expect(d).toBeUndefined();
    expect(ctx.principal).toMatchObject({ id: '42', roles: ['doctor'], issuer: ISS, kind: 'user' });
    expect(ctx.upstreamHeaders['x-authenticated-user']).toBe('42');
  });

  it('requires exp, iat and a subject', async () => {
    const p = build({ hmacIssuers: [issuer()] });
    expectInvalid(
      (await run(p, await hs(SECRET, claims({ exp: undefined })))).d,
      REJECTIONS.missingExp.description,
    );
    expectInvalid(
      (await run(p, await hs(SECRET, claims({ iat: undefined })))).d,
      REJECTIONS.missingIat.description,
    );
    expectInvalid(
      (await run(p, await hs(SECRET, claims({ sub: undefined })))).d,
      REJECTIONS.missingSub.description,
    );
    expectInvalid(
      (await run(p, await hs(SECRET, claims({ exp: NOW - 100 })))).d,
      REJECTIONS.expired.description,
    );
  });

  it('rejects another secret, another audience, alg none and algorithms outside the allow-list', async () => {
    const p = build({ hmacIssuers: [issuer()] });
    expectInvalid((await run(p, await hs(OLD_SECRET, claims()))).d, REJECTIONS.signature.description);
    expectInvalid(
      (await run(p, await hs(SECRET, claims({ aud: 'other' })))).d,
      REJECTIONS.audience.description,
    );
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    expectInvalid(
      (await run(p, `${enc({ alg: 'none', typ: 'JWT' })}.${enc(claims())}.`)).d,
      REJECTIONS.malformed.description,
    );
    expectInvalid(
      (await run(p, `${enc({ alg: 'none', typ: 'JWT' })}.${enc(claims())}.c2ln`)).d,
      REJECTIONS.algorithm.description,
    );
    // HS512 is not listed for this issuer (default [HS256]), even with the right secret.
    const hs512 = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'HS512', typ: 'JWT' })
      .sign(new TextEncoder().encode(SECRET + SECRET));
    expectInvalid((await run(p, hs512)).d, REJECTIONS.algorithm.description);
  });

  it('never accepts an asymmetric algorithm for an HMAC issuer (no algorithm confusion)', async () => {
    const rsa = await keyPair('RS256', 'k1');
    const token = await signToken(rsa, claims(), { typ: 'JWT' });
    expectInvalid((await run(build({ hmacIssuers: [issuer()] }), token)).d, REJECTIONS.algorithm.description);
  });

  it('an issuer cannot be both an HMAC and a JWKS issuer, nor appear twice', () => {
    expect(() =>
      build({
        hmacIssuers: [issuer()],
        issuers: [{ issuer: ISS, audience: AUD, jwksUri: 'https://127.0.0.1/keys' }],
      }),
    ).toThrow(/configured twice/);
    expect(() => build({ hmacIssuers: [issuer(), issuer()] })).toThrow(/configured twice/);
    // HS256 cannot be listed for a JWKS issuer: the schema refuses it.
    expect(() =>
      build({
        issuers: [
          { issuer: 'https://x.test', audience: 'a', jwksUri: 'https://x.test/k', algorithms: ['HS256'] },
        ],
      }),
    ).toThrow();
  });

  it('accepts previous secrets during a rotation', async () => {
    const p = build({ hmacIssuers: [issuer({ previousSecrets: [OLD_SECRET] })] });
    expect((await run(p, await hs(OLD_SECRET, claims()))).d).toBeUndefined();
    expect((await run(p, await hs(SECRET, claims()))).d).toBeUndefined();
  });

  it('caches the verified token: the second request is answered synchronously', async () => {
    const p = build({ hmacIssuers: [issuer()] });
    const token = await hs(SECRET, claims());
    await run(p, token);
    const r = p.onRequest(testContext({ clock, headers: { authorization: `Bearer ${token}` } }));
    expect(r).toBeUndefined();
  });

  it('ignores one trailing newline of a ${file:} secret', async () => {
    const p = build({ hmacIssuers: [issuer({ secret: SECRET + '\n' })] });
    expect((await run(p, await hs(SECRET, claims()))).d).toBeUndefined();
  });
});

describe('authenticate: weak HMAC secrets', () => {
  it('refuses secrets that are short, in the wordlist or repetitive — at build', () => {
    expect(() => build({ hmacIssuers: [issuer({ secret: 'changeme' })] })).toThrow(/wordlist/);
    expect(() => build({ hmacIssuers: [issuer({ secret: 'x'.repeat(20) + 'abcd' })] })).toThrow(/24 bytes/);
    expect(() => build({ hmacIssuers: [issuer({ secret: 'ab'.repeat(20) })] })).toThrow(/repeated/);
    // HS512 needs 64 bytes.
    expect(() => build({ hmacIssuers: [issuer({ algorithms: ['HS256', 'HS512'] })] })).toThrow(
      /HS512 needs at least 64/,
    );
    expect(() => build({ hmacIssuers: [issuer({ previousSecrets: ['your-256-bit-secret'] })] })).toThrow(
      /wordlist/,
    );
  });

  it('every wordlist entry is refused, whatever its case', () => {
    for (const w of JWT_WORDLIST) expect(weakSecretReason(w.toUpperCase(), ['HS256']), w).toBeDefined();
    expect(weakSecretReason(SECRET, ['HS256'])).toBeUndefined();
  });

  it('allowWeakSecret: accepted for the lab demo, logged as an error that never contains the secret', async () => {
    const out: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        out.push(chunk.toString());
        done();
      },
    });
    const log = createLogger({ pretty: false, destination });
    const p = build({ hmacIssuers: [issuer({ secret: 'changeme', allowWeakSecret: true })] }, log);
    expect(out).toHaveLength(1);
    const line = JSON.parse(out[0]!) as { level: number; msg: string; issuer: string };
    expect(line).toMatchObject({ level: 50, issuer: ISS });
    expect(line.msg).toMatch(/^INSECURE/);
    expect(out[0]).not.toContain('changeme');
    // Works, and shows why it is dangerous: anyone can forge with the cracked secret.
    const forged = await hs('changeme', claims({ sub: '1', role: 'admin' }));
    expect((await run(p, forged)).ctx.principal?.roles).toEqual(['admin']);
  });

  it('rampart check reports the weak secret with its pointer and never its value', () => {
    const config = {
      apis: [],
      policies: {
        authenticate: {
          hmacIssuers: [
            issuer({ secret: 'changeme' }),
            issuer({ issuer: 'https://b.test', secret: SECRET, previousSecrets: ['short'] }),
            issuer({ issuer: 'https://c.test', secret: 'secret', allowWeakSecret: true }),
          ],
        },
      },
    } as unknown as RampartFileConfig;
    const errs = crossFieldErrors(config);
    expect(errs.map((e) => '/' + e.segments.join('/'))).toEqual([
      '/policies/authenticate/hmacIssuers/0/secret',
      '/policies/authenticate/hmacIssuers/1/previousSecrets/0',
    ]);
    expect(errs[0]!.message).toMatch(/wordlist/);
    expect(errs[1]!.message).toMatch(/5 bytes/);
    expect(JSON.stringify(errs)).not.toMatch(/changeme|"short"/);
    expect(hmacSecretProblems([])).toEqual([]);
  });
});
