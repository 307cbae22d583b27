import type { IncomingMessage } from 'node:http';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import type { ApiKeyVerifier, LocalTokenIssuer } from '../core/auth.ts';
import type { Clock } from '../core/clock.ts';
import type { ProblemCode } from '../core/errors.ts';
import { IpMatcher } from '../gateway/ip.ts';

/** Second-factor combinations (RFC 8176 amr values) that make an admin session MFA. */
const MFA_AMR: readonly (readonly string[])[] = [['mfa'], ['pwd', 'otp'], ['hwk', 'user'], ['swk', 'user']];
/** Who may read the admin listener's monitoring endpoints, and who may change things. */
export const READ_ROLES: readonly string[] = ['admin', 'viewer'];
export const ADMIN_ROLES: readonly string[] = ['admin'];

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
 * Who may use the admin listener's older endpoints (audit log, live feed, alerts, inventory,
 * the console's live summary): an access token of the built-in identity service whose `amr`
 * shows a second factor (RFC 8176), or an API key, carrying a role the endpoint allows —
 * {@link AdminGuard.read} lets `viewer` and `admin` read, {@link AdminGuard.admin} lets only
 * `admin` act (docs/admin-api.md, the role matrix). Health and readiness stay open.
 * `/metrics`: loopback peers, the configured allow-list, the configured bearer token
 * (compared in constant time) or a read credential.
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
      /** Loopback peers scrape /metrics without a credential (default true). */
      metricsLoopback?: boolean;
    },
  ) {
    this.allow = new IpMatcher(o.metricsAllow ?? []);
  }

  async metrics(req: IncomingMessage): Promise<Verdict> {
    const peer = req.socket.remoteAddress;
    const loopback = (this.o.metricsLoopback ?? true) && isLoopback(peer);
    if (loopback || (peer !== undefined && this.allow.has(peer))) return { ok: true, who: 'peer' };
    const token = bearer(req);
    if (this.o.metricsToken !== undefined && token !== undefined && constantEqual(token, this.o.metricsToken))
      return { ok: true, who: 'metrics-token' };
    if (token !== undefined) {
      const reader = await this.read(req);
      if (reader.ok) return reader;
    }
    return {
      ok: false,
      code: token === undefined ? 'unauthenticated' : 'forbidden',
      detail:
        '/metrics answers the metrics allow-list (and loopback peers unless turned off), the metrics bearer token or a viewer or admin credential',
      headers: CHALLENGE,
    };
  }

  /** A credential with a role that may read (`viewer` or `admin`). */
  read(req: IncomingMessage): Promise<Verdict> {
    return this.check(req, READ_ROLES);
  }

  /** A credential with the `admin` role: what may change things. */
  admin(req: IncomingMessage): Promise<Verdict> {
    return this.check(req, ADMIN_ROLES);
  }

  private async check(req: IncomingMessage, allowed: readonly string[]): Promise<Verdict> {
    const token = bearer(req);
    if (token === undefined)
      return {
        ok: false,
        code: 'unauthenticated',
        detail: 'An admin credential is required (Authorization: Bearer)',
        headers: CHALLENGE,
      };
    if (token.split('.').length === 3) return this.jwt(token, allowed);
    const p = this.o.apiKeys ? await this.o.apiKeys.verify(token).catch(() => undefined) : undefined;
    if (!p)
      return {
        ok: false,
        code: 'invalid-token',
        detail: 'The credential is not a valid token or API key',
        headers: { 'www-authenticate': 'Bearer realm="rampart-admin", error="invalid_token"' },
      };
    if (!p.roles.some((r) => allowed.includes(r)))
      return {
        ok: false,
        code: 'forbidden',
        detail: `The API key carries none of the roles ${allowed.join(', ')}`,
        headers: {},
      };
    return { ok: true, who: p.id };
  }

  private async jwt(token: string, allowed: readonly string[]): Promise<Verdict> {
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
    if (!roles.some((r) => typeof r === 'string' && allowed.includes(r)))
      return {
        ok: false,
        code: 'forbidden',
        detail:
          allowed.length === 1
            ? `The ${allowed[0]} role is required`
            : `One of the roles ${allowed.join(', ')} is required`,
        headers: {},
      };
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
