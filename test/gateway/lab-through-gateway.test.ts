/**
 * The lab's exploits, pointed at the gateway in front of the vulnerable lab: which
 * planted flaws the current default chain already stops. The expected set is explicit,
 * so each policy that lands (validation, rate limits, ownership…) grows it on purpose.
 */
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exploits, type ExploitContext } from '../../src/lab/exploits.ts';
import { flaws } from '../../src/lab/flaws.ts';
import { startLab, startMetadataStub, type LabServer, type StubServer } from '../../src/lab/index.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { DEMO_POLICIES, demoApis } from '../../src/cli/demo.ts';

/** Flaws the gateway blocks today with the vulnerable lab behind it, and why. */
const BLOCKED_BY_GATEWAY: Record<string, string> = {
  'verbose-errors': 'upstream 5xx bodies with stack traces are replaced by a generic problem',
  'cors-any-origin':
    'the gateway owns CORS: upstream reflection is dropped, only configured origins are echoed',
  'missing-security-headers': 'security-headers adds the OWASP headers to every response',
  'debug-endpoint': 'an undocumented path is not in the contract: 404 (shadow endpoint)',
  'unbounded-body': 'bodies over limits.maxBodyBytes (1 MiB) get 413 before reaching the upstream',
  'path-traversal-documents': 'encoded slashes and dot segments are refused with 400 invalid-path',
  'login-brute-force':
    "brute-force: the lab's x-rampart.bruteForce locks the username after 5 failures (429, Retry-After)",
  'coupon-replay': 'flow-limit: the demo declares redeem-coupon, once per invoice and caller per 30 days',
};

let lab: LabServer;
let metadata: StubServer;
let gw: TestGateway;
let ctx: ExploitContext;
const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });

beforeAll(async () => {
  metadata = await startMetadataStub();
  lab = await startLab({ mode: 'vulnerable' });
  gw = await startTestGateway(lab.url, {
    apis: demoApis(lab.url),
    policies: DEMO_POLICIES,
  });
  ctx = {
    internalUrl: metadata.url,
    internalHits: metadata.hits,
    fetch: ((u: string, init?: RequestInit) =>
      undiciFetch(u, { ...(init as object), dispatcher })) as unknown as typeof fetch,
  };
});

afterAll(async () => {
  await gw?.close();
  await lab?.close();
  await metadata?.close();
});

describe('lab exploits through the gateway (default chain)', () => {
  it.each(flaws.map((f) => [f.id, f.owasp] as const))('%s (%s)', async (id) => {
    const r = await exploits[id]!(gw.url, ctx);
    if (id in BLOCKED_BY_GATEWAY)
      expect(r.exploited, `${id} should be blocked: ${BLOCKED_BY_GATEWAY[id]} — ${r.evidence}`).toBe(false);
    else
      expect(
        r.exploited,
        `${id} is now blocked by the gateway: add it to BLOCKED_BY_GATEWAY — ${r.evidence}`,
      ).toBe(true);
  });
});
