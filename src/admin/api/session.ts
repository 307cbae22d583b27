/**
 * Console sessions: what the admin SPA signs in to. The session is server-side, in the store
 * (`console_sessions`, migration 0610): shared by every worker, kept across restarts. The
 * cookie carries only a random 256-bit id; the row is keyed by its SHA-256 and its secrets
 * (the identity service's tokens of that sign-in, the CSRF token, the username) are sealed
 * with AES-256-GCM under a key derived from the id (HKDF-SHA-256), so neither a store dump
 * nor a backup can use or forge a session. Every request of the session is authenticated
 * with those tokens by the admin chain's `authenticate` policy, so revocation, a disabled
 * user or a changed role take effect as for any bearer caller.
 *
 * - CSRF: a synchronizer token per session, returned in the sign-in answer and sent back in
 *   `X-CSRF-Token` on every state-changing request (compared in constant time); a request
 *   whose `Origin` is not the admin listener's own is refused too.
 * - Timeouts from the injected clock and the stored times: idle (no request for
 *   `idleTimeoutMs` since `last_seen_at`) and absolute (`absoluteTimeoutMs` after
 *   `created_at`, the first sign-in; re-authentication keeps it).
 * - Re-authentication issues a new session id and CSRF token (the old cookie stops working).
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import type { Clock } from '../../core/clock.ts';
import type { ConsoleAuth, ConsoleTokens } from '../../identity/index.ts';
import type { Db } from '../../store/index.ts';

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
/** Sessions kept at most; beyond, the least recently used ones end. */
const MAX_SESSIONS = 10_000;

export interface ConsoleSession {
  readonly key: string;
  csrf: string;
  tokens: ConsoleTokens;
  readonly createdAt: number;
  lastSeenAt: number;
  username: string;
}

export type Lookup =
  { ok: true; session: ConsoleSession } | { ok: false; reason: 'unknown' | 'idle' | 'absolute' };

const hash = (id: string) => createHash('sha256').update(id).digest('hex');
const token = () => randomBytes(32).toString('base64url');

interface Sealed {
  csrf: string;
  tokens: ConsoleTokens;
  username: string;
}

/** The AES-256-GCM key of a session: derived from its cookie id, which the store never sees. */
const sealKey = (id: string) =>
  Buffer.from(hkdfSync('sha256', Buffer.from(id), Buffer.alloc(0), 'rampart console session v1', 32));

function seal(id: string, key: string, value: Sealed): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', sealKey(id), iv);
  c.setAAD(Buffer.from(key));
  const plain = JSON.stringify({ csrf: value.csrf, tokens: value.tokens, username: value.username });
  const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64url');
}

function unseal(id: string, key: string, text: string): Sealed | undefined {
  try {
    const raw = Buffer.from(text, 'base64url');
    const d = createDecipheriv('aes-256-gcm', sealKey(id), raw.subarray(0, 12));
    d.setAAD(Buffer.from(key));
    d.setAuthTag(raw.subarray(12, 28));
    const plain = Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
    return JSON.parse(plain) as Sealed;
  } catch {
    return undefined;
  }
}

type SessionRow = {
  key: string;
  user_id: string;
  sealed: string;
  created_at: number;
  last_seen_at: number;
};

export class ConsoleSessions {
  /** One refresh of a session's tokens at a time in this process. */
  private readonly refreshing = new Map<string, Promise<void>>();
  /** The cookie id of the sessions handed out by lookup/create (needed to seal refreshed tokens). */
  private readonly ids = new WeakMap<ConsoleSession, string>();

  constructor(
    private readonly auth: ConsoleAuth,
    private readonly clock: Clock,
    private readonly db: Db,
    readonly timeouts: SessionTimeouts = DEFAULT_TIMEOUTS,
  ) {}

  /** Sessions in the store that have not timed out. */
  async count(): Promise<number> {
    await this.prune();
    const r = await this.db.one<{ n: number }>('SELECT COUNT(*) AS n FROM console_sessions');
    return r?.n ?? 0;
  }

  /** Starts a session for a sign-in; returns the cookie value (never stored). */
  async create(
    tokens: ConsoleTokens,
    username: string,
    createdAt = this.clock.now(),
  ): Promise<{ id: string; session: ConsoleSession }> {
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
    await this.prune();
    await this.db.run(
      'INSERT INTO console_sessions (key, user_id, sealed, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5)',
      [session.key, tokens.userId, seal(id, session.key, session), createdAt, now],
    );
    this.ids.set(session, id);
    return { id, session };
  }

