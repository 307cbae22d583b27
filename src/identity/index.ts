/**
 * The built-in identity service: users, passwords, TOTP, passkeys, recovery codes,
 * API keys, ES256 access tokens with rotating refresh tokens, JWKS. See docs/identity.md.
 *
 * @example
 * const db = await openStore('sqlite://./data/rampart.db');
 * const identity = await createIdentityService({ db, config: { issuer: 'https://api.example.com/auth' } });
 * http.createServer(identity.handle).listen(8080);
 * // the gateway trusts identity.issuer (LocalTokenIssuer) and identity.apiKeys (ApiKeyVerifier)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiKeyVerifier, LocalTokenIssuer } from '../core/auth.ts';
import { systemClock, type Clock } from '../core/clock.ts';
import type { RampartEvent } from '../core/events.ts';
import { ProblemError } from '../core/errors.ts';
import { silentLogger, type Logger } from '../core/logger.ts';
import type { Db } from '../store/types.ts';
import { ApiKeys } from './api-keys.ts';
import { resolveIdentityConfig, type IdentityConfig, type IdentityConfigInput } from './config.ts';
import { SigningKeys } from './keys.ts';
import { Mfa } from './mfa.ts';
import { KEK_ENV, loadKeyEncryptionKey, Sealer } from './secrets.ts';
import { IdentityRoutes, type ConsoleAuth, type PasskeyApi } from './service.ts';
export type { ConsoleAuth, ConsoleTokens } from './service.ts';
import type { ApiKeyInfo } from './api-keys.ts';
export type { ApiKeyInfo } from './api-keys.ts';
export { userJson } from './service.ts';
import { Backoff, FailureThrottle } from './throttle.ts';
import type { CounterStore } from '../core/counters.ts';
import { MemoryCounterStore } from '../store/counters/memory.ts';
import { TokenService } from './tokens.ts';
import { Users, type Factors, type NewUser, type User } from './users.ts';
import { Passkeys } from './webauthn.ts';

export { identityConfigSchema, resolveIdentityConfig } from './config.ts';
export type { IdentityConfig, IdentityConfigInput } from './config.ts';
export type { User, NewUser, Factors } from './users.ts';
export { ACR } from './tokens.ts';

/** The programmatic user API (used by `rampart users …`). */
export interface UserAdmin {
  add(input: NewUser): Promise<User>;
  list(): Promise<User[]>;
  get(idOrUsername: string): Promise<User | undefined>;
  disable(idOrUsername: string, disabled?: boolean): Promise<User>;
  /** Removes TOTP, recovery codes and passkeys, unlocks, revokes sessions. */
  resetMfa(idOrUsername: string): Promise<void>;
  unlock(idOrUsername: string): Promise<void>;
  update(
    idOrUsername: string,
    patch: { roles?: string[]; attributes?: Record<string, unknown> },
  ): Promise<User>;
  /** Where a new user (an admin first of all) signs in to enrol a second factor. */
  enrollmentLink(): string;
  /** The user's enrolled factors (TOTP, passkeys, recovery codes left). */
  factors(id: string): Promise<Factors>;
  /** True when users with these roles must use a second factor. */
  mfaRequired(roles: readonly string[]): boolean;
}

/** API keys of any user, for administrators (the admin API); `key` is returned once. */
export interface ApiKeyAdmin {
  list(userId: string): Promise<ApiKeyInfo[]>;
  /** Scopes `role:<r>` must be roles the owner holds; a disabled owner gets none. */
  create(
    userId: string,
    input: { name: string; scopes: string[]; expiresIn?: number },
  ): Promise<ApiKeyInfo & { key: string }>;
  rotate(
    userId: string,
    id: string,
    overlapSeconds: number,
  ): Promise<ApiKeyInfo & { key: string; previous_expires_at: number }>;
  revoke(userId: string, id: string): Promise<boolean>;
}

export interface IdentityService {
  /**
   * Serves every path under `config.prefix` (the gateway calls it for those requests).
   * Pass `body` when the request stream was already read (the gateway buffers bodies
   * before its policy chain), and `clientIp` when the client is behind a trusted proxy
   * (per-IP throttling): `identity.handle(req, res, ctx.body, ctx.ip)`.
   */
  handle(req: IncomingMessage, res: ServerResponse, body?: Buffer, clientIp?: string): Promise<void>;
  issuer: LocalTokenIssuer;
  apiKeys: ApiKeyVerifier;
  users: UserAdmin;
  /** Administrators' view of every user's API keys. */
  apiKeyAdmin: ApiKeyAdmin;
  /** In-process sign-in for the console (src/admin). */
  console: ConsoleAuth;
  config: IdentityConfig;
  /** Re-reads the revocation view and signing keys from the store now. */
  refresh(): Promise<void>;
  /** Rotates the signing key now (the old one stays in the JWKS for the grace period). */
  rotateSigningKey(): Promise<string>;
  close(): Promise<void>;
}

export interface IdentityServiceOptions {
  db: Db;
  clock?: Clock;
  log?: Logger;
  emit?: (e: RampartEvent) => void;
  config: IdentityConfigInput | IdentityConfig;
  /** Key-encryption key (32 bytes, or base64/hex text); else RAMPART_KEY_ENCRYPTION_KEY, else `config.keyFile`. */
  keyEncryptionKey?: string | Buffer;
  /** Passkey implementation override (tests); defaults to webauthn.ts `Passkeys`. */
  passkeys?: PasskeyApi;
  /** Start background timers (revocation refresh, last-used flush). Default true. */
  background?: boolean;
  /**
   * Where login/code/sign-up failures are counted (the app's counter store, shared across
   * nodes when it is Redis, kept across reloads). Default: a private in-memory store.
   */
  counters?: CounterStore;
}

