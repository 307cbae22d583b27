/**
 * Issue #18: console sessions and the alert desk live in the store (migration 0610), so they
 * survive a restart and are shared by every `--workers` process — here a second App on the
 * same config and store, as each worker is. Idle and absolute timeouts are enforced from the
 * stored times with the injected clock. Real SQLite files and a real PostgreSQL database.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/cli/app.ts';
import type { Alert } from '../../src/monitor/index.ts';
import { freshPgDatabase } from '../helpers/pg.ts';
import { storeKinds } from '../helpers/stores.ts';
import { P, startAdminStack, type AdminStack, type ConsoleLogin, type Reply } from './stack.ts';

const IDLE = 10 * 60_000;
const ABSOLUTE = 60 * 60_000;

const cookieOf = (l: ConsoleLogin, csrf = true) => ({
  cookie: `rampart_admin_session=${l.cookie}`,
  ...(csrf ? { 'x-csrf-token': l.csrf } : {}),
});

function expectProblem(r: Reply, status: number, code: string): void {
  expect(r.status, r.text).toBe(status);
  expect(r.headers['content-type']).toBe('application/problem+json');
  expect(r.body.type).toBe(P + code);
}

for (const kind of storeKinds) {
  describe(`console sessions and the alert desk in the store [${kind}]`, () => {
    let s: AdminStack;
    let peer: { app: App; call: AdminStack['call']; close(): Promise<void> };
    const alert = (fingerprint: string, startsAt: number): Alert => ({
      fingerprint,
      rule: 'denials-spike',
      severity: 'warning',
      state: 'firing',
      labels: { alertname: 'denials-spike', severity: 'warning' },
      summary: 'many denials',
      value: 7,
      startsAt,
    });

    beforeAll(async () => {
      s = await startAdminStack({
        sessions: { idleTimeoutMs: IDLE, absoluteTimeoutMs: ABSOLUTE },
        ...(kind === 'postgres' ? { store: await freshPgDatabase('admin_persist') } : {}),
      });
      peer = await s.startPeer();
    }, 90_000);
    afterAll(async () => {
      await peer?.close();
      await s?.close();
    });

    it('keeps no secret of a session readable in the store', async () => {
      const login = await s.signIn(s.viewer);
      const rows = await s.app.db.query<{ key: string; sealed: string }>(
        'SELECT key, sealed FROM console_sessions',
      );
      expect(rows.length).toBeGreaterThan(0);
      const dump = JSON.stringify(rows);
      expect(dump).not.toContain(login.cookie);
      expect(dump).not.toContain(login.csrf);
      expect(dump).not.toMatch(/eyJ|watcher/); // no JWT, no username
    });

    it('a session signed in on one worker works on another; sign-out on one ends it on both', async () => {
      const login = await s.signIn(s.admin);
      const there = await peer.call('GET', '/admin/api/session', { headers: cookieOf(login, false) });
      expect(there.status, there.text).toBe(200);
      expect(there.body.user.username).toBe(s.admin.username);
      // A change on the other worker with the CSRF token of the first.
      const validate = await peer.call('POST', '/admin/api/config/validate', { headers: cookieOf(login) });
      expect(validate.status, validate.text).toBe(200);
      const out = await s.call('DELETE', '/admin/api/session', { headers: cookieOf(login) });
      expect(out.status).toBe(204);
      expectProblem(
        await peer.call('GET', '/admin/api/session', { headers: cookieOf(login, false) }),
        401,
        'unauthenticated',
      );
    });

    it('idle timeout from the stored last use: activity on one worker keeps it alive on the other', async () => {
      const login = await s.signIn(s.admin);
      s.clock.advance(IDLE - 60_000);
      expect((await s.call('GET', '/admin/api/session', { headers: cookieOf(login, false) })).status).toBe(
        200,
      );
      s.clock.advance(IDLE - 60_000); // past the idle time since sign-in, not since the last use
      expect((await peer.call('GET', '/admin/api/session', { headers: cookieOf(login, false) })).status).toBe(
        200,
      );
      s.clock.advance(IDLE);
      const r = await peer.call('GET', '/admin/api/session', { headers: cookieOf(login, false) });
      expectProblem(r, 401, 'unauthenticated');
      expect(r.body.detail).toMatch(/inactivity/);
      expect(String(r.headers['set-cookie'])).toMatch(/Max-Age=0/);
      // Ended in the store: the first worker does not know it either.
      const again = await s.call('GET', '/admin/api/session', { headers: cookieOf(login, false) });
      expectProblem(again, 401, 'unauthenticated');
      expect(again.body.detail).toMatch(/unknown or has ended/);
    });

    it('absolute timeout from the stored sign-in time, however active the session', async () => {
      const login = await s.signIn(s.viewer);
      for (let t = 0; t < ABSOLUTE; t += IDLE / 2) {
        s.clock.advance(IDLE / 2);
        const on = t % IDLE === 0 ? peer : s;
        const r = await on.call('GET', '/admin/api/session', { headers: cookieOf(login, false) });
        if (r.status !== 200) {
          expectProblem(r, 401, 'unauthenticated');
          expect(r.body.detail).toMatch(/maximum age/);
          return;
        }
      }
      throw new Error('the session outlived its absolute timeout');
    });

    it('acknowledging and silencing on one worker shows on the other', async () => {
      const startsAt = s.clock.now();
      s.app.monitor!.engine.external(alert('shared-alert', startsAt));
      peer.app.monitor!.engine.external(alert('shared-alert', startsAt));
      const login = await s.signIn(s.admin);
      const ack = await s.call('POST', '/admin/api/alerts/shared-alert/acknowledge', {
        body: { note: 'on it' },
        headers: cookieOf(login),
      });
      expect(ack.status, ack.text).toBe(200);
      const until = s.clock.now() + 3_600_000;
      const sil = await peer.call('POST', '/admin/api/alerts/shared-alert/silence', {
        body: { until: new Date(until).toISOString() },
        headers: cookieOf(login),
      });
      expect(sil.status, sil.text).toBe(200);
      // Both actions kept, whichever worker wrote them.
      const list = await s.call('GET', '/admin/api/alerts?status=silenced', {
        headers: cookieOf(login, false),
      });
      const seen = list.body.items.find((x: { id: string }) => x.id === 'shared-alert');
      expect(seen).toMatchObject({ status: 'silenced', silencedUntil: until });
      expect(seen.annotations.map((x: { action: string }) => x.action)).toEqual(['acknowledge', 'silence']);
      expect(await peer.app.monitor!.desk.silenced('shared-alert')).toBe(true);
      expect(await s.app.monitor!.desk.silenced('shared-alert')).toBe(true);
    });

    it('survives a restart: the session cookie and the desk marks; a later firing reopens', async () => {
      const startsAt = s.clock.now();
      s.app.monitor!.engine.external(alert('restart-alert', startsAt));
      const login = await s.signIn(s.admin);
      s.clock.advance(1000);
      const r = await s.call('POST', '/admin/api/alerts/restart-alert/resolve', {
        body: { note: 'fixed the upstream' },
        headers: cookieOf(login),
      });
      expect(r.status, r.text).toBe(200);

      await s.restart();
      // The same cookie and CSRF token, on the restarted process.
      const me = await s.call('GET', '/admin/api/session', { headers: cookieOf(login, false) });
      expect(me.status, me.text).toBe(200);
      expect(me.body.csrfToken).toBe(login.csrf);
      // The rule engine's alerts are in memory: the same firing comes back, still resolved.
      s.app.monitor!.engine.external(alert('restart-alert', startsAt));
      const listed = await s.call('GET', '/admin/api/alerts', { headers: cookieOf(login, false) });
      const same = listed.body.items.find((x: { id: string }) => x.id === 'restart-alert');
      expect(same).toMatchObject({
        status: 'resolved',
        annotations: [{ action: 'resolve', note: 'fixed the upstream' }],
      });
      // A firing that starts after the resolution reopens it.
      s.clock.advance(60_000);
      s.app.monitor!.engine.external({ ...alert('restart-alert', s.clock.now()), value: 9 });
      const reopened = await s.call('GET', '/admin/api/alerts?status=open', {
        headers: cookieOf(login, false),
      });
      expect(reopened.body.items.map((x: { id: string }) => x.id)).toContain('restart-alert');
    });
  });
}
