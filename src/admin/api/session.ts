/**
 * Console sessions: what the admin SPA signs in to. The session is server-side (in memory):
 * the cookie carries only a random 256-bit id, the store keys it by its SHA-256. Behind it sit
 * the identity service's tokens of that sign-in (password + TOTP); every request of the
 * session is authenticated with them by the admin chain's `authenticate` policy, so
 * revocation, a disabled user or a changed role take effect as for any bearer caller.
 *
 * - CSRF: a synchronizer token per session, returned in the sign-in answer and sent back in
 *   `X-CSRF-Token` on every state-changing request (compared in constant time); a request
 *   whose `Origin` is not the admin listener's own is refused too.
 * - Timeouts from the injected clock: idle (no request for `idleTimeoutMs`) and absolute
 *   (`absoluteTimeoutMs` after sign-in, re-authentication included).
 * - Re-authentication issues a new session id and CSRF token (the old cookie stops working).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../core/clock.ts';
import type { ConsoleAuth, ConsoleTokens } from '../../identity/index.ts';

export const SESSION_COOKIE = 'rampart_admin_session';
export const CSRF_HEADER = 'x-csrf-token';

export interface SessionTimeouts {
  /** A session unused for this long ends (ms). Default 15 minutes. */
  idleTimeoutMs: number;
  /** A session ends this long after sign-in whatever happens (ms). Default 8 hours. */
  absoluteTimeoutMs: number;
}

export const DEFAULT_TIMEOUTS: SessionTimeouts = {
  idleTimeoutMs: 15 * 60_000,
  absoluteTimeoutMs: 8 * 3_600_000,
};

/** Refresh the access token when it has less than this left (ms). */
const REFRESH_MARGIN_MS = 30_000;
/** Sessions kept at most; beyond, the least recently used one ends. */
const MAX_SESSIONS = 10_000;

export interface ConsoleSession {
  readonly key: string;
  csrf: string;
  tokens: ConsoleTokens;
  readonly createdAt: number;
  lastSeenAt: number;
  username: string;
  refreshing?: Promise<void> | undefined;
}

export type Lookup =
  { ok: true; session: ConsoleSession } | { ok: false; reason: 'unknown' | 'idle' | 'absolute' };

const hash = (id: string) => createHash('sha256').update(id).digest('hex');
const token = () => randomBytes(32).toString('base64url');

export class ConsoleSessions {
  private readonly sessions = new Map<string, ConsoleSession>();

  constructor(
    private readonly auth: ConsoleAuth,
    private readonly clock: Clock,
    readonly timeouts: SessionTimeouts = DEFAULT_TIMEOUTS,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  /** Starts a session for a sign-in; returns the cookie value (never stored). */
  create(
    tokens: ConsoleTokens,
    username: string,
    createdAt = this.clock.now(),
  ): { id: string; session: ConsoleSession } {
    const id = token();
    const now = this.clock.now();
    const session: ConsoleSession = {
      key: hash(id),
      csrf: token(),
      tokens,
      createdAt,
      lastSeenAt: now,
      username,
    };
    this.sessions.set(session.key, session);
    if (this.sessions.size > MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value as string);
    return { id, session };
  }

  /** The session of a cookie value, unless it is unknown or timed out (a timed-out one ends). */
  lookup(id: string): Lookup {
    const key = hash(id);
    const s = this.sessions.get(key);
    if (!s) return { ok: false, reason: 'unknown' };
    const now = this.clock.now();
    if (now - s.createdAt >= this.timeouts.absoluteTimeoutMs) {
      this.end(s);
      return { ok: false, reason: 'absolute' };
    }
    if (now - s.lastSeenAt >= this.timeouts.idleTimeoutMs) {
      this.end(s);
      return { ok: false, reason: 'idle' };
    }
    return { ok: true, session: s };
  }

  /** Marks the session used now (idle timer) and keeps it most recently used. */
  touch(s: ConsoleSession): void {
    s.lastSeenAt = this.clock.now();
    this.sessions.delete(s.key);
    this.sessions.set(s.key, s);
  }

  /** Constant-time check of a presented CSRF token. */
  csrfMatches(s: ConsoleSession, presented: string | undefined): boolean {
    if (presented === undefined) return false;
    const a = Buffer.from(presented);
    const b = Buffer.from(s.csrf);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** Refreshes the identity tokens when the access token is about to expire (one refresh at a time). */
  async fresh(s: ConsoleSession, ip: string): Promise<void> {
    if (s.tokens.expiresAt - this.clock.now() > REFRESH_MARGIN_MS) return;
    s.refreshing ??= this.auth
      .refresh(s.tokens.refreshToken, ip)
      .then((t) => {
        s.tokens = t;
      })
      .finally(() => {
        s.refreshing = undefined;
      });
    await s.refreshing;
  }

  /** Re-authentication: new tokens, a new id and CSRF token; the old id stops working. */
  rotate(s: ConsoleSession, tokens: ConsoleTokens): { id: string; session: ConsoleSession } {
    this.sessions.delete(s.key);
    return this.create(tokens, s.username, s.createdAt);
  }

  /** Ends a session here (the caller signs the identity session out). */
  end(s: ConsoleSession): void {
    this.sessions.delete(s.key);
  }

  /** Ends every session of a user (disabled, MFA reset). */
  endUser(userId: string): void {
    for (const s of [...this.sessions.values()]) if (s.tokens.userId === userId) this.sessions.delete(s.key);
  }
}

/** `Set-Cookie` for a session id (Path=/admin: the console and its API only). */
export function sessionCookie(id: string, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${id}; Path=/admin; Max-Age=${maxAgeSeconds}; HttpOnly; Secure; SameSite=Strict`;
}

export const CLEAR_COOKIE = `${SESSION_COOKIE}=; Path=/admin; Max-Age=0; HttpOnly; Secure; SameSite=Strict`;

/** The session cookie's value from a Cookie header, if any (first occurrence). */
export function cookieValue(header: string | undefined): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) {
      const v = part.slice(eq + 1).trim();
      return /^[A-Za-z0-9_-]{16,128}$/.test(v) ? v : undefined;
    }
  }
  return undefined;
}
