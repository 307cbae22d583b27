import type { IncomingMessage } from 'node:http';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import type { ApiKeyVerifier, LocalTokenIssuer } from '../core/auth.ts';
import type { Clock } from '../core/clock.ts';
import type { ProblemCode } from '../core/errors.ts';
import { IpMatcher } from '../gateway/ip.ts';

/** Second-factor combinations (RFC 8176 amr values) that make an admin session MFA. */
const MFA_AMR: readonly (readonly string[])[] = [['mfa'], ['pwd', 'otp'], ['hwk', 'user'], ['swk', 'user']];
const ADMIN_ROLE = 'admin';

export type Verdict =
  | { ok: true; who: string }
  | { ok: false; code: ProblemCode; detail: string; headers: Record<string, string> };

const CHALLENGE = { 'www-authenticate': 'Bearer realm="rampart-admin"' };

function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? /^Bearer ([A-Za-z0-9._~+/=-]{1,4096})$/i.exec(h) : null;
  return m?.[1];
}

const isLoopback = (addr: string | undefined): boolean =>
  addr === '127.0.0.1' ||
  addr === '::1' ||
  addr === '::ffff:127.0.0.1' ||
  (addr?.startsWith('127.') ?? false);

/**
 * Who may use the admin listener's monitoring endpoints (audit log, live feed, alerts):
 * an access token of the built-in identity service whose `roles` hold `admin` and whose
 * `amr` shows a second factor (RFC 8176), or an API key carrying `role:admin`. Health and
 * readiness stay open. `/metrics`: loopback peers, the configured allow-list, the
 * configured bearer token (compared in constant time) or an admin credential.
 */
export class AdminGuard {
  private readonly allow: IpMatcher;
  constructor(
    private readonly o: {
      clock: Clock;
      issuer?: LocalTokenIssuer | undefined;
      apiKeys?: ApiKeyVerifier | undefined;
      metricsToken?: string | undefined;
      metricsAllow?: readonly string[];
    },
  ) {
    this.allow = new IpMatcher(o.metricsAllow ?? []);
  }

  async metrics(req: IncomingMessage): Promise<Verdict> {
    const peer = req.socket.remoteAddress;
    if (isLoopback(peer) || (peer !== undefined && this.allow.has(peer))) return { ok: true, who: 'peer' };
    const token = bearer(req);
    if (this.o.metricsToken !== undefined && token !== undefined && constantEqual(token, this.o.metricsToken))
      return { ok: true, who: 'metrics-token' };
    if (token !== undefined) {
      const admin = await this.admin(req);
      if (admin.ok) return admin;
    }
    return {
      ok: false,
      code: token === undefined ? 'unauthenticated' : 'forbidden',
      detail: '/metrics answers loopback peers, the metrics allow-list or the metrics bearer token',
      headers: CHALLENGE,
    };
  }

  async admin(req: IncomingMessage): Promise<Verdict> {
    const token = bearer(req);
    if (token === undefined)
      return {
        ok: false,
        code: 'unauthenticated',
        detail: 'An admin credential is required (Authorization: Bearer)',
        headers: CHALLENGE,
      };
    if (token.split('.').length === 3) return this.jwt(token);
    const p = this.o.apiKeys ? await this.o.apiKeys.verify(token).catch(() => undefined) : undefined;
    if (!p)
      return {
        ok: false,
        code: 'invalid-token',
        detail: 'The credential is not a valid token or API key',
        headers: { 'www-authenticate': 'Bearer realm="rampart-admin", error="invalid_token"' },
      };
    if (!p.roles.includes(ADMIN_ROLE))
      return {
        ok: false,
        code: 'forbidden',
        detail: 'The API key does not carry the admin role',
        headers: {},
      };
    return { ok: true, who: p.id };
  }

  private async jwt(token: string): Promise<Verdict> {
    const issuer = this.o.issuer;
    const invalid: Verdict = {
      ok: false,
      code: 'invalid-token',
      detail: 'The access token is invalid or expired',
      headers: { 'www-authenticate': 'Bearer realm="rampart-admin", error="invalid_token"' },
    };
    if (!issuer) return invalid;
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      return invalid;
    }
    const key = kid !== undefined ? issuer.publicKey(kid) : undefined;
    if (!key) return invalid;
    let claims: Record<string, unknown>;
    try {
      ({ payload: claims } = await jwtVerify(token, key, {
        algorithms: [...issuer.algorithms],
        issuer: issuer.issuer,
        audience: issuer.audience,
        typ: 'at+jwt',
        currentDate: new Date(this.o.clock.now()),
        requiredClaims: ['sub', 'iat', 'exp'],
      }));
    } catch {
      return invalid;
    }
    const sub = claims.sub as string;
    if (
      issuer.isRevoked({
        sub,
        iat: claims.iat as number,
        ...(typeof claims.sid === 'string' ? { sid: claims.sid } : {}),
        ...(typeof claims.jti === 'string' ? { jti: claims.jti } : {}),
      })
    )
      return invalid;
    const roles = Array.isArray(claims.roles) ? claims.roles : [];
    if (!roles.includes(ADMIN_ROLE))
      return { ok: false, code: 'forbidden', detail: 'The admin role is required', headers: {} };
    const amr = Array.isArray(claims.amr) ? (claims.amr as unknown[]) : [];
    if (!MFA_AMR.some((set) => set.every((v) => amr.includes(v))))
      return {
        ok: false,
        code: 'insufficient-user-authentication',
        detail: 'Admin access needs a session signed in with a second factor',
        headers: {
          'www-authenticate': 'Bearer realm="rampart-admin", error="insufficient_user_authentication"',
        },
      };
    return { ok: true, who: sub };
  }
}

function constantEqual(a: string, b: string): boolean {
  // Length leaks nothing useful about a random token; compare the rest without early exit.
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
