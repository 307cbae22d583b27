/**
 * Test harness for the identity service: a real HTTP server on 127.0.0.1:0 around
 * `service.handle`, a ManualClock, collected events, and TOTP codes from oathtool at
 * the clock's time. Never prints secrets: helpers return values, tests assert on them.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import { ManualClock } from '../../src/core/clock.ts';
import { ProblemError } from '../../src/core/errors.ts';
import type { RampartEvent } from '../../src/core/events.ts';
import {
  createIdentityService,
  type IdentityConfigInput,
  type IdentityService,
} from '../../src/identity/index.ts';
import type { PasskeyApi } from '../../src/identity/service.ts';
import type { Db } from '../../src/store/types.ts';

export const PREFIX = '/auth';
/** Cheap scrypt for tests (the real OWASP cost is covered in passwords.test.ts). */
export const FAST_SCRYPT = { ln: 10, r: 8, p: 1 };

export interface Harness {
  service: IdentityService;
  clock: ManualClock;
  events: RampartEvent[];
  base: string;
  call(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
    headers?: Record<string, string>,
  ): Promise<Reply>;
  raw(method: string, path: string, body: Buffer | string, headers: Record<string, string>): Promise<Reply>;
  close(): Promise<void>;
}

export interface Reply {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export async function startHarness(
  db: Db,
  config: IdentityConfigInput = {},
  opts: { clock?: ManualClock; passkeys?: PasskeyApi; key?: Buffer } = {},
): Promise<Harness> {
  const clock = opts.clock ?? new ManualClock(Date.UTC(2026, 0, 1, 12, 0, 0));
  const events: RampartEvent[] = [];
  const service = await createIdentityService({
    db,
    clock,
    emit: (e) => events.push(e),
    keyEncryptionKey: opts.key ?? TEST_KEK,
    background: false,
    ...(opts.passkeys ? { passkeys: opts.passkeys } : {}),
    config: {
      prefix: PREFIX,
      issuer: 'http://127.0.0.1/auth',
      ...config,
      passwords: { scrypt: FAST_SCRYPT, ...config.passwords },
    },
  });
  const server: Server = createServer((req, res) => void service.handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}${PREFIX}`;
  const parse = async (res: Response): Promise<Reply> => {
    const text = await res.text();
    let body: unknown = text;
    if (/json/.test(res.headers.get('content-type') ?? '') && text) body = JSON.parse(text);
    return { status: res.status, headers: res.headers, body };
  };
  return {
    service,
    clock,
    events,
    base,
    async call(method, path, body, token, headers = {}) {
      const res = await fetch(base + path, {
        method,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...headers,
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return parse(res);
    },
    async raw(method, path, body, headers) {
      return parse(await fetch(base + path, { method, headers, body }));
    },
    async close() {
      await service.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export const TEST_KEK = randomBytes(32);

/** The TOTP code oathtool computes for `secret` at `nowMs` (RFC 6238 reference interop). */
export function oathtool(secret: string, nowMs: number): string {
  return execFileSync(
    '/usr/bin/oathtool',
    ['--totp', '-b', secret, '--now', `@${Math.floor(nowMs / 1000)}`],
    { encoding: 'utf8' },
  ).trim();
}

export function decodeJwt(token: string): {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
} {
  const [h, p] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h!, 'base64url').toString('utf8')) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(p!, 'base64url').toString('utf8')) as Record<string, unknown>,
  };
}

let counter = 0;
/** A unique username per test (tests in one store block share the database). */
export function uniqueName(base: string): string {
  counter++;
  return `${base}${counter}-${randomBytes(3).toString('hex')}`;
}

export const GOOD_PASSWORD = 'violet-harbour-lantern-42';
export const SHORT_MFA_PASSWORD = 'vX9!kq2#Lm';

/** Creates a user with TOTP enrolled and confirmed; returns the secret and recovery codes. */
export async function userWithTotp(
  h: Harness,
  roles: string[] = [],
): Promise<{ username: string; id: string; secret: string; recoveryCodes: string[] }> {
  const username = uniqueName('totp');
  const user = await h.service.users.add({ username, password: GOOD_PASSWORD, roles });
  const login = await h.call('POST', '/login', { username, password: GOOD_PASSWORD });
  const token = login.body.access_token as string;
  const enroll = await h.call('POST', '/totp/enroll', {}, token);
  const secret = enroll.body.secret as string;
  const confirm = await h.call('POST', '/totp/confirm', { code: oathtool(secret, h.clock.now()) }, token);
  if (confirm.status !== 200) throw new Error(`confirm failed: ${confirm.status}`);
  h.clock.advance(30_000); // the next code is a later step
  return { username, id: user.id, secret, recoveryCodes: confirm.body.recovery_codes as string[] };
}

/** Full TOTP login; returns the token response. */
export async function loginWithTotp(h: Harness, u: { username: string; secret: string }): Promise<Reply> {
  const first = await h.call('POST', '/login', { username: u.username, password: GOOD_PASSWORD });
  if (first.status !== 200 || !first.body.mfa_token) throw new Error(`password step failed: ${first.status}`);
  return h.call('POST', '/login/totp', {
    mfa_token: first.body.mfa_token,
    code: oathtool(u.secret, h.clock.now()),
  });
}

/** The ProblemError a promise rejects with (fails the test when it resolves or rejects otherwise). */
export async function problemOf(p: Promise<unknown>): Promise<ProblemError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProblemError);
  return err as ProblemError;
}
