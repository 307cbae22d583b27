/**
 * The identity service's HTTP API (docs/identity.md): sign-up, login with a second
 * factor, refresh-token rotation, logout, TOTP, recovery codes, passkeys, step-up,
 * password change, API keys, JWKS and discovery. Every path is under `config.prefix`.
 */
import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { Clock } from '../core/clock.ts';
import { ProblemError } from '../core/errors.ts';
import type { RampartEvent } from '../core/events.ts';
import type { Logger } from '../core/logger.ts';
import type { Db } from '../store/types.ts';
import { SCOPE_PATTERN, type ApiKeys } from './api-keys.ts';
import type { IdentityConfig } from './config.ts';
import { bearerToken, bodyValidator, readJson, sendEmpty, sendError, sendJson, API_HEADERS } from './http.ts';
import type { Mfa } from './mfa.ts';
import {
  checkNewPassword,
  hashPassword,
  needsRehash,
  normalisePassword,
  verifyPassword,
  type ScryptParams,
} from './passwords.ts';
import { randomToken, sha256Hex } from './secrets.ts';
import type { Throttle } from './throttle.ts';
import {
  ACR,
  type AccessClaims,
  type SessionSubject,
  type TokenResponse,
  type TokenService,
} from './tokens.ts';
import { normaliseUsername, type Factors, type User, type UserRow, type Users } from './users.ts';
import type { SigningKeys } from './keys.ts';

/** The passkey operations the routes use (implemented by webauthn.ts `Passkeys`). */
export interface PasskeyApi {
  startRegistration(user: {
    id: string;
    name: string;
    displayName?: string;
  }): Promise<{ challengeId: string; options: unknown }>;
  finishRegistration(
    userId: string,
    challengeId: string,
    response: unknown,
    name: string,
  ): Promise<{ id: string; name: string; createdAt: number }>;
  startAuthentication(userId?: string): Promise<{ challengeId: string; options: unknown }>;
  finishAuthentication(
    challengeId: string,
    response: unknown,
  ): Promise<{ userId: string; passkeyId: string; userVerified: boolean; amr: 'hwk' | 'swk' }>;
  list(
    userId: string,
  ): Promise<Array<{ id: string; name: string; createdAt: number; lastUsedAt: number | null }>>;
  remove(userId: string, id: string): Promise<boolean>;
  count(userId: string): Promise<number>;
}

export interface ServiceDeps {
  db: Db;
  clock: Clock;
  log: Logger;
  emit: (e: RampartEvent) => void;
  config: IdentityConfig;
  scrypt: ScryptParams;
  users: Users;
  tokens: TokenService;
  keys: SigningKeys;
  mfa: Mfa;
  apiKeys: ApiKeys;
  passkeys: PasskeyApi;
  throttles: { account: Throttle; ip: Throttle; otp: Throttle; signup: Throttle };
  /**
   * Key of the pseudonymous account references in login events, derived from the
   * key-encryption key: every worker and node with the same key names an account alike, so
   * per-account and credential-stuffing rules count across them.
   */
  accountKey: Buffer;
}

type AuthAction = Extract<RampartEvent, { type: 'auth' }>['action'];
type AuthOutcome = Extract<RampartEvent, { type: 'auth' }>['outcome'];

/** What the console's session keeps of an identity-service session (never logged). */
export interface ConsoleTokens {
  accessToken: string;
  refreshToken: string;
  userId: string;
  roles: string[];
  amr: string[];
  /** Epoch ms of the last password or code check. */
  authTime: number;
  /** Epoch ms when the access token expires. */
  expiresAt: number;
}

/** In-process sign-in for Rampart's own console. Failures throw the same ProblemErrors as the HTTP routes. */
export interface ConsoleAuth {
  signIn(input: { username: string; password: string; code: string }, ip: string): Promise<ConsoleTokens>;
  /**
   * A passkey assertion for a challenge of `/passkeys/login/options`: passwordless (user
   * verification required) or, with `mfa_token`, the second factor after the password.
   */
  passkeySignIn(
    input: { challenge_id: string; mfa_token?: string; response: Record<string, unknown> },
    ip: string,
  ): Promise<ConsoleTokens>;
  /**
   * Step-up with a fresh TOTP code, or a passkey assertion for a challenge of
   * `/passkeys/login/options` (it must be the signed-in user's): a new identity session with a
   * new auth_time.
   */
  reauthenticate(
    accessToken: string,
    proof: { code: string } | { challenge_id: string; response: Record<string, unknown> },
    ip: string,
  ): Promise<ConsoleTokens>;
  refresh(refreshToken: string, ip: string): Promise<ConsoleTokens>;
  signOut(accessToken: string, refreshToken: string, ip: string): Promise<void>;
}

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  /** Body already buffered by the gateway, if it read the stream. */
  body: Buffer | undefined;
  ip: string;
  params: Record<string, string>;
}

type Handler = (ctx: Ctx) => Promise<void>;

// ── Body schemas (unknown fields rejected) ──────────────────────────────────────
const S = {
  credentials: Type.Object(
    {
      username: Type.String({ minLength: 1, maxLength: 256 }),
      password: Type.String({ minLength: 1, maxLength: 4096 }),
    },
    { additionalProperties: false },
  ),
  mfaCode: Type.Object(
    {
      mfa_token: Type.String({ minLength: 1, maxLength: 200 }),
      code: Type.String({ minLength: 1, maxLength: 64 }),
    },
    { additionalProperties: false },
  ),
  optionalMfaToken: Type.Object(
    { mfa_token: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) },
    { additionalProperties: false },
  ),
  empty: Type.Object({}, { additionalProperties: false }),
  passkeyLogin: Type.Object(
    {
      challenge_id: Type.String({ minLength: 1, maxLength: 200 }),
      mfa_token: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
      response: Type.Object({}, { additionalProperties: true }),
    },
    { additionalProperties: false },
  ),
  passkeyRegister: Type.Object(
    {
      challenge_id: Type.String({ minLength: 1, maxLength: 200 }),
      name: Type.String({ minLength: 1, maxLength: 64 }),
      response: Type.Object({}, { additionalProperties: true }),
    },
    { additionalProperties: false },
  ),
  token: Type.Object(
    {
      grant_type: Type.Literal('refresh_token'),
      refresh_token: Type.String({ minLength: 1, maxLength: 200 }),
      // Sent by standard OAuth clients (RFC 6749 §6); tokens are not narrowed by scope here.
      client_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
      scope: Type.Optional(Type.String({ maxLength: 1000 })),
    },
    { additionalProperties: false },
  ),
  logout: Type.Object(
    { refresh_token: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) },
    { additionalProperties: false },
  ),
  code: Type.Object({ code: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
  stepUp: Type.Union([
    Type.Object(
      { method: Type.Literal('totp'), code: Type.String({ minLength: 1, maxLength: 64 }) },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        method: Type.Literal('passkey'),
        challenge_id: Type.String({ minLength: 1, maxLength: 200 }),
        response: Type.Object({}, { additionalProperties: true }),
      },
      { additionalProperties: false },
    ),
  ]),
  password: Type.Object(
    {
      current_password: Type.String({ minLength: 1, maxLength: 4096 }),
      new_password: Type.String({ minLength: 1, maxLength: 4096 }),
    },
    { additionalProperties: false },
  ),
  apiKey: Type.Object(
    {
      name: Type.String({ minLength: 1, maxLength: 100 }),
      scopes: Type.Array(Type.String({ pattern: SCOPE_PATTERN }), { maxItems: 50 }),
      expires_in: Type.Optional(Type.Integer({ minimum: 60, maximum: 2 * 365 * 86400 })),
    },
    { additionalProperties: false },
  ),
  rotate: Type.Object(
    { overlap_seconds: Type.Integer({ minimum: 0, maximum: 30 * 86400 }) },
    { additionalProperties: false },
  ),
  adminCreateUser: Type.Object(
    {
      username: Type.String({ minLength: 1, maxLength: 254 }),
      password: Type.String({ minLength: 1, maxLength: 4096 }),
      roles: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 50 })),
      attributes: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.Unknown())),
      display_name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    },
    { additionalProperties: false },
  ),
  adminUpdateUser: Type.Object(
    {
      roles: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 50 })),
      attributes: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.Unknown())),
    },
    { additionalProperties: false, minProperties: 1 },
  ),
};

