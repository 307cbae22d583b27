import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { forEachStore } from '../helpers/stores.ts';
import { GOOD_PASSWORD, startHarness, uniqueName, type Harness } from './harness.ts';

forEachStore('identity API keys', (getDb) => {
  let h: Harness;
  let token: string;
  let userId: string;
  let username: string;
  beforeAll(async () => {
    h = await startHarness(getDb());
    username = uniqueName('keys');
    userId = (await h.service.users.add({ username, password: GOOD_PASSWORD, roles: ['reader', 'writer'] }))
      .id;
  });
  beforeEach(async () => {
    // a fresh access token per test (tests move the clock past its 5-minute lifetime)
    token = (await h.call('POST', '/login', { username, password: GOOD_PASSWORD })).body.access_token;
  });
  afterAll(async () => h?.close());

  const create = (body: unknown) => h.call('POST', '/api-keys', body, token);

  it('creates a prefixed key shown once, stored hashed, and verifies it into a principal', async () => {
    const res = await create({ name: 'ci', scopes: ['api:bookstore', 'op:listBooks', 'role:reader'] });
    expect(res.status).toBe(201);
    expect(res.body.key).toMatch(/^rpk_live_[0-9a-z]{26}_[0-9a-z]{52}$/);
    expect(res.body).toMatchObject({
      name: 'ci',
      scopes: ['api:bookstore', 'op:listBooks', 'role:reader'],
      expires_at: null,
    });
    const secret = (res.body.key as string).split('_').pop()!;
    const row = await getDb().one<{ secret_hash: string }>('SELECT secret_hash FROM api_keys WHERE id = $1', [
      res.body.id,
    ]);
    expect(row!.secret_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row!.secret_hash).not.toContain(secret);

    const list = await h.call('GET', '/api-keys', undefined, token);
    expect(list.status).toBe(200);
    expect(JSON.stringify(list.body)).not.toContain(secret);
    expect(list.body.api_keys.map((k: { id: string }) => k.id)).toContain(res.body.id);

    const p = await h.service.apiKeys.verify(res.body.key);
    expect(p).toMatchObject({
      id: userId,
      kind: 'api-key',
      roles: ['reader'],
      issuer: 'api-key',
      scopes: ['api:bookstore', 'op:listBooks', 'role:reader'],
    });
    expect(
      await h.service.apiKeys.verify(res.body.key.slice(0, -1) + (res.body.key.endsWith('a') ? 'b' : 'a')),
    ).toBeUndefined();
    expect(await h.service.apiKeys.verify('rpk_live_nonsense')).toBeUndefined();
  });

  it('refuses roles the owner does not hold and malformed scopes', async () => {
    expect((await create({ name: 'x', scopes: ['role:admin'] })).status).toBe(403);
    expect((await create({ name: 'x', scopes: ['everything'] })).status).toBe(400);
    expect((await create({ name: 'x', scopes: [], owner: 'someone' })).status).toBe(400);
  });

  it('expires keys on the clock', async () => {
    const res = await create({ name: 'short', scopes: ['api:bookstore'], expires_in: 3600 });
    expect(res.body.expires_at).toBe(h.clock.now() + 3_600_000);
    expect(await h.service.apiKeys.verify(res.body.key)).toBeDefined();
    h.clock.advance(3_600_000);
    expect(await h.service.apiKeys.verify(res.body.key)).toBeUndefined();
  });

  it('rotates with an overlap: both keys work until the overlap ends', async () => {
    const old = await create({ name: 'deploy', scopes: ['api:bookstore'] });
    const rot = await h.call('POST', `/api-keys/${old.body.id}/rotate`, { overlap_seconds: 600 }, token);
    expect(rot.status).toBe(201);
    expect(rot.body.key).not.toBe(old.body.key);
    expect(rot.body).toMatchObject({
      name: 'deploy',
      scopes: ['api:bookstore'],
      previous_expires_at: h.clock.now() + 600_000,
    });
    expect(await h.service.apiKeys.verify(old.body.key)).toBeDefined();
    expect(await h.service.apiKeys.verify(rot.body.key)).toBeDefined();
    h.clock.advance(600_000);
    expect(await h.service.apiKeys.verify(old.body.key)).toBeUndefined();
    expect(await h.service.apiKeys.verify(rot.body.key)).toBeDefined();
    token = (await h.call('POST', '/login', { username, password: GOOD_PASSWORD })).body.access_token;
    const twice = await h.call('POST', `/api-keys/${old.body.id}/rotate`, { overlap_seconds: 0 }, token);
    expect(twice.status).toBe(404);
  });

  it('revokes keys at once on this node and records last use in batches', async () => {
    const k = await create({ name: 'temp', scopes: ['api:bookstore'] });
    expect(await h.service.apiKeys.verify(k.body.key)).toBeDefined();
    const before = await getDb().one<{ last_used_at: number | null }>(
      'SELECT last_used_at FROM api_keys WHERE id = $1',
      [k.body.id],
    );
    expect(before!.last_used_at).toBeNull(); // not a write per request
    await (h.service.apiKeys as unknown as { flush(): Promise<void> }).flush();
    const after = await getDb().one<{ last_used_at: number | null }>(
      'SELECT last_used_at FROM api_keys WHERE id = $1',
      [k.body.id],
    );
    expect(Number(after!.last_used_at)).toBe(h.clock.now());
    expect((await h.call('DELETE', `/api-keys/${k.body.id}`, undefined, token)).status).toBe(204);
    expect(await h.service.apiKeys.verify(k.body.key)).toBeUndefined();
    expect((await h.call('DELETE', `/api-keys/${k.body.id}`, undefined, token)).status).toBe(404);
  });

  it('stops honouring keys of a disabled user', async () => {
    const username = uniqueName('gone');
    await h.service.users.add({ username, password: GOOD_PASSWORD });
    const t = (await h.call('POST', '/login', { username, password: GOOD_PASSWORD })).body.access_token;
    const k = await h.call('POST', '/api-keys', { name: 'k', scopes: [] }, t);
    expect(await h.service.apiKeys.verify(k.body.key)).toBeDefined();
    await h.service.users.disable(username);
    expect(await h.service.apiKeys.verify(k.body.key)).toBeUndefined();
    // Revoked in the store too, not only refused while the owner is disabled.
    const row = await getDb().one<{ revoked_at: number | null }>(
      'SELECT revoked_at FROM api_keys WHERE id = $1',
      [k.body.id],
    );
    expect(row!.revoked_at).not.toBeNull();
  });

  it("does not let one user touch another user's keys", async () => {
    const k = await create({ name: 'mine', scopes: [] });
    const username = uniqueName('other');
    await h.service.users.add({ username, password: GOOD_PASSWORD });
    const t = (await h.call('POST', '/login', { username, password: GOOD_PASSWORD })).body.access_token;
    expect((await h.call('DELETE', `/api-keys/${k.body.id}`, undefined, t)).status).toBe(404);
    expect((await h.call('POST', `/api-keys/${k.body.id}/rotate`, { overlap_seconds: 0 }, t)).status).toBe(
      404,
    );
    expect(await h.service.apiKeys.verify(k.body.key)).toBeDefined();
  });
});
