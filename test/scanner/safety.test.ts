import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEED } from '../../src/lab/index.ts';
import { BudgetExhausted, OriginRefused, ScanHttp } from '../../src/scanner/http.ts';
import { runScan } from '../../src/scanner/runner.ts';
import { labIdentities, startRecorder, startScannableLab, type ScannableLab } from './helpers.ts';

// Safe by default: without --unsafe no DELETE/PUT/PATCH reaches an object the scan did
// not create (every request is recorded on its way to the lab), nothing leaves the
// target's origin, and the request budget is a hard stop.

let lab: ScannableLab;
let recorder: Awaited<ReturnType<typeof startRecorder>>;

beforeAll(async () => {
  lab = await startScannableLab('vulnerable');
  recorder = await startRecorder(lab.lab.url);
});

afterAll(async () => {
  await recorder?.close();
  await lab?.close();
});

describe('scanner safety', () => {
  it('sends no write to seeded objects without --unsafe, and writes to the objects it created', async () => {
    const r = await runScan({
      specs: [lab.lab.specs.v2],
      target: recorder.url,
      identities: labIdentities(),
      // Every check that writes (the guard is shared: writableTargets, and each check's own).
      checks: [
        'bola-identity-swap',
        'bfla-role-swap',
        'mass-assignment',
        'business-flow-replay',
        'unbounded-body',
        'conformance',
        'ssrf-canary',
      ],
    });
    expect(r.partial).toBe(false);
    const seeded = [...SEED.aliceRecords, SEED.bobRecord].map((id) => `/v2/records/${id}`);
    const writes = recorder.seen.filter((s) => ['PATCH', 'PUT', 'DELETE'].includes(s.method));
    expect(writes.filter((w) => seeded.includes(w.path.split('?')[0]!))).toEqual([]);
    expect(writes.some((w) => /^\/v2\/records\/\d+$/.test(w.path))).toBe(true); // its own records
    const invoiceActions = recorder.seen.filter(
      (s) => s.method === 'POST' && /^\/v2\/invoices\/\d+\/coupons$/.test(s.path),
    );
    expect(invoiceActions).toEqual([]); // replaying a business action on a seeded invoice needs --unsafe
  }, 60_000);

  it('refuses any origin but the target, and stops at the budget', async () => {
    const stop = new AbortController();
    const http = new ScanHttp({
      target: lab.lab.url,
      maxRequests: 2,
      rate: 0,
      timeoutMs: 2000,
      signal: stop.signal,
    });
    expect(() => http.url('http://169.254.169.254/latest/meta-data/')).toThrow(OriginRefused);
    expect(() => http.url('//evil.example/x')).toThrow(OriginRefused);
    await http.send({ method: 'GET', path: '/v2/health' });
    await http.send({ method: 'GET', path: '/v2/health' });
    await expect(http.send({ method: 'GET', path: '/v2/health' })).rejects.toThrow(BudgetExhausted);
    await http.close();
  });

  it('survives a target that starts resetting connections: notes, no crash, no silent pass', async () => {
    const { createServer } = await import('node:http');
    const { LIBRARY_SPEC, LIBRARY_KEYS } = await import('../fixtures/scanner/library.ts');
    const { parseIdentityFlag } = await import('../../src/scanner/identities.ts');
    let n = 0;
    const flaky = createServer((req, res) => {
      if (++n <= 1) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
      } else req.socket.destroy();
    });
    await new Promise<void>((r) => flaky.listen(0, '127.0.0.1', () => r()));
    const url = `http://127.0.0.1:${(flaky.address() as import('node:net').AddressInfo).port}`;
    const r = await runScan({
      specs: [LIBRARY_SPEC],
      target: url,
      identities: [parseIdentityFlag(`ann:member=X-Library-Key: ${LIBRARY_KEYS.ann}`)],
      timeoutMs: 2000,
    });
    flaky.closeAllConnections();
    await new Promise((res) => flaky.close(res));
    expect(r.findings).toEqual([]);
    expect(r.partial).toBe(true); // the CLI exits 3, not 0
    const notes = r.meta.notes!.join('\n');
    expect(notes).toMatch(/\d+ request\(s\) got no HTTP answer/);
    expect(notes).toMatch(/not tested/);
  });
});