/** What the admin API shows of a user (never hashes or secrets). */
/**
 * A user as JSON, the one shape every surface uses (admin API, `rampart users list --json`):
 * snake_case members (as the OAuth and problem+json members beside them), times in epoch
 * milliseconds.
 */
export function userJson(u: User): Record<string, unknown> {
  return adminView(u);
}

function adminView(u: User): Record<string, unknown> {
  return {
    id: u.id,
    username: u.username,
    display_name: u.displayName,
    roles: u.roles,
    attributes: u.attributes,
    disabled: u.disabled,
    locked: u.locked,
    created_at: u.createdAt,
  };
}

const V = Object.fromEntries(Object.entries(S).map(([k, s]) => [k, bodyValidator(s as TSchema)])) as {
  [K in keyof typeof S]: (d: unknown) => Static<(typeof S)[K]>;
};

/** How the API shows a user's second factors. */
function factorsView(f: Factors): Record<string, unknown> {
  return { totp: f.totp, passkeys: f.passkeys, recovery_codes_left: f.recoveryCodesLeft };
}

/** 401 asking for a multi-factor session (RFC 9470 step-up). */
function mfaSessionRequired(detail: string): ProblemError {
  return new ProblemError(
    'insufficient-user-authentication',
    detail,
    {},
    { 'WWW-Authenticate': `Bearer error="insufficient_user_authentication", acr_values="${ACR.mfa}"` },
  );
}

function tokenBody(t: TokenResponse): TokenResponse {
  return {
    access_token: t.access_token,
    token_type: t.token_type,
    expires_in: t.expires_in,
    refresh_token: t.refresh_token,
  };
}

/** Seconds of clock skew tolerated between auth_time and iat/now (as the gateway's clockTolerance). */
const AUTH_TIME_TOLERANCE = 30;

