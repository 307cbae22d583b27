/**
 * The lab's exploits, pointed at the gateway in front of the vulnerable lab: which
 * planted flaws the current default chain already stops. The expected set is explicit,
 * so each policy that lands (validation, rate limits, ownership…) grows it on purpose.
 */
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exploits, type ExploitContext } from '../../src/lab/exploits.ts';
import { flaws } from '../../src/lab/flaws.ts';
import { tmpdir } from 'node:os';
import { startMetadataStub, type LabServer, type StubServer } from '../../src/lab/index.ts';
import { startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { DEMO_POLICIES, demoApis, demoEgress, startDemoLab } from '../../src/cli/demo.ts';
import { configFromObject, startEgress } from '../../src/cli/app.ts';
import { ManualClock } from '../../src/core/clock.ts';
import { silentLogger } from '../../src/core/logger.ts';
import type { EgressServer } from '../../src/gateway/egress/index.ts';

/** Flaws the gateway blocks today with the vulnerable lab behind it, and why. */
const BLOCKED_BY_GATEWAY: Record<string, string> = {
  'verbose-errors': 'upstream 5xx bodies with stack traces are replaced by a generic problem',
  'cors-any-origin':
    'the gateway owns CORS: upstream reflection is dropped, only configured origins are echoed',
  'missing-security-headers': 'security-headers adds the OWASP headers to every response',
  'debug-endpoint': 'an undocumented path is not in the contract: 404 (shadow endpoint)',
  'unbounded-body': 'bodies over limits.maxBodyBytes (1 MiB) get 413 before reaching the upstream',
  'path-traversal-documents': 'encoded slashes and dot segments are refused with 400 invalid-path',
  'user-data-exposure':
    'minimise-response drops passwordHash, nationalId and apiToken: the User schema does not declare them',
  'doctor-directory-pii': 'minimise-response keeps only the Doctor schema (id, fullName, specialty)',
  'unbounded-page-size': 'validate-request bounds limit by its documented maximum (400 with errors)',
  'redos-email':
    'validate-request refuses the malformed email (format: email, linear check) before the lab’s regex sees it',
  'ssrf-avatar': 'ssrf-guard refuses a loopback URL in a format: uri field (422 url-not-allowed)',
  'sqli-record-search': 'injection-guard detects the UNION in the search text (400 injection-detected)',
  'command-injection-labels': 'validate-request: the label text breaks its documented pattern (422)',
  'insurer-answer-trusted':
    'egress validates the insurer answer against its OpenAPI document: 502 before the lab uses it',
};

let lab: LabServer;
let metadata: StubServer;
let gw: TestGateway;
let egress: EgressServer | undefined;
let ctx: ExploitContext;
const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });

beforeAll(async () => {
  metadata = await startMetadataStub();
  // The demo's setup: the lab's insurer calls go through the egress listener.
  const demo = await startDemoLab();
  lab = demo.lab;
  gw = await startTestGateway(lab.url, {
    apis: demoApis(lab.url),
    policies: DEMO_POLICIES,
  });
  const config = configFromObject({ egress: demoEgress(demo.insurerUrl) }, tmpdir());
  egress = await startEgress(config, silentLogger, new ManualClock(0), (e) => gw.events.push(e));
  demo.useEgress(egress!.url);
  ctx = {
    internalUrl: metadata.url,
    internalHits: metadata.hits,
    fetch: ((u: string, init?: RequestInit) =>
      undiciFetch(u, { ...(init as object), dispatcher })) as unknown as typeof fetch,
  };
});

afterAll(async () => {
  await gw?.close();
  await egress?.close();
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
