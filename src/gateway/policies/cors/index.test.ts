import { describe, expect, it } from 'vitest';
import type { ResponseContext } from '../../policy.ts';
import { buildPolicy, testContext, testServices } from '../test-context.ts';
import { cors } from './index.ts';

const ORIGIN = 'https://app.example.com';
const build = (opts: Record<string, unknown> = {}) =>
  buildPolicy(cors, { origins: [ORIGIN], ...opts }, testServices());
const response = (headers: ResponseContext['headers'] = {}): ResponseContext => ({
  status: 200,
  headers,
  body: undefined,
  local: false,
});
const preflight = (origin: string) =>
  testContext({
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'DELETE' },
  });

describe('cors', () => {
  it('answers a preflight from an allowed origin with 204 and the configured lists, never forwarded', () => {
    const ctx = preflight(ORIGIN);
    const d = build({ credentials: true }).onRequest(ctx);
    expect(d).toMatchObject({ answer: true, problem: { status: 204 } });
    expect((d as { headers: Record<string, string> }).headers).toMatchObject({
      'access-control-allow-origin': ORIGIN,
      'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE',
      'access-control-allow-credentials': 'true',
      'access-control-max-age': '600',
    });
    expect(ctx.state.cors).toBe('preflight');
  });

  it('refuses a preflight from any other origin with 403 cors-denied (no reflection)', () => {
    const d = build().onRequest(preflight('https://evil.example'));
    expect(d).toMatchObject({ problem: { status: 403, type: 'https://rampart.dev/problems/cors-denied' } });
    expect((d as { headers?: Record<string, string> }).headers).toBeUndefined();
  });

  it('echoes an allowed origin on responses with Vary: Origin; other origins get only Vary', async () => {
    const p = build({ credentials: true });
    const ok = response({ vary: 'Accept' });
    await p.onResponse(testContext({ headers: { origin: ORIGIN } }), ok);
    expect(ok.headers).toMatchObject({
      'access-control-allow-origin': ORIGIN,
      'access-control-allow-credentials': 'true',
      vary: 'Accept, Origin',
    });
    expect(ok.headers['access-control-expose-headers']).toContain('x-request-id');
    const other = response();
    await p.onResponse(testContext({ headers: { origin: 'https://evil.example' } }), other);
    expect(other.headers).toEqual({ vary: 'Origin' });
  });

  it('compares origins case-insensitively, and a non-preflight OPTIONS passes through', () => {
    const p = build();
    expect(p.onRequest(preflight('HTTPS://APP.EXAMPLE.COM'))).toMatchObject({ answer: true });
    expect(p.onRequest(testContext({ method: 'OPTIONS', headers: { origin: ORIGIN } }))).toBeUndefined();
  });

  it('drops the upstream CORS headers and refuses wildcard origins in its options', () => {
    expect(build().hooks.dropResponseHeaders).toContain('access-control-allow-origin');
    expect(() => buildPolicy(cors, { origins: ['*'] }, testServices())).toThrow(/origins\/0/);
  });
});
