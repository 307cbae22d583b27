import { describe, expect, it } from 'vitest';
import type { RequestContext, ResponseContext } from '../../policy.ts';
import { buildPolicy, testContext, testServices } from '../test-context.ts';
import { requestId } from './index.ts';

const trusted = (headers: Record<string, string>): RequestContext => {
  const ctx = testContext({ id: 'generated-id-1', headers });
  return { ...ctx, trustedPeer: true };
};

describe('request-id', () => {
  it('accepts a plain incoming id only from a trusted proxy', () => {
    const p = buildPolicy(requestId, {}, testServices());
    const fromProxy = trusted({ 'x-request-id': 'abc-123.def:9' });
    p.onRequest(fromProxy);
    expect(fromProxy.id).toBe('abc-123.def:9');
    const fromClient = testContext({ id: 'generated-id-1', headers: { 'x-request-id': 'abc-123.def:9' } });
    p.onRequest(fromClient);
    expect(fromClient.id).toBe('generated-id-1');
  });

  it('ignores unsafe incoming ids (log/header injection) and trustIncoming: false', () => {
    const p = buildPolicy(requestId, {}, testServices());
    for (const bad of ['short', 'has space in it', 'a'.repeat(129), 'x\r\nset-cookie: a=b']) {
      const ctx = trusted({ 'x-request-id': bad });
      p.onRequest(ctx);
      expect(ctx.id).toBe('generated-id-1');
    }
    const off = trusted({ 'x-request-id': 'abc-123.def:9' });
    buildPolicy(requestId, { trustIncoming: false }, testServices()).onRequest(off);
    expect(off.id).toBe('generated-id-1');
  });

  it('returns the id on every response, under a custom header sent upstream too', async () => {
    const p = buildPolicy(requestId, { header: 'X-Correlation-Id' }, testServices());
    const ctx = testContext({ id: 'generated-id-1' });
    p.onRequest(ctx);
    expect(ctx.upstreamHeaders['x-correlation-id']).toBe('generated-id-1');
    const res: ResponseContext = { status: 404, headers: {}, body: undefined, local: true };
    await p.onResponse(ctx, res);
    expect(res.headers['x-correlation-id']).toBe('generated-id-1');
  });
});
