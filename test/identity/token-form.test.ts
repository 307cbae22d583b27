import { expect, it } from 'vitest';
import { forEachStore } from '../helpers/stores.ts';
import { GOOD_PASSWORD, startHarness, uniqueName, type Harness } from './harness.ts';

// RFC 6749 §3.2 and §6: standard OAuth client libraries send the refresh grant as a form.
forEachStore('POST /auth/token', (getDb) => {
  const withHarness = async (fn: (h: Harness) => Promise<void>) => {
    const h = await startHarness(getDb());
    try {
      await fn(h);
    } finally {
      await h.close();
    }
  };
  const refreshOf = async (h: Harness) => {
    const username = uniqueName('form');
    await h.service.users.add({ username, password: GOOD_PASSWORD });
    const r = await h.call('POST', '/login', { username, password: GOOD_PASSWORD });
    return r.body.refresh_token as string;
  };
  const form = (h: Harness, body: string, type = 'application/x-www-form-urlencoded') =>
    h.raw('POST', '/token', body, { 'content-type': type });

  it('accepts application/x-www-form-urlencoded (with client_id and scope) as well as JSON', async () => {
    await withHarness(async (h) => {
      const refresh = await refreshOf(h);
      const r = await form(
        h,
        new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: refresh,
          client_id: 'spa',
        }).toString(),
        'application/x-www-form-urlencoded; charset=UTF-8',
      );
      expect(r.status).toBe(200);
      expect(r.body.token_type).toMatch(/^Bearer$/i);
      const again = await h.call('POST', '/token', {
        grant_type: 'refresh_token',
        refresh_token: r.body.refresh_token,
      });
      expect(again.status).toBe(200);
    });
  });

  it('answers OAuth error codes beside the problem members; refuses repeated parameters and other types', async () => {
    await withHarness(async (h) => {
      const bad = await form(h, 'grant_type=refresh_token&refresh_token=not-a-token');
      expect(bad.status).toBe(401);
      expect(bad.headers.get('content-type')).toBe('application/problem+json');
      expect(bad.body).toMatchObject({ error: 'invalid_grant', status: 401 });
      const twice = await form(h, 'grant_type=refresh_token&refresh_token=a&refresh_token=b');
      expect(twice.status).toBe(400);
      expect(twice.body).toMatchObject({
        error: 'invalid_request',
        detail: 'Parameter "refresh_token" is sent more than once',
      });
      const missing = await form(h, 'grant_type=password&username=x');
      expect(missing.status).toBe(400);
      expect(missing.body.error).toBe('invalid_request');
      const xml = await form(h, '<grant/>', 'application/xml');
      expect(xml.status).toBe(415);
      expect(xml.body.detail).toBe('Send the body as application/x-www-form-urlencoded or application/json');
      // Other endpoints stay JSON-only.
      const login = await h.raw('POST', '/login', 'username=a&password=b', {
        'content-type': 'application/x-www-form-urlencoded',
      });
      expect(login.status).toBe(415);
    });
  });
});