const UI_DIR = new URL('./ui/', import.meta.url);
const UI_CSP =
  "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export class IdentityRoutes {
  private readonly routes: Array<{ method: string; pattern: RegExp; keys: string[]; handler: Handler }> = [];
  private dummyHash: Promise<string> | undefined;
  private readonly pendingFailures = new Map<string, Promise<void>>();

  constructor(private readonly d: ServiceDeps) {
    const r = (method: string, path: string, handler: Handler) => {
      const keys: string[] = [];
      const pattern = new RegExp(
        '^' +
          path.replace(/[.]/g, '\\.').replace(/\{(\w+)\}/g, (_m, k: string) => {
            keys.push(k);
            return '([A-Za-z0-9_-]{1,100})';
          }) +
          '$',
      );
      this.routes.push({ method, pattern, keys, handler });
    };
    r('POST', '/signup', (c) => this.signup(c));
    r('POST', '/login', (c) => this.login(c));
    r('POST', '/login/totp', (c) => this.loginTotp(c));
    r('POST', '/login/recovery', (c) => this.loginRecovery(c));
    r('POST', '/passkeys/login/options', (c) => this.passkeyLoginOptions(c));
    r('POST', '/passkeys/login/verify', (c) => this.passkeyLoginVerify(c));
    r('POST', '/passkeys/register/options', (c) => this.passkeyRegisterOptions(c));
    r('POST', '/passkeys/register/verify', (c) => this.passkeyRegisterVerify(c));
    r('GET', '/passkeys', (c) => this.passkeyList(c));
    r('DELETE', '/passkeys/{id}', (c) => this.passkeyDelete(c));
    r('POST', '/token', (c) => this.token(c));
    r('POST', '/logout', (c) => this.logout(c));
    r('GET', '/me', (c) => this.me(c));
    r('POST', '/totp/enroll', (c) => this.totpEnroll(c));
    r('POST', '/totp/confirm', (c) => this.totpConfirm(c));
    r('DELETE', '/totp', (c) => this.totpDelete(c));
    r('POST', '/recovery-codes', (c) => this.recoveryCodes(c));
    r('POST', '/step-up', (c) => this.stepUp(c));
    r('POST', '/password', (c) => this.changePassword(c));
    r('POST', '/api-keys', (c) => this.apiKeyCreate(c));
    r('GET', '/api-keys', (c) => this.apiKeyList(c));
    r('DELETE', '/api-keys/{id}', (c) => this.apiKeyDelete(c));
    r('POST', '/api-keys/{id}/rotate', (c) => this.apiKeyRotate(c));
    r('GET', '/admin/users', (c) => this.adminListUsers(c));
    r('POST', '/admin/users', (c) => this.adminCreateUser(c));
    r('GET', '/admin/users/{id}', (c) => this.adminGetUser(c));
    r('PATCH', '/admin/users/{id}', (c) => this.adminUpdateUser(c));
    r('POST', '/admin/users/{id}/disable', (c) => this.adminSetDisabled(c, true));
    r('POST', '/admin/users/{id}/enable', (c) => this.adminSetDisabled(c, false));
    r('POST', '/admin/users/{id}/unlock', (c) => this.adminUnlock(c));
    r('POST', '/admin/users/{id}/reset-mfa', (c) => this.adminResetMfa(c));
    r('GET', '/.well-known/jwks.json', (c) => this.jwks(c));
    r('GET', '/.well-known/openid-configuration', (c) => this.discovery(c));
    r('GET', '/ui', (c) => this.ui(c, 'index.html', 'text/html; charset=utf-8'));
    r('GET', '/ui/app.js', (c) => this.ui(c, 'app.js', 'text/javascript; charset=utf-8'));
  }

  /** Waits for background writes (failed-login counters). */
  async drain(): Promise<void> {
    await Promise.all([...this.pendingFailures.values()]);
  }

  /** Serves one request whose path is under the prefix. */
  handle = async (
    req: IncomingMessage,
    res: ServerResponse,
    body?: Buffer,
    clientIp?: string,
  ): Promise<void> => {
    try {
      const url = new URL(req.url ?? '/', 'http://x');
      const prefix = this.d.config.prefix;
      if (url.pathname !== prefix && !url.pathname.startsWith(prefix + '/'))
        throw new ProblemError('not-found');
      const path = url.pathname.slice(prefix.length) || '/';
      const method = (req.method ?? 'GET').toUpperCase();
      const matching = this.routes.filter((rt) => rt.pattern.test(path));
      if (matching.length === 0) throw new ProblemError('not-found', 'No such identity endpoint');
      const route = matching.find((rt) => rt.method === method || (method === 'HEAD' && rt.method === 'GET'));
      if (!route) {
        const allow = [...new Set(matching.map((rt) => rt.method))].join(', ');
        throw new ProblemError('method-not-allowed', undefined, {}, { Allow: allow });
      }
      const m = route.pattern.exec(path)!;
      const params: Record<string, string> = {};
      route.keys.forEach((k, i) => (params[k] = m[i + 1]!));
      await route.handler({ req, res, body, ip: clientIp ?? req.socket.remoteAddress ?? 'unknown', params });
    } catch (err) {
      sendError(res, err, (e) => this.d.log.error({ err: e }, 'identity request failed'));
    }
  };

  // ── helpers ──────────────────────────────────────────────────────────────────
  private event(
    ctx: { ip: string },
    action: AuthAction,
    outcome: AuthOutcome,
    user?: string,
    reason?: string,
    account?: string,
  ): void {
    this.d.emit({
      type: 'auth',
      at: this.d.clock.now(),
      ip: ctx.ip,
      action,
      outcome,
      ...(user !== undefined ? { user } : {}),
      ...(account !== undefined ? { account } : {}),
      ...(reason !== undefined ? { reason } : {}),
    });
  }

  /**
   * A keyed hash of the throttle key (the normalised login name): lets the monitor count
   * distinct accounts tried from one address (credential stuffing) without ever seeing
   * a submitted name, known or not.
   */
  private accountRef(acctKey: string): string {
    return createHmac('sha256', this.d.accountKey).update(acctKey).digest('base64url').slice(0, 16);
  }

  private async body<T>(ctx: Ctx, validate: (d: unknown) => T): Promise<T> {
    return validate(await readJson(ctx.req, ctx.body));
  }

  private async auth(ctx: Ctx): Promise<AccessClaims> {
    const token = bearerToken(ctx.req);
    if (!token) {
      throw new ProblemError(
        'unauthenticated',
        'Send an access token: Authorization: Bearer <token>',
        {},
        { 'WWW-Authenticate': 'Bearer' },
      );
    }
    return this.d.tokens.verify(token);
  }

  /** ASVS 7.5.1: sensitive changes need an authentication at most `recentAuthMaxAge` old. */
  private requireRecentAuth(claims: AccessClaims): void {
    const maxAge = this.d.config.recentAuthMaxAge;
    const now = Math.floor(this.d.clock.now() / 1000);
    // An auth_time after iat or after now is no authentication that happened (a clock
    // jumped, or a forged claim): it must not count as recent for maxAge seconds to come.
    const future =
      claims.auth_time > claims.iat + AUTH_TIME_TOLERANCE || claims.auth_time > now + AUTH_TIME_TOLERANCE;
    if (future || now - claims.auth_time > maxAge) {
      throw new ProblemError(
        'insufficient-user-authentication',
        `This change needs an authentication within the last ${maxAge} seconds; use POST ${this.d.config.prefix}/step-up or log in again`,
        { max_age: maxAge },
        {
          'WWW-Authenticate': `Bearer error="insufficient_user_authentication", error_description="A more recent authentication is required", max_age="${maxAge}"`,
        },
      );
    }
  }

  /** Users who must use MFA may only manage credentials from an MFA session. */
  private async requireMfaIfRequired(claims: AccessClaims): Promise<void> {
    if (!this.d.users.mfaRequired(claims.roles ?? []) || claims.amr.includes('mfa')) return;
    // The token's enrolment flag is as old as the token: ask the store (a factor may have been enrolled since).
    if (claims.mfa_enrollment_required && !(await this.d.users.hasSecondFactor(claims.sub)))
      throw new ProblemError('mfa-enrollment-required', 'Enrol a second factor, then step up');
    throw mfaSessionRequired('This needs a multi-factor session: sign in again with your second factor');
  }

  private async activeRow(id: string): Promise<UserRow | undefined> {
    const row = await this.d.users.row(id);
    return row && Number(row.disabled) !== 1 ? row : undefined;
  }

  private async activeUser(id: string): Promise<UserRow> {
    const row = await this.activeRow(id);
    if (!row) throw new ProblemError('invalid-token', 'The account is not active');
    return row;
  }

  private async subject(row: UserRow): Promise<SessionSubject> {
    const roles = JSON.parse(row.roles) as string[];
    const required = this.d.users.mfaRequired(roles);
    return {
      userId: row.id,
      roles,
      mfaEnrollmentRequired: required && !(await this.d.users.hasSecondFactor(row.id)),
    };
  }

  private async subjectById(id: string): Promise<SessionSubject | undefined> {
    const row = await this.activeRow(id);
    return row && this.subject(row);
  }

  private async issue(row: UserRow, amr: string[], subject?: SessionSubject): Promise<TokenResponse> {
    const acr = amr.includes('mfa') ? ACR.mfa : ACR.single;
    const t = await this.d.tokens.startSession(subject ?? (await this.subject(row)), {
      amr,
      acr,
      authTime: this.d.clock.now(),
    });
    return tokenBody(t);
  }

  private dummy(): Promise<string> {
    this.dummyHash ??= hashPassword(randomToken(16), this.d.scrypt);
    return this.dummyHash;
  }

  private throttleKey(username: string): string {
    try {
      return 'pwd:' + normaliseUsername(username);
    } catch {
      return 'pwd:' + sha256Hex(username.slice(0, 256));
    }
  }

  private recordFailure(acctKey: string, userId: string, max: number): void {
    const at = this.d.clock.now();
    const p: Promise<void> = (this.pendingFailures.get(acctKey) ?? Promise.resolve())
      .then(() =>
        this.d.db.run(
          'UPDATE users SET failed_logins = failed_logins + 1, locked_at = CASE WHEN failed_logins + 1 >= $1 THEN $2 ELSE locked_at END WHERE id = $3',
          [max, at, userId],
        ),
      )
      .then(
        () => undefined,
        (err: unknown) => this.d.log.error({ err }, 'could not record a failed login'),
      )
      .finally(() => {
        if (this.pendingFailures.get(acctKey) === p) this.pendingFailures.delete(acctKey);
      });
    this.pendingFailures.set(acctKey, p);
  }

  private async otpCheck(ctx: { ip: string }, userId: string, action: AuthAction): Promise<void> {
    try {
      await this.d.throttles.otp.check('otp:' + userId, 'code attempts');
    } catch (err) {
      this.event(ctx, action, 'locked', userId, 'throttled');
      throw err;
    }
  }

  private async loadChallenge(mfaToken: string): Promise<{ userId: string; amr: string[]; hash: string }> {
    const hash = sha256Hex(mfaToken);
    const row = await this.d.db.one<{ user_id: string; amr: string }>(
      'SELECT user_id, amr FROM mfa_challenges WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2',
      [hash, this.d.clock.now()],
    );
    if (!row)
      throw new ProblemError('invalid-mfa-token', 'The mfa_token is invalid, used or expired; log in again');
    return { userId: row.user_id, amr: JSON.parse(row.amr) as string[], hash };
  }

  private async consumeChallenge(hash: string): Promise<void> {
    const res = await this.d.db.run(
      'UPDATE mfa_challenges SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL',
      [this.d.clock.now(), hash],
    );
    if (res.changes !== 1)
      throw new ProblemError('invalid-mfa-token', 'The mfa_token is invalid, used or expired; log in again');
  }

  private async methods(userId: string): Promise<string[]> {
    const f = await this.d.users.factors(userId);
    const m: string[] = [];
    if (f.totp) m.push('totp');
    if (f.passkeys > 0) m.push('passkey');
    if (f.recoveryCodesLeft > 0) m.push('recovery_code');
    return m;
  }

  // ── sign-up and login ───────────────────────────────────────────────────────
  private async signup(ctx: Ctx): Promise<void> {
    if (!this.d.config.selfSignup) throw new ProblemError('not-found', 'Self sign-up is disabled');
    const body = await this.body(ctx, V.credentials);
    await this.d.throttles.signup.check('signup:' + ctx.ip, 'sign-ups');
    const user = await this.d.users.add({ username: body.username, password: body.password });
    await this.d.throttles.signup.fail('signup:' + ctx.ip); // counts sign-ups per IP
    sendJson(ctx.res, 201, { id: user.id, username: user.username });
  }

  private async login(ctx: Ctx): Promise<void> {
    const body = await this.body(ctx, V.credentials);
    sendJson(ctx.res, 200, await this.passwordLogin(body, ctx.ip));
  }

  /** The password step of a sign-in: an MFA challenge, or tokens when the user has no second factor. */
  private async passwordLogin(
    body: { username: string; password: string },
    ip: string,
  ): Promise<Record<string, unknown>> {
    const ctx = { ip };
    const acctKey = this.throttleKey(body.username);
    try {
      await this.d.throttles.ip.check('ip:' + ctx.ip, 'login attempts');
      await this.d.throttles.account.check(acctKey, 'login attempts');
    } catch (err) {
      this.event(ctx, 'login', 'locked', undefined, 'throttled', this.accountRef(acctKey));
      throw err;
    }
    // Earlier failures of this account are recorded before it is looked at again.
    await this.pendingFailures.get(acctKey);
    const row = await this.d.users.byUsername(body.username);
    const password = normalisePassword(body.password);
    const max = this.d.config.lockout.maxConsecutiveFailures;
    const locked = row !== undefined && (row.locked_at !== null || Number(row.failed_logins) >= max);
    // The password is checked whether or not the account is locked: a locked account's
    // wrong password must answer exactly like any failed login (same status, problem,
    // headers and scrypt work), or the lock is an oracle for which names exist.
    let ok = false;
    if (!row || !row.password_hash) await verifyPassword(password, await this.dummy());
    else ok = await verifyPassword(password, row.password_hash);
    if (!row || !ok || Number(row.disabled) === 1) {
      await this.d.throttles.ip.fail('ip:' + ctx.ip);
      await this.d.throttles.account.fail(acctKey);
      if (row && !ok) {
        // Counted after the answer is sent: a database write only for existing
        // accounts would otherwise make them slower to fail than unknown ones.
        this.recordFailure(acctKey, row.id, max);
        if (!locked && Number(row.failed_logins) + 1 >= max) {
          // The notification: the monitor (and whoever it alerts) learns of the lock now;
          // the client only from the right password.
          this.event(ctx, 'login', 'locked', row.id, 'account-locked-now');
          this.d.log.warn({ user: row.id }, 'account locked after consecutive failed passwords');
        }
      }
      this.event(
        ctx,
        'login',
        'failure',
        row?.id,
        !row ? 'unknown-user' : !ok ? 'bad-password' : 'disabled',
        this.accountRef(acctKey),
      );
      throw new ProblemError('invalid-credentials', 'Wrong username or password');
    }
    if (locked) {
      // Only someone who knows the password learns that the account is locked.
      this.event(ctx, 'login', 'locked', row.id, 'account-locked');
      throw new ProblemError(
        'account-locked',
        'The password is right, but the account is locked after too many failed sign-in attempts; ask an administrator to unlock it',
      );
    }
    await this.d.throttles.account.reset(acctKey);
    if (Number(row.failed_logins) > 0)
      await this.d.db.run('UPDATE users SET failed_logins = 0 WHERE id = $1', [row.id]);
    if (needsRehash(row.password_hash!, this.d.scrypt)) {
      const hash = await hashPassword(password, this.d.scrypt);
      await this.d.db.run(
        'UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3 AND password_hash = $4',
        [hash, this.d.clock.now(), row.id, row.password_hash],
      );
      this.d.log.info({ user: row.id }, 'password re-hashed with current parameters');
    }
    const methods = await this.methods(row.id);
    if (methods.some((m) => m === 'totp' || m === 'passkey')) {
      const token = 'rmt_' + randomToken(32);
      const now = this.d.clock.now();
      await this.d.db.run('DELETE FROM mfa_challenges WHERE expires_at <= $1', [now]);
      await this.d.db.run(
        'INSERT INTO mfa_challenges (token_hash, user_id, amr, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)',
        [sha256Hex(token), row.id, JSON.stringify(['pwd']), now, now + this.d.config.mfaTokenTtl * 1000],
      );
      this.event(ctx, 'login', 'success', row.id, 'mfa-pending');
      return {
        mfa_required: true,
        mfa_token: token,
        methods,
        expires_in: this.d.config.mfaTokenTtl,
      };
    }
    const subject = await this.subject(row);
    const tokens = await this.issue(row, ['pwd'], subject);
    this.event(
      ctx,
      'login',
      'success',
      row.id,
      subject.mfaEnrollmentRequired ? 'mfa-enrollment-required' : 'password-only',
    );
    return subject.mfaEnrollmentRequired ? { ...tokens, mfa_enrollment_required: true } : { ...tokens };
  }

  private async loginTotp(ctx: Ctx): Promise<void> {
    const body = await this.body(ctx, V.mfaCode);
    sendJson(ctx.res, 200, await this.totpLogin(body, ctx.ip));
  }

  /** The TOTP step of a sign-in. */
  private async totpLogin(body: { mfa_token: string; code: string }, ip: string): Promise<TokenResponse> {
    const ctx = { ip };
    const ch = await this.loadChallenge(body.mfa_token);
    await this.otpCheck(ctx, ch.userId, 'otp');
    const result = await this.d.mfa.verifyTotp(ch.userId, body.code);
    if (result !== 'ok') {
      await this.d.throttles.otp.fail('otp:' + ch.userId);
      this.event(ctx, 'otp', 'failure', ch.userId, result);
      throw new ProblemError(
        'invalid-otp',
        result === 'replayed' ? 'This code was already used; wait for the next one' : 'Wrong code',
      );
    }
    await this.consumeChallenge(ch.hash);
    await this.d.throttles.otp.reset('otp:' + ch.userId);
    const row = await this.activeUser(ch.userId);
    this.event(ctx, 'otp', 'success', row.id);
    return this.issue(row, [...ch.amr, 'otp', 'mfa']);
  }

  private async loginRecovery(ctx: Ctx): Promise<void> {
    const body = await this.body(ctx, V.mfaCode);
    const ch = await this.loadChallenge(body.mfa_token);
    await this.otpCheck(ctx, ch.userId, 'recovery-code');
    const left = await this.d.mfa.useRecoveryCode(ch.userId, body.code);
    if (left === undefined) {
      await this.d.throttles.otp.fail('otp:' + ch.userId);
      this.event(ctx, 'recovery-code', 'failure', ch.userId, 'invalid');
      throw new ProblemError('invalid-otp', 'Wrong or already used recovery code');
    }
    await this.consumeChallenge(ch.hash);
    await this.d.throttles.otp.reset('otp:' + ch.userId);
    const row = await this.activeUser(ch.userId);
    this.event(ctx, 'recovery-code', 'success', row.id, `codes-left=${left}`);
    this.d.log.warn({ user: row.id, codesLeft: left }, 'recovery code used');
    sendJson(ctx.res, 200, { ...(await this.issue(row, [...ch.amr, 'mfa'])), recovery_codes_left: left });
  }

  // ── passkeys ────────────────────────────────────────────────────────────────
  private async passkeyLoginOptions(ctx: Ctx): Promise<void> {
    const body = await this.body(ctx, V.optionalMfaToken);
    let userId: string | undefined;
    if (body.mfa_token) userId = (await this.loadChallenge(body.mfa_token)).userId;
    else {
      const token = bearerToken(ctx.req);
      if (token) userId = (await this.d.tokens.verify(token)).sub; // step-up with a passkey
    }
    const { challengeId, options } = await this.d.passkeys.startAuthentication(userId);
    sendJson(ctx.res, 200, { challenge_id: challengeId, options });
  }

  private async passkeyLoginVerify(ctx: Ctx): Promise<void> {
    sendJson(ctx.res, 200, await this.passkeyLogin(await this.body(ctx, V.passkeyLogin), ctx.ip));
  }

  /** A passkey assertion (passwordless with user verification, or the second factor after a password). */
  private async passkeyLogin(
    body: { challenge_id: string; mfa_token?: string | undefined; response: Record<string, unknown> },
    ip: string,
  ): Promise<TokenResponse> {
    const ctx = { ip };
    await this.d.throttles.ip.check('ip:' + ctx.ip, 'sign-in attempts');
    const ch = body.mfa_token ? await this.loadChallenge(body.mfa_token) : undefined;
    let result: Awaited<ReturnType<PasskeyApi['finishAuthentication']>>;
    try {
      result = await this.d.passkeys.finishAuthentication(body.challenge_id, body.response);
    } catch (err) {
      await this.d.throttles.ip.fail('ip:' + ctx.ip);
      this.event(ctx, 'passkey', 'failure', ch?.userId, 'verification-failed');
      throw err;
    }
    if (ch && ch.userId !== result.userId) {
      this.event(ctx, 'passkey', 'failure', ch.userId, 'wrong-user');
      throw new ProblemError(
        'invalid-credentials',
        'This passkey does not belong to the account that entered the password',
      );
    }
    if (!ch && !result.userVerified) {
      this.event(ctx, 'passkey', 'failure', result.userId, 'no-user-verification');
      throw new ProblemError('invalid-credentials', 'The passkey did not verify the user (PIN or biometric)');
    }
    if (ch) await this.consumeChallenge(ch.hash);
    const row = await this.activeUser(result.userId);
    const amr = [...(ch ? ch.amr : []), result.amr, ...(result.userVerified ? ['user'] : []), 'mfa'];
    this.event(ctx, 'passkey', 'success', row.id);
    return this.issue(row, amr);
  }

  private async passkeyRegisterOptions(ctx: Ctx): Promise<void> {
    const claims = await this.auth(ctx);
    await this.body(ctx, V.empty);
    this.requireRecentAuth(claims);
    const row = await this.activeUser(claims.sub);
    const { challengeId, options } = await this.d.passkeys.startRegistration({
      id: row.id,
      name: row.username,
      ...(row.display_name ? { displayName: row.display_name } : {}),
    });
    sendJson(ctx.res, 200, { challenge_id: challengeId, options });
  }

  private async passkeyRegisterVerify(ctx: Ctx): Promise<void> {
    const claims = await this.auth(ctx);
    const body = await this.body(ctx, V.passkeyRegister);
    this.requireRecentAuth(claims);
    const first = !(await this.d.users.hasSecondFactor(claims.sub));
    const pk = await this.d.passkeys.finishRegistration(
      claims.sub,
      body.challenge_id,
      body.response,
      body.name,
    );
    this.event(ctx, 'mfa-enroll', 'success', claims.sub, 'passkey');
    const out: Record<string, unknown> = { id: pk.id, name: pk.name, created_at: pk.createdAt };
    if (first) out.recovery_codes = await this.d.mfa.regenerateRecoveryCodes(claims.sub);
    sendJson(ctx.res, 201, out);
  }

  private async passkeyList(ctx: Ctx): Promise<void> {
    const claims = await this.auth(ctx);
    const list = await this.d.passkeys.list(claims.sub);
    sendJson(ctx.res, 200, {
      passkeys: list.map((p) => ({
        id: p.id,
        name: p.name,
        created_at: p.createdAt,
        last_used_at: p.lastUsedAt,
      })),
    });
  }

  private async passkeyDelete(ctx: Ctx): Promise<void> {
    const claims = await this.auth(ctx);
    this.requireRecentAuth(claims);
    const f = await this.d.users.factors(claims.sub);
    if (!f.totp && f.passkeys <= 1) await this.lastFactorCheck(claims.sub);
    if (!(await this.d.passkeys.remove(claims.sub, ctx.params.id!)))
      throw new ProblemError('not-found', 'No such passkey');
    await this.afterFactorRemoved(claims.sub);
    this.event(ctx, 'mfa-remove', 'success', claims.sub, 'passkey');
    sendEmpty(ctx.res);
  }

  /** Refuses to remove the last factor when the password is too short to stand alone. */
  private async lastFactorCheck(userId: string): Promise<void> {
    const row = await this.activeUser(userId);
    if (Number(row.password_needs_mfa) === 1) {
      throw new ProblemError(
        'conflict',
        `Your password is shorter than ${this.d.config.passwords.minLengthSingleFactor} characters, so it cannot be your only factor; change it first`,
      );
    }
  }

  private async afterFactorRemoved(userId: string): Promise<void> {
    if (!(await this.d.users.hasSecondFactor(userId))) {
      await this.d.db.run('DELETE FROM recovery_codes WHERE user_id = $1', [userId]);
    }
  }

  // ── tokens ──────────────────────────────────────────────────────────────────
  private async token(ctx: Ctx): Promise<void> {
    // RFC 6749 §6: OAuth clients send the refresh grant as a form; JSON is accepted too.
    let body: { refresh_token: string };
    try {
      body = V.token(await readJson(ctx.req, ctx.body, undefined, { form: true }));
    } catch (err) {
      // RFC 6749 §5.2 error codes beside the problem members, for OAuth client libraries.
      if (err instanceof ProblemError && err.problem.status === 400) err.problem.error = 'invalid_request';
      throw err;
    }
    try {
      sendJson(ctx.res, 200, await this.refreshWith(body.refresh_token, ctx.ip));
    } catch (err) {
      if (err instanceof ProblemError && err.problem.status === 401) err.problem.error = 'invalid_grant';
      throw err;
    }
  }

  /** Refresh-token rotation (reuse detection revokes the whole session). */
  private async refreshWith(refreshToken: string, ip: string): Promise<TokenResponse> {
    const ctx = { ip };
    try {
      const out = await this.d.tokens.rotate(refreshToken, (id) => this.subjectById(id));
      this.event(ctx, 'refresh', 'success', out.userId, out.withinGrace ? 'reuse-within-grace' : undefined);
      return tokenBody(out);
    } catch (err) {
      if (err instanceof ProblemError) {
        const userId = err.problem.user_id as string | undefined;
        const reuse = err.problem.reuse === true;
        this.event(
          ctx,
          'refresh',
          reuse ? 'reuse-detected' : 'failure',
          userId,
          reuse ? 'family-revoked' : undefined,
        );
        if (reuse) this.d.log.warn({ user: userId }, 'refresh token reuse: session revoked');
      }
      throw err;
    }
  }

  private async logout(ctx: Ctx): Promise<void> {
    const claims = await this.auth(ctx);
    const body = await this.body(ctx, V.logout);
    await this.logoutWith(claims, body.refresh_token, ctx.ip);
    sendEmpty(ctx.res);
  }

  private async logoutWith(
    claims: AccessClaims,
    refreshToken: string | undefined,
    ip: string,
  ): Promise<void> {
    await this.d.tokens.revokeFamily(claims.sid, 'logout');
    if (refreshToken) {
      const fam = await this.d.tokens.familyOf(refreshToken);
      if (fam && fam.userId === claims.sub && fam.familyId !== claims.sid)
        await this.d.tokens.revokeFamily(fam.familyId, 'logout');
    }
    this.event({ ip }, 'logout', 'success', claims.sub);
  }

  /**
   * Sign-in for Rampart's own console (src/admin): the same checks, throttles, lockout and
   * events as the HTTP routes, in process. Password and TOTP in one step; an account without
   * TOTP cannot sign in here (the session it would get has no second factor).
   */
  readonly console: ConsoleAuth = {
    signIn: async ({ username, password, code }, ip) => {
      const first = await this.passwordLogin({ username, password }, ip);
      if (first.mfa_required !== true) {
        // A password-only session: end it at once; the console needs a second factor.
        const t = first as unknown as TokenResponse;
        const claims = await this.d.tokens.verify(t.access_token);
        await this.d.tokens.revokeFamily(claims.sid, 'console-needs-mfa');
        throw new ProblemError(
          'mfa-enrollment-required',
          `The console needs a second factor: enrol TOTP at ${this.d.config.prefix}/ui first`,
        );
      }
      const tokens = await this.totpLogin({ mfa_token: first.mfa_token as string, code }, ip);
      return this.consoleTokens(tokens);
    },
    passkeySignIn: async (input, ip) => {
      return this.consoleTokens(await this.passkeyLogin(V.passkeyLogin(input), ip));
    },
    reauthenticate: async (accessToken, proof, ip) => {
      const claims = await this.d.tokens.verify(accessToken);
      const body = V.stepUp('code' in proof ? { method: 'totp', ...proof } : { method: 'passkey', ...proof });
      return this.consoleTokens(await this.stepUpWith(claims, body, ip));
    },
    refresh: async (refreshToken, ip) => this.consoleTokens(await this.refreshWith(refreshToken, ip)),
    signOut: async (accessToken, refreshToken, ip) => {
      const claims = await this.d.tokens.verify(accessToken).catch(() => undefined);
      if (claims) await this.logoutWith(claims, refreshToken, ip);
      else {
        const fam = await this.d.tokens.familyOf(refreshToken);
        if (fam) await this.d.tokens.revokeFamily(fam.familyId, 'logout');
      }
    },
  };

  private async consoleTokens(t: TokenResponse): Promise<ConsoleTokens> {
    const claims = await this.d.tokens.verify(t.access_token);
    return {
      accessToken: t.access_token,
      refreshToken: t.refresh_token,
      userId: claims.sub,
      roles: claims.roles ?? [],
      amr: claims.amr,
      authTime: claims.auth_time * 1000,
      expiresAt: claims.exp * 1000,
    };
  }

  private async me(ctx: Ctx): Promise<void> {
    const claims = await this.auth(ctx);
    const row = await this.activeUser(claims.sub);
    const f = await this.d.users.factors(row.id);
    const roles = JSON.parse(row.roles) as string[];
    sendJson(ctx.res, 200, {
      id: row.id,
      username: row.username,
      display_name: row.display_name,
      roles,
      attributes: JSON.parse(row.attributes) as unknown,
      mfa_required: this.d.users.mfaRequired(roles),
      factors: factorsView(f),
      session: { sid: claims.sid, amr: claims.amr, acr: claims.acr, auth_time: claims.auth_time },
    });
  }

  // ── Admin API: user management ──────────────────────────────────────────────
  /**
   * Admin endpoints: role `admin` AND a multi-factor session, always (admin APIs first,
   * whatever `mfa.requiredForRoles` says); changes also need a recent authentication
   * (ASVS 7.5.1). An admin who has not enrolled a factor yet gets 403
   * mfa-enrollment-required until they do.
   */
  private async admin(ctx: Ctx, change: boolean): Promise<AccessClaims> {
    const claims = await this.auth(ctx);
    if (!(claims.roles ?? []).includes('admin'))
      throw new ProblemError('forbidden', 'This needs the admin role');
    if (!claims.amr.includes('mfa')) {
      if (claims.mfa_enrollment_required && !(await this.d.users.hasSecondFactor(claims.sub)))
        throw new ProblemError(
          'mfa-enrollment-required',
          `Enrol a second factor at ${this.d.config.prefix}/ui first`,
        );
      throw mfaSessionRequired(
        'Admin endpoints need a multi-factor session: sign in again with your second factor',
      );
    }
    if (change) this.requireRecentAuth(claims);
    await this.activeUser(claims.sub);
    return claims;
  }

  private async adminTarget(ctx: Ctx): Promise<User> {
    const user = await this.d.users.get(ctx.params.id!);
    if (!user) throw new ProblemError('not-found', 'No such user');
    return user;
  }

  private async adminListUsers(ctx: Ctx): Promise<void> {
    await this.admin(ctx, false);
    sendJson(ctx.res, 200, { users: (await this.d.users.list()).map(adminView) });
  }

  private async adminGetUser(ctx: Ctx): Promise<void> {
    await this.admin(ctx, false);
    const user = await this.adminTarget(ctx);
    const f = await this.d.users.factors(user.id);
    sendJson(ctx.res, 200, {
      ...adminView(user),
      factors: factorsView(f),
    });
  }

  private async adminCreateUser(ctx: Ctx): Promise<void> {
    const claims = await this.admin(ctx, true);
    const body = await this.body(ctx, V.adminCreateUser);
    const user = await this.d.users.add({
      username: body.username,
      password: body.password,
      ...(body.roles ? { roles: body.roles } : {}),
      ...(body.attributes ? { attributes: body.attributes } : {}),
      ...(body.display_name ? { displayName: body.display_name } : {}),
    });
    this.d.log.info({ admin: claims.sub, user: user.id }, 'admin created a user');
    sendJson(ctx.res, 201, { ...adminView(user), enrollment_link: `${this.d.config.issuer}/ui` });
  }

  private async adminUpdateUser(ctx: Ctx): Promise<void> {
    const claims = await this.admin(ctx, true);
    const body = await this.body(ctx, V.adminUpdateUser);
    const target = await this.adminTarget(ctx);
    if (target.id === claims.sub && body.roles && !body.roles.includes('admin')) {
      throw new ProblemError('conflict', 'An admin cannot remove their own admin role');
    }
    const user = await this.d.users.update(target.id, {
      ...(body.roles ? { roles: body.roles } : {}),
      ...(body.attributes ? { attributes: body.attributes } : {}),
    });
    sendJson(ctx.res, 200, adminView(user));
  }

  private async adminSetDisabled(ctx: Ctx, disabled: boolean): Promise<void> {
    const claims = await this.admin(ctx, true);
    const target = await this.adminTarget(ctx);
    if (disabled && target.id === claims.sub)
      throw new ProblemError('conflict', 'An admin cannot disable themselves');
    const user = await this.d.users.disable(target.id, disabled);
    sendJson(ctx.res, 200, adminView(user));
  }

  private async adminUnlock(ctx: Ctx): Promise<void> {
    await this.admin(ctx, true);
    const target = await this.adminTarget(ctx);
    await this.d.users.unlock(target.id);
    sendEmpty(ctx.res);
  }

  private async adminResetMfa(ctx: Ctx): Promise<void> {
    const claims = await this.admin(ctx, true);
    const target = await this.adminTarget(ctx);
    await this.d.users.resetMfa(target.id);
    this.event(ctx, 'mfa-remove', 'success', target.id, `reset by admin ${claims.sub}`);
    sendEmpty(ctx.res);
  }

  // ── TOTP and recovery codes ─────────────────────────────────────────────────
  private async totpEnroll(ctx: Ctx): Promise<void> {
    const claims = await this.auth(ctx);
    await this.body(ctx, V.empty);
    this.requireRecentAuth(claims);
    const row = await this.activeUser(claims.sub);
    const out = await this.d.mfa.enrollTotp(row.id, row.username);
    sendJson(ctx.res, 200, out);
  }

  private async totpConfirm(ctx: Ctx): Promise<void> {
    const claims = await this.auth(ctx);
    const body = await this.body(ctx, V.code);
    this.requireRecentAuth(claims);
    await this.otpCheck(ctx, claims.sub, 'mfa-enroll');
    const first = !(await this.d.users.hasSecondFactor(claims.sub));
    if (!(await this.d.mfa.confirmTotp(claims.sub, body.code))) {
      await this.d.throttles.otp.fail('otp:' + claims.sub);
      this.event(ctx, 'mfa-enroll', 'failure', claims.sub, 'totp-wrong-code');
      throw new ProblemError('invalid-otp', 'Wrong code; check the time on your device');
    }
    await this.d.throttles.otp.reset('otp:' + claims.sub);
    this.event(ctx, 'mfa-enroll', 'success', claims.sub, 'totp');
    const out: Record<string, unknown> = { confirmed: true };
    if (first) out.recovery_codes = await this.d.mfa.regenerateRecoveryCodes(claims.sub);
    sendJson(ctx.res, 200, out);
  }

  private async totpDelete(ctx: Ctx): Promise<void> {
    const claims = await this.auth(ctx);
    this.requireRecentAuth(claims);
    const f = await this.d.users.factors(claims.sub);
    if (!f.totp) throw new ProblemError('not-found', 'No TOTP factor is enrolled');
    if (f.passkeys === 0) await this.lastFactorCheck(claims.sub);
    await this.d.mfa.removeTotp(claims.sub);
    await this.afterFactorRemoved(claims.sub);
    this.event(ctx, 'mfa-remove', 'success', claims.sub, 'totp');
    sendEmpty(ctx.res);
  }

  private async recoveryCodes(ctx: Ctx): Promise<void> {
    const claims = await this.auth(ctx);
    await this.body(ctx, V.empty);
    this.requireRecentAuth(claims);
    if (!(await this.d.users.hasSecondFactor(claims.sub)))
      throw new ProblemError('conflict', 'Enrol TOTP or a passkey first');
    const codes = await this.d.mfa.regenerateRecoveryCodes(claims.sub);
    this.event(ctx, 'mfa-enroll', 'success', claims.sub, 'recovery-codes-regenerated');
    sendJson(ctx.res, 200, { recovery_codes: codes });
  }

  /** Re-authentication with a second factor: a new session with a fresh auth_time. */
  private async stepUp(ctx: Ctx): Promise<void> {
    const claims = await this.auth(ctx);
    const body = await this.body(ctx, V.stepUp);
    sendJson(ctx.res, 200, await this.stepUpWith(claims, body, ctx.ip));
  }

  private async stepUpWith(
    claims: AccessClaims,
    body: ReturnType<typeof V.stepUp>,
    ip: string,
  ): Promise<TokenResponse> {
    const ctx = { ip };
    const userId = claims.sub;
    let added: string[];
    if (body.method === 'totp') {
      await this.otpCheck(ctx, userId, 'step-up');
      const result = await this.d.mfa.verifyTotp(userId, body.code);
      if (result !== 'ok') {
        await this.d.throttles.otp.fail('otp:' + userId);
        this.event(ctx, 'step-up', 'failure', userId, result);
        if (result === 'none') throw new ProblemError('conflict', 'No TOTP factor is enrolled');
        throw new ProblemError(
          'invalid-otp',
          result === 'replayed' ? 'This code was already used; wait for the next one' : 'Wrong code',
        );
      }
      added = ['otp'];
    } else {
      let result: Awaited<ReturnType<PasskeyApi['finishAuthentication']>>;
      try {
        result = await this.d.passkeys.finishAuthentication(body.challenge_id, body.response);
      } catch (err) {
        this.event(ctx, 'step-up', 'failure', userId, 'passkey-failed');
        throw err;
      }
      if (result.userId !== userId) {
        this.event(ctx, 'step-up', 'failure', userId, 'wrong-user');
        throw new ProblemError('invalid-credentials', 'This passkey belongs to another account');
      }
      added = [result.amr, ...(result.userVerified ? ['user'] : [])];
    }
    await this.d.throttles.otp.reset('otp:' + userId);
    const row = await this.activeUser(userId);
    const amr = [...new Set([...claims.amr.filter((a) => a !== 'mfa'), ...added, 'mfa'])];
    const tokens = await this.issue(row, amr);
    await this.d.tokens.revokeFamily(claims.sid, 'stepped-up');
    this.event(ctx, 'step-up', 'success', userId, body.method);
    return tokens;
  }

  private async changePassword(ctx: Ctx): Promise<void> {
    const claims = await this.auth(ctx);
    const body = await this.body(ctx, V.password);
    this.requireRecentAuth(claims);
    await this.requireMfaIfRequired(claims);
    const row = await this.activeUser(claims.sub);
    const key = this.throttleKey(row.username);
    await this.d.throttles.account.check(key, 'password attempts');
    if (
      !row.password_hash ||
      !(await verifyPassword(normalisePassword(body.current_password), row.password_hash))
    ) {
      await this.d.throttles.account.fail(key);
      this.event(ctx, 'password-change', 'failure', row.id, 'bad-password');
      throw new ProblemError('invalid-credentials', 'The current password is wrong');
    }
    const roles = JSON.parse(row.roles) as string[];
    const withMfa = this.d.users.mfaRequired(roles) || (await this.d.users.hasSecondFactor(row.id));
    const pw = checkNewPassword(body.new_password, this.d.config.passwords, {
      withMfa,
      username: row.username,
    });
    const hash = await hashPassword(pw, this.d.scrypt);
    const needsMfa = [...pw].length < this.d.config.passwords.minLengthSingleFactor ? 1 : 0;
    await this.d.db.run(
      'UPDATE users SET password_hash = $1, password_needs_mfa = $2, updated_at = $3 WHERE id = $4',
      [hash, needsMfa, this.d.clock.now(), row.id],
    );
    // Every other session ends; every access token issued until now (this one too) is revoked.
    // This session's refresh token stays valid and mints tokens that pass the cut-off.
    await this.d.tokens.revokeUser(row.id, 'password-change', claims.sid);
    this.event(ctx, 'password-change', 'success', row.id);
    sendEmpty(ctx.res);
  }

  // ── API keys ────────────────────────────────────────────────────────────────
  private async apiKeyCreate(ctx: Ctx): Promise<void> {
    const claims = await this.auth(ctx);
    const body = await this.body(ctx, V.apiKey);
    await this.requireMfaIfRequired(claims);
    const row = await this.activeUser(claims.sub);
    const created = await this.d.apiKeys.create(
      row.id,
      {
        name: body.name,
        scopes: body.scopes,
        ...(body.expires_in !== undefined ? { expiresIn: body.expires_in } : {}),
      },
      JSON.parse(row.roles) as string[],
    );
    this.event(ctx, 'api-key', 'success', row.id, 'created');
    sendJson(ctx.res, 201, created);
  }

  private async apiKeyList(ctx: Ctx): Promise<void> {
    const claims = await this.auth(ctx);
    sendJson(ctx.res, 200, { api_keys: await this.d.apiKeys.list(claims.sub) });
  }

  private async apiKeyDelete(ctx: Ctx): Promise<void> {
    const claims = await this.auth(ctx);
    if (!(await this.d.apiKeys.revoke(claims.sub, ctx.params.id!)))
      throw new ProblemError('not-found', 'No such API key');
    this.event(ctx, 'api-key', 'success', claims.sub, 'revoked');
    sendEmpty(ctx.res);
  }

  private async apiKeyRotate(ctx: Ctx): Promise<void> {
    const claims = await this.auth(ctx);
    const body = await this.body(ctx, V.rotate);
    await this.requireMfaIfRequired(claims);
    const out = await this.d.apiKeys.rotate(claims.sub, ctx.params.id!, body.overlap_seconds);
    this.event(ctx, 'api-key', 'success', claims.sub, 'rotated');
    sendJson(ctx.res, 201, out);
  }

  // ── discovery and UI ────────────────────────────────────────────────────────
  private async jwks(ctx: Ctx): Promise<void> {
    sendJson(ctx.res, 200, this.d.keys.jwks(), { 'Cache-Control': 'public, max-age=300' });
  }

  private async discovery(ctx: Ctx): Promise<void> {
    const iss = this.d.config.issuer;
    sendJson(
      ctx.res,
      200,
      {
        issuer: iss,
        jwks_uri: `${iss}/.well-known/jwks.json`,
        token_endpoint: `${iss}/token`,
        userinfo_endpoint: `${iss}/me`,
        grant_types_supported: ['refresh_token'],
        response_types_supported: ['none'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['ES256'],
        token_endpoint_auth_methods_supported: ['none'],
        acr_values_supported: [ACR.single, ACR.mfa],
        amr_values_supported: ['pwd', 'otp', 'hwk', 'swk', 'user', 'mfa'],
        claims_supported: [
          'iss',
          'aud',
          'sub',
          'exp',
          'iat',
          'jti',
          'sid',
          'amr',
          'acr',
          'auth_time',
          'roles',
        ],
      },
      { 'Cache-Control': 'public, max-age=300' },
    );
  }

  private async ui(ctx: Ctx, file: string, type: string): Promise<void> {
    let content: Buffer;
    try {
      content = await readFile(new URL(file, UI_DIR));
    } catch {
      throw new ProblemError('not-found', 'The sign-in page is not installed');
    }
    ctx.res.writeHead(200, {
      ...API_HEADERS,
      'Content-Type': type,
      'Content-Length': content.length,
      'Content-Security-Policy': UI_CSP,
    });
    ctx.res.end(ctx.req.method === 'HEAD' ? undefined : content);
  }
}