export async function createIdentityService(opts: IdentityServiceOptions): Promise<IdentityService> {
  const config = resolveIdentityConfig(opts.config as IdentityConfigInput);
  const clock = opts.clock ?? systemClock;
  const log = opts.log ?? silentLogger;
  const emit = opts.emit ?? (() => {});
  const db = opts.db;
  const kek = loadKeyEncryptionKey({
    ...(opts.keyEncryptionKey !== undefined ? { explicit: opts.keyEncryptionKey } : {}),
    file: config.keyFile,
    log,
  });
  const sealer = new Sealer(kek);
  const scrypt = config.passwords.scrypt;
  const onError = (err: unknown) => log.error({ err }, 'identity background task failed');

  const keys = new SigningKeys(db, sealer, clock, {
    rotateAfterMs: config.signingKeys.rotateAfter * 1000,
    graceMs: config.signingKeys.gracePeriod * 1000,
    log,
  });
  const tokens = new TokenService(
    db,
    keys,
    clock,
    {
      issuer: config.issuer,
      audience: config.audience,
      accessTtlMs: config.accessTokenTtl * 1000,
      refreshTtlMs: config.refreshTokenTtl * 1000,
      refreshReuseGraceMs: config.refreshReuseGrace * 1000,
      sessionMaxAgeMs: config.sessionMaxAge * 1000,
      refreshIntervalMs: config.revocationRefreshInterval * 1000,
    },
    onError,
  );
  const users = new Users(db, clock, config, tokens, scrypt);
  const passkeys: PasskeyApi =
    opts.passkeys ??
    new Passkeys(
      db,
      { rpId: config.passkeys.rpId, rpName: config.passkeys.rpName, origins: config.passkeys.origins },
      clock,
    );
  users.passkeys = {
    count: (id) => passkeys.count(id),
    removeAll: async (id) => {
      for (const p of await passkeys.list(id)) await passkeys.remove(id, p.id);
    },
  };
  const mfa = new Mfa(db, clock, sealer, { window: config.mfa.totp.window, issuer: config.mfa.totp.issuer });
  const apiKeys = new ApiKeys(db, clock, {
    prefix: config.apiKeys.prefix,
    cacheTtlMs: config.apiKeys.cacheTtl * 1000,
    flushIntervalMs: config.apiKeys.lastUsedFlushInterval * 1000,
    maxPerUser: config.apiKeys.maxPerUser,
    ownerRoles: async (id) => {
      const u = await users.get(id);
      return u && !u.disabled ? u.roles : undefined;
    },
    onError,
  });
  users.apiKeys = apiKeys;
  const windowMs = config.lockout.window * 1000;
  const backoff = {
    baseMs: config.lockout.backoffBase * 1000,
    maxDelayMs: windowMs,
    forgetAfterMs: config.lockout.forgetAfter * 1000,
  };
  // Password guesses back off exponentially per account and per IP (this node's memory); the
  // one-time-code and sign-up limits live in the counter store, shared by every node.
  const counters = opts.counters ?? new MemoryCounterStore({ clock });
  const throttles = {
    account: new Backoff(clock, { ...backoff, free: config.lockout.maxFailuresPerAccount }),
    ip: new Backoff(clock, { ...backoff, free: config.lockout.maxFailuresPerIp }),
    otp: new FailureThrottle(clock, config.lockout.maxFailuresPerAccount, windowMs, counters, 'otp'),
    signup: new FailureThrottle(clock, 10, windowMs, counters, 'signup'),
  };

  await tokens.refreshView(); // loads (or creates) the signing key too
  try {
    keys.signer(); // fail at start, not at the first login, when the key cannot be opened
  } catch (err) {
    throw new Error(
      `Cannot decrypt the identity signing key: is this the key-encryption key it was sealed with (${KEK_ENV} or ${config.keyFile})?`,
      { cause: err },
    );
  }
  if (opts.background !== false) {
    tokens.start();
    apiKeys.start();
  }

  const routes = new IdentityRoutes({
    db,
    clock,
    log,
    emit,
    config,
    scrypt,
    users,
    tokens,
    keys,
    mfa,
    apiKeys,
    passkeys,
    throttles,
    accountKey: Sealer.derive(kek, 'rampart account reference v1'),
  });

  const userAdmin: UserAdmin = {
    add: (input) => users.add(input),
    list: () => users.list(),
    get: (id) => users.get(id),
    disable: (id, disabled = true) => users.disable(id, disabled),
    resetMfa: (id) => users.resetMfa(id),
    unlock: (id) => users.unlock(id),
    update: (id, patch) => users.update(id, patch),
    enrollmentLink: () => `${config.issuer}/ui`,
    factors: (id) => users.factors(id),
    mfaRequired: (roles) => users.mfaRequired(roles),
  };

  const apiKeyAdmin: ApiKeyAdmin = {
    list: (userId) => apiKeys.list(userId),
    create: async (userId, input) => {
      const owner = await users.get(userId);
      if (!owner) throw new ProblemError('not-found', 'No such user');
      if (owner.disabled) throw new ProblemError('conflict', 'The user is disabled');
      return apiKeys.create(userId, input, owner.roles);
    },
    rotate: (userId, id, overlap) => apiKeys.rotate(userId, id, overlap),
    revoke: (userId, id) => apiKeys.revoke(userId, id),
  };

  return {
    handle: routes.handle,
    issuer: tokens,
    apiKeys,
    users: userAdmin,
    apiKeyAdmin,
    console: routes.console,
    config,
    refresh: () => tokens.refreshView(),
    rotateSigningKey: () => keys.rotate(),
    close: async () => {
      tokens.stop();
      await routes.drain();
      await apiKeys.stop();
    },
  };
}
