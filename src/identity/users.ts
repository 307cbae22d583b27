/**
 * Users: creation, lookup, roles and attributes, disabling, MFA reset. The programmatic
 * API the CLI (`rampart users …`) and the HTTP routes share.
 */
import type { Clock } from '../core/clock.ts';
import { ProblemError } from '../core/errors.ts';
import type { Db } from '../store/types.ts';
import type { IdentityConfig } from './config.ts';
import { checkNewPassword, hashPassword, type ScryptParams } from './passwords.ts';
import { newId } from './secrets.ts';
import type { TokenService } from './tokens.ts';

export interface User {
  id: string;
  username: string;
  displayName: string | null;
  roles: string[];
  attributes: Record<string, unknown>;
  disabled: boolean;
  locked: boolean;
  createdAt: number;
}

export interface UserRow {
  [k: string]: unknown;
  id: string;
  username: string;
  display_name: string | null;
  password_hash: string | null;
  password_needs_mfa: number;
  roles: string;
  attributes: string;
  disabled: number;
  failed_logins: number;
  locked_at: number | null;
  tokens_valid_after: number;
  created_at: number;
}

export interface NewUser {
  username: string;
  password: string;
  roles?: string[];
  attributes?: Record<string, unknown>;
  displayName?: string;
}

export interface Factors {
  totp: boolean;
  passkeys: number;
  recoveryCodesLeft: number;
}

/** Hooks into the passkey store (owned by webauthn.ts). */
export interface PasskeyHooks {
  count(userId: string): Promise<number>;
  removeAll(userId: string): Promise<void>;
}

const USERNAME = /^[\p{L}\p{N}._@+-]{1,64}$/u;
const ROLE = /^[A-Za-z0-9._:-]{1,64}$/;

/** Role names, de-duplicated; a name outside [A-Za-z0-9._:-]{1,64} is refused. */
function checkRoles(roles: readonly string[]): string[] {
  for (const r of roles)
    if (typeof r !== 'string' || !ROLE.test(r))
      throw new ProblemError('validation-failed', `Invalid role name "${String(r).slice(0, 64)}"`, {
        field: 'roles',
      });
  return [...new Set(roles)];
}

/** NFKC + lower case; throws 422 when the result is not a valid username. */
export function normaliseUsername(input: string): string {
  const u = input.normalize('NFKC').trim().toLowerCase();
  if (!USERNAME.test(u)) {
    throw new ProblemError('validation-failed', 'Username must be 1–64 letters, digits or . _ @ + -', {
      field: 'username',
    });
  }
  return u;
}

function toUser(r: UserRow, maxConsecutiveFailures: number): User {
  return {
    id: r.id,
    username: r.username,
    displayName: r.display_name,
    roles: JSON.parse(r.roles) as string[],
    attributes: JSON.parse(r.attributes) as Record<string, unknown>,
    disabled: Number(r.disabled) === 1,
    locked: r.locked_at !== null || Number(r.failed_logins) >= maxConsecutiveFailures,
    createdAt: Number(r.created_at),
  };
}