  /** The session of a cookie value, unless it is unknown or timed out (a timed-out one ends). */
  async lookup(id: string): Promise<Lookup> {
    const key = hash(id);
    const row = await this.db.one<SessionRow>(
      'SELECT key, user_id, sealed, created_at, last_seen_at FROM console_sessions WHERE key = $1',
      [key],
    );
    if (!row) return { ok: false, reason: 'unknown' };
    const now = this.clock.now();
    if (now - row.created_at >= this.timeouts.absoluteTimeoutMs) {
      await this.endKey(key);
      return { ok: false, reason: 'absolute' };
    }
    if (now - row.last_seen_at >= this.timeouts.idleTimeoutMs) {
      await this.endKey(key);
      return { ok: false, reason: 'idle' };
    }
    const open = unseal(id, key, row.sealed);
    if (!open) return { ok: false, reason: 'unknown' };
    const session: ConsoleSession = {
      key,
      csrf: open.csrf,
      tokens: open.tokens,
      username: open.username,
      createdAt: row.created_at,
      lastSeenAt: row.last_seen_at,
    };
    this.ids.set(session, id);
    return { ok: true, session };
  }

  /** Marks the session used now (the idle timer restarts from the stored time). */
  async touch(s: ConsoleSession): Promise<void> {
    s.lastSeenAt = this.clock.now();
    await this.db.run('UPDATE console_sessions SET last_seen_at = $2 WHERE key = $1 AND last_seen_at < $2', [
      s.key,
      s.lastSeenAt,
    ]);
  }

  /** Constant-time check of a presented CSRF token. */
  csrfMatches(s: ConsoleSession, presented: string | undefined): boolean {
    if (presented === undefined) return false;
    const a = Buffer.from(presented);
    const b = Buffer.from(s.csrf);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /**
   * Refreshes the identity tokens when the access token is about to expire (one refresh at a
   * time per process; another worker's refresh, already stored, is taken instead of a second).
   */
  async fresh(s: ConsoleSession, ip: string): Promise<void> {
    if (s.tokens.expiresAt - this.clock.now() > REFRESH_MARGIN_MS) return;
    const id = this.ids.get(s);
    if (id === undefined) throw new Error('a session not from this store');
    let p = this.refreshing.get(s.key);
    if (!p) {
      p = (async () => {
        const row = await this.db.one<SessionRow>('SELECT sealed FROM console_sessions WHERE key = $1', [
          s.key,
        ]);
        const stored = row ? unseal(id, s.key, row.sealed) : undefined;
        if (stored && stored.tokens.expiresAt - this.clock.now() > REFRESH_MARGIN_MS) {
          s.tokens = stored.tokens;
          return;
        }
        s.tokens = await this.auth.refresh(s.tokens.refreshToken, ip);
        await this.db.run('UPDATE console_sessions SET sealed = $2 WHERE key = $1', [
          s.key,
          seal(id, s.key, s),
        ]);
      })().finally(() => this.refreshing.delete(s.key));
      this.refreshing.set(s.key, p);
    }
    await p;
  }

  /** Re-authentication: new tokens, a new id and CSRF token; the old id stops working. */
  async rotate(s: ConsoleSession, tokens: ConsoleTokens): Promise<{ id: string; session: ConsoleSession }> {
    await this.end(s);
    return this.create(tokens, s.username, s.createdAt);
  }

  /** Ends a session here (the caller signs the identity session out). */
  async end(s: ConsoleSession): Promise<void> {
    await this.endKey(s.key);
  }

  /** Ends every session of a user (disabled, MFA reset). */
  async endUser(userId: string): Promise<void> {
    await this.db.run('DELETE FROM console_sessions WHERE user_id = $1', [userId]);
  }

  private async endKey(key: string): Promise<void> {
    await this.db.run('DELETE FROM console_sessions WHERE key = $1', [key]);
  }

  /** Drops timed-out sessions, and the least recently used beyond {@link MAX_SESSIONS}. */
  private async prune(): Promise<void> {
    const now = this.clock.now();
    await this.db.run('DELETE FROM console_sessions WHERE created_at <= $1 OR last_seen_at <= $2', [
      now - this.timeouts.absoluteTimeoutMs,
      now - this.timeouts.idleTimeoutMs,
    ]);
    const n = (await this.db.one<{ n: number }>('SELECT COUNT(*) AS n FROM console_sessions'))?.n ?? 0;
    if (n >= MAX_SESSIONS) {
      const cut = await this.db.one<{ t: number }>(
        'SELECT last_seen_at AS t FROM console_sessions ORDER BY last_seen_at DESC LIMIT 1 OFFSET $1',
        [MAX_SESSIONS - 2],
      );
      if (cut) await this.db.run('DELETE FROM console_sessions WHERE last_seen_at < $1', [cut.t]);
    }
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
