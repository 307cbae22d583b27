/**
 * Micro-benchmark of bearer-token verification in the `authenticate` policy: own ES256
 * access tokens, verified by jose with a KeyObject, with and without the cache of
 * verified tokens. Prints verifications per second.
 *
 *   node --import tsx bench/auth-verify.ts [seconds-per-case=2]
 *
 * Cases:
 * - jose jwtVerify alone (the floor of an uncached verification);
 * - the policy with cacheSize 0 (every request verifies the signature);
 * - the policy with the cache, one token repeated (a client reusing its token);
 * - the policy with the cache, 1 000 distinct tokens in rotation (many users);
 * each sequentially (one request at a time) and, for the uncached paths, with 32
 * verifications in flight (WebCrypto runs ECDSA on libuv's thread pool).
 */
import { jwtVerify } from 'jose';
import { ManualClock } from '../src/core/clock.ts';
import { authenticate } from '../src/gateway/policies/authenticate/index.ts';
import { keyPair, signToken, TestLocalIssuer } from '../src/gateway/policies/authenticate/testing.ts';
import {
  buildPolicy,
  testContext,
  testServices,
  type TestContext,
  type TestPolicy,
} from '../src/gateway/policies/test-context.ts';

const seconds = Number(process.argv[2] ?? 2);
const ISS = 'https://id.rampart.bench';
const AUD = 'rampart';

const clock = new ManualClock(Date.UTC(2026, 0, 1, 12));
const now = clock.now() / 1000;
const key = await keyPair('ES256', 'bench-1');
const issuer = new TestLocalIssuer(ISS, AUD, [key]);
const claims = (sub: string) => ({
  iss: ISS,
  aud: AUD,
  sub,
  iat: now,
  exp: now + 900,
  jti: `jti-${sub}`,
  sid: `sid-${sub}`,
  roles: ['customer'],
  amr: ['pwd', 'otp', 'mfa'],
  acr: 'urn:rampart:acr:mfa',
  auth_time: now,
});
const one = await signToken(key, claims('user-1'));
const many = await Promise.all(Array.from({ length: 1000 }, (_, i) => signToken(key, claims(`user-${i}`))));

function policy(cacheSize: number): TestPolicy {
  return buildPolicy(authenticate, { cacheSize }, testServices({ clock, localIssuer: issuer }));
}

function contexts(tokens: string[]): TestContext[] {
  return tokens.map((t) => testContext({ clock, headers: { authorization: `Bearer ${t}` } }));
}

/** Untimed warm-up (JIT, WebCrypto key import caches) before each measured case. */
const WARMUP_MS = 500;

/** Runs `op` sequentially for `seconds`, returns ops/s. Awaits only when op returns a promise. */
async function sequential(op: (i: number) => unknown, warm = true): Promise<number> {
  if (warm) await sequential(op, false);
  const end = performance.now() + (warm ? seconds * 1000 : WARMUP_MS);
  let n = 0;
  const start = performance.now();
  while (performance.now() < end) {
    for (let j = 0; j < 64; j++, n++) {
      const r = op(n);
      if (r instanceof Promise) await r;
    }
  }
  return n / ((performance.now() - start) / 1000);
}

/** `concurrency` loops of `op` in flight at once, for `seconds`. */
async function concurrent(
  op: (i: number) => Promise<unknown>,
  concurrency: number,
  warm = true,
): Promise<number> {
  if (warm) await concurrent(op, concurrency, false);
  const end = performance.now() + (warm ? seconds * 1000 : WARMUP_MS);
  let n = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) await op(n++);
    }),
  );
  return n / ((performance.now() - start) / 1000);
}

function check(ctx: TestContext, r: unknown): void {
  if (r !== undefined || ctx.principal === undefined) throw new Error('verification failed in benchmark');
  ctx.principal = undefined;
}

const verifyOptions = {
  algorithms: ['ES256'],
  issuer: ISS,
  audience: AUD,
  typ: 'at+jwt',
  clockTolerance: 30,
  currentDate: new Date(clock.now()),
  requiredClaims: ['exp', 'iat', 'sub'],
};

const results: Array<[string, number]> = [];
const record = (name: string, v: number) => {
  results.push([name, v]);
  console.log(`${name.padEnd(58)} ${Math.round(v).toLocaleString('en-US').padStart(12)} verifications/s`);
};

console.log(
  `auth-verify: ES256 at+jwt (${one.length} bytes), ${seconds}s per case, node ${process.version}\n`,
);

record(
  'jose jwtVerify + KeyObject, sequential',
  await sequential(() => jwtVerify(one, key.publicKeyObject, verifyOptions)),
);
record(
  'jose jwtVerify + KeyObject, 32 in flight',
  await concurrent(() => jwtVerify(one, key.publicKeyObject, verifyOptions), 32),
);

{
  const p = policy(0);
  const [ctx] = contexts([one]);
  record(
    'policy, no cache, sequential',
    await sequential(() => (p.onRequest(ctx!) as Promise<unknown>).then((r) => check(ctx!, r))),
  );
  const ctxs = contexts(Array.from({ length: 32 }, () => one));
  let k = 0;
  record(
    'policy, no cache, 32 in flight',
    await concurrent(() => {
      const c = ctxs[k++ % 32]!;
      return (p.onRequest(c) as Promise<unknown>).then((r) => check(c, r));
    }, 32),
  );
}
{
  const p = policy(10_000);
  const [ctx] = contexts([one]);
  await p.onRequest(ctx!);
  ctx!.principal = undefined;
  record(
    'policy, cache, same token (hit: sync, isRevoked each time)',
    await sequential(() => check(ctx!, p.onRequest(ctx!))),
  );
}
{
  const p = policy(10_000);
  const ctxs = contexts(many);
  for (const c of ctxs) {
    await p.onRequest(c);
    c.principal = undefined;
  }
  record(
    'policy, cache, 1000 distinct tokens in rotation',
    await sequential((i) => check(ctxs[i % 1000]!, p.onRequest(ctxs[i % 1000]!))),
  );
}

const uncached = results.find(([n]) => n === 'policy, no cache, sequential')![1];
const cached = results.find(([n]) => n.startsWith('policy, cache, same token'))![1];
console.log(`\ncache speed-up (sequential): ×${(cached / uncached).toFixed(0)}`);