export class Users {
  passkeys: PasskeyHooks | undefined;
  /** The API-key store, so disabling a user revokes its keys whoever disables it. */
  apiKeys: { revokeAll(userId: string): Promise<void> } | undefined;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly cfg: IdentityConfig,
    private readonly tokens: TokenService,
    private readonly scrypt: ScryptParams,
  ) {}

  /** True when policy requires a second factor for these roles. */
  mfaRequired(roles: readonly string[]): boolean {
    return this.cfg.mfa.requiredForAll || roles.some((r) => this.cfg.mfa.requiredForRoles.includes(r));
  }

  /**
   * Creates a user. The password must satisfy the rules; the 8-character minimum
   * applies when policy requires MFA for the user's roles, 15 otherwise.
   */
  async add(input: NewUser): Promise<User> {
    const username = normaliseUsername(input.username);
    const roles = checkRoles(input.roles ?? []);
    if (await this.db.one('SELECT id FROM users WHERE username = $1', [username])) {
      throw new ProblemError('conflict', 'A user with this username already exists');
    }
    const withMfa = this.mfaRequired(roles);
    const pw = checkNewPassword(input.password, this.cfg.passwords, { withMfa, username });
    const hash = await hashPassword(pw, this.scrypt);
    const now = this.clock.now();
    const id = newId();
    const needsMfa = [...pw].length < this.cfg.passwords.minLengthSingleFactor ? 1 : 0;
    try {
      await this.db.run(
        `INSERT INTO users (id, username, display_name, password_hash, password_needs_mfa, roles, attributes, disabled, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $8)`,
        [
          id,
          username,
          input.displayName ?? null,
          hash,
          needsMfa,
          JSON.stringify(roles),
          JSON.stringify(input.attributes ?? {}),
          now,
        ],
      );
    } catch (err) {
      if (await this.row(username))
        throw new ProblemError('conflict', 'A user with this username already exists');
      throw err;
    }
    return (await this.get(id))!;
  }

  /** Row by id or username. */
  async row(idOrUsername: string): Promise<UserRow | undefined> {
    const byId = await this.db.one<UserRow>('SELECT * FROM users WHERE id = $1', [idOrUsername]);
    return byId ?? this.byUsername(idOrUsername);
  }

  /** Row by login name only (never by id: a login must name the account). */
  async byUsername(username: string): Promise<UserRow | undefined> {
    let name: string;
    try {
      name = normaliseUsername(username);
    } catch {
      return undefined;
    }
    return this.db.one<UserRow>('SELECT * FROM users WHERE username = $1', [name]);
  }

  async get(idOrUsername: string): Promise<User | undefined> {
    const r = await this.row(idOrUsername);
    return r ? toUser(r, this.cfg.lockout.maxConsecutiveFailures) : undefined;
  }

  async list(): Promise<User[]> {
    const rows = await this.db.query<UserRow>('SELECT * FROM users ORDER BY username');
    return rows.map((r) => toUser(r, this.cfg.lockout.maxConsecutiveFailures));
  }

  private async must(idOrUsername: string): Promise<UserRow> {
    const r = await this.row(idOrUsername);
    if (!r) throw new ProblemError('not-found', 'No such user');
    return r;
  }

  /** Disables (or re-enables) a user; disabling revokes all sessions, tokens and API keys at once. */
  async disable(idOrUsername: string, disabled = true): Promise<User> {
    const r = await this.must(idOrUsername);
    await this.db.run('UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3', [
      disabled ? 1 : 0,
      this.clock.now(),
      r.id,
    ]);
    this.tokens.setDisabled(r.id, disabled);
    if (disabled) {
      await this.tokens.revokeUser(r.id, 'user-disabled');
      await this.apiKeys?.revokeAll(r.id);
    }
    return (await this.get(r.id))!;
  }

  /** Clears the consecutive-failure lockout. */
  async unlock(idOrUsername: string): Promise<void> {
    const r = await this.must(idOrUsername);
    await this.db.run('UPDATE users SET failed_logins = 0, locked_at = NULL, updated_at = $1 WHERE id = $2', [
      this.clock.now(),
      r.id,
    ]);
  }

  /**
   * Removes every second factor (TOTP, recovery codes, passkeys), unlocks the account
   * and revokes its sessions: the user enrols again at the next login.
   */
  async resetMfa(idOrUsername: string): Promise<void> {
    const r = await this.must(idOrUsername);
    await this.db.transaction(async (tx) => {
      await tx.run('DELETE FROM totp_factors WHERE user_id = $1', [r.id]);
      await tx.run('DELETE FROM recovery_codes WHERE user_id = $1', [r.id]);
      await tx.run('DELETE FROM mfa_challenges WHERE user_id = $1', [r.id]);
    });
    await this.passkeys?.removeAll(r.id);
    await this.unlock(r.id);
    await this.tokens.revokeUser(r.id, 'mfa-reset');
  }

  /** Sets roles (replacing) and/or merges attributes. */
  async update(
    idOrUsername: string,
    patch: { roles?: string[]; attributes?: Record<string, unknown> },
  ): Promise<User> {
    const roles = patch.roles === undefined ? undefined : checkRoles(patch.roles);
    const r = await this.must(idOrUsername);
    const attributes = {
      ...(JSON.parse(r.attributes) as Record<string, unknown>),
      ...(patch.attributes ?? {}),
    };
    await this.db.run('UPDATE users SET roles = $1, attributes = $2, updated_at = $3 WHERE id = $4', [
      roles === undefined ? r.roles : JSON.stringify(roles),
      JSON.stringify(attributes),
      this.clock.now(),
      r.id,
    ]);
    return (await this.get(r.id))!;
  }

  async factors(userId: string): Promise<Factors> {
    const totp = await this.db.one('SELECT user_id FROM totp_factors WHERE user_id = $1 AND confirmed = 1', [
      userId,
    ]);
    const codes = await this.db.one<{ n: number }>(
      'SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL',
      [userId],
    );
    const passkeys = this.passkeys ? await this.passkeys.count(userId) : 0;
    return { totp: totp !== undefined, passkeys, recoveryCodesLeft: Number(codes?.n ?? 0) };
  }

  /** True when the user has a second factor (TOTP or a passkey). */
  async hasSecondFactor(userId: string): Promise<boolean> {
    const f = await this.factors(userId);
    return f.totp || f.passkeys > 0;
  }
}
