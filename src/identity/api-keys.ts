/**
 * Machine API keys: `<prefix>_<id>_<secret>` (e.g. `rpk_live_…`), shown once, stored as
 * SHA-256 of the 256-bit secret (a fast hash is enough for a secret that cannot be
 * guessed; a slow KDF would only slow every request), scoped, expiring, rotatable with
 * an overlap, last use recorded in batches. `verify` serves the gateway from a cache.
 */
import type { ApiKeyVerifier, Principal } from '../core/auth.ts';
import type { Clock } from '../core/clock.ts';
import { ProblemError } from '../core/errors.ts';
import type { Db } from '../store/types.ts';
import { newId, randomCrockford, safeEqual, sha256Hex } from './secrets.ts';

export interface ApiKeyInfo {
  id: string;
  name: string;
  scopes: string[];
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
  replaced_by: string | null;
}

interface KeyRow {
  [k: string]: unknown;
  id: string;
  user_id: string;
  name: string;
  secret_hash: string;
  scopes: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
  replaced_by: string | null;
}

interface Cached {
  hash: string;
  principal: Principal | undefined;
  expiresAt: number | null;
  cachedAt: number;
}

/** Scope syntax: `api:<api name>`, `op:<operationId>` or `role:<role>`. */
export const SCOPE_PATTERN = '^(api|op|role):[A-Za-z0-9._:/{}* -]{1,200}$';

export class ApiKeys implements ApiKeyVerifier {
  private readonly cache = new Map<string, Cached>();
  private readonly lastUsed = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly idPattern: RegExp;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly opts: {
      prefix: string;
      cacheTtlMs: number;
      flushIntervalMs: number;
      maxPerUser: number;
      /** Current roles of the key's owner, or undefined when the owner is disabled/gone. */
      ownerRoles: (userId: string) => Promise<string[] | undefined>;
      onError?: (err: unknown) => void;
    },
  ) {
    this.idPattern = new RegExp(`^${opts.prefix}_([0-9a-z]{26})_([0-9a-z]{52})$`);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.flush().catch((e: unknown) => this.opts.onError?.(e));
    }, this.opts.flushIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** Writes the batched last-used times (one UPDATE per key used since the last flush). */
  async flush(): Promise<void> {
    const batch = [...this.lastUsed];
    this.lastUsed.clear();
    for (const [id, at] of batch) {
      await this.db.run(
        'UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)',
        [at, id],
      );
    }
  }

  async create(
    userId: string,
    input: { name: string; scopes: string[]; expiresIn?: number },
    ownerRoles: readonly string[],
  ): Promise<ApiKeyInfo & { key: string }> {
    for (const s of input.scopes) {
      if (s.startsWith('role:') && !ownerRoles.includes(s.slice(5))) {
        throw new ProblemError('forbidden', `You cannot grant the role "${s.slice(5)}" that you do not hold`);
      }
    }
    const now = this.clock.now();
    const active = await this.db.one<{ n: number }>(
      'SELECT COUNT(*) AS n FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)',
      [userId, now],
    );
    if (Number(active?.n ?? 0) >= this.opts.maxPerUser)
      throw new ProblemError('conflict', `At most ${this.opts.maxPerUser} active API keys per user`);
    return this.insert(
      userId,
      input.name,
      [...new Set(input.scopes)],
      now,
      input.expiresIn !== undefined ? now + input.expiresIn * 1000 : null,
    );
  }

  private async insert(
    userId: string,
    name: string,
    scopes: string[],
    now: number,
    expiresAt: number | null,
  ): Promise<ApiKeyInfo & { key: string }> {
    const id = newId();
    const secret = randomCrockford(52).toLowerCase(); // 260 bits
    await this.db.run(
      'INSERT INTO api_keys (id, user_id, name, secret_hash, scopes, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [id, userId, name, sha256Hex(secret), JSON.stringify(scopes), now, expiresAt],
    );
    return {
      id,
      key: `${this.opts.prefix}_${id}_${secret}`,
      name,
      scopes,
      created_at: now,
      expires_at: expiresAt,
      last_used_at: null,
      revoked_at: null,
      replaced_by: null,
    };
  }

  async list(userId: string): Promise<ApiKeyInfo[]> {
    const rows = await this.db.query<KeyRow>(
      'SELECT * FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at',
      [userId],
    );
    return rows.map((r) => this.info(r));
  }

  private info(r: KeyRow): ApiKeyInfo {
    const pending = this.lastUsed.get(r.id);
    const last = r.last_used_at === null ? null : Number(r.last_used_at);
    return {
      id: r.id,
      name: r.name,
      scopes: JSON.parse(r.scopes) as string[],
      created_at: Number(r.created_at),
      expires_at: r.expires_at === null ? null : Number(r.expires_at),
      last_used_at: pending !== undefined && (last === null || pending > last) ? pending : last,
      revoked_at: r.revoked_at === null ? null : Number(r.revoked_at),
      replaced_by: r.replaced_by,
    };
  }

  async revoke(userId: string, id: string): Promise<boolean> {
    const res = await this.db.run(
      'UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL',
      [this.clock.now(), id, userId],
    );
    this.cache.delete(id);
    return res.changes === 1;
  }

  /** Revokes every key of a user (disable). */
  async revokeAll(userId: string): Promise<void> {
    const rows = await this.db.query<{ id: string }>(
      'SELECT id FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL',
      [userId],
    );
    await this.db.run('UPDATE api_keys SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL', [
      this.clock.now(),
      userId,
    ]);
    for (const r of rows) this.cache.delete(r.id);
  }

  /**
   * Issues a replacement with the same name, scopes and expiry; the old key stays valid
   * for `overlapSeconds` (0 = revoked now) so deployments can switch without downtime.
   */
  async rotate(
    userId: string,
    id: string,
    overlapSeconds: number,
  ): Promise<ApiKeyInfo & { key: string; previous_expires_at: number }> {
    const now = this.clock.now();
    const old = await this.db.one<KeyRow>(
      'SELECT * FROM api_keys WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL',
      [id, userId],
    );
    if (!old || (old.expires_at !== null && Number(old.expires_at) <= now))
      throw new ProblemError('not-found', 'No such active API key');
    const fresh = await this.insert(
      userId,
      old.name,
      JSON.parse(old.scopes) as string[],
      now,
      old.expires_at === null ? null : Number(old.expires_at),
    );
    const oldExpiry =
      old.expires_at === null
        ? now + overlapSeconds * 1000
        : Math.min(Number(old.expires_at), now + overlapSeconds * 1000);
    const res = await this.db.run(
      'UPDATE api_keys SET expires_at = $1, replaced_by = $2 WHERE id = $3 AND replaced_by IS NULL',
      [oldExpiry, fresh.id, id],
    );
    if (res.changes !== 1) {
      await this.db.run('UPDATE api_keys SET revoked_at = $1 WHERE id = $2', [now, fresh.id]);
      throw new ProblemError('conflict', 'This key was already rotated');
    }
    this.cache.delete(id);
    return { ...fresh, previous_expires_at: oldExpiry };
  }

  /**
   * Verifies a presented key; undefined when unknown, wrong, expired, revoked or its
   * owner is disabled. Cached for `cacheTtl` (revocations on other nodes take effect
   * within it; expiry is checked on every call against the clock).
   */
  async verify(presented: string): Promise<Principal | undefined> {
    const m = this.idPattern.exec(presented);
    if (!m) return undefined;
    const id = m[1]!;
    const hash = sha256Hex(m[2]!);
    const now = this.clock.now();
    let entry = this.cache.get(id);
    if (!entry || entry.cachedAt + this.opts.cacheTtlMs <= now) {
      entry = await this.load(id, now);
      if (this.cache.size >= 10_000) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(id, entry);
    }
    if (!entry.principal || !safeEqual(entry.hash, hash)) return undefined;
    if (entry.expiresAt !== null && entry.expiresAt <= now) return undefined;
    this.lastUsed.set(id, now);
    return entry.principal;
  }

  private async load(id: string, now: number): Promise<Cached> {
    const r = await this.db.one<KeyRow>('SELECT * FROM api_keys WHERE id = $1', [id]);
    const invalid: Cached = { hash: '', principal: undefined, expiresAt: null, cachedAt: now };
    if (!r || r.revoked_at !== null) return invalid;
    const ownerRoles = await this.opts.ownerRoles(r.user_id);
    if (!ownerRoles) return invalid;
    const scopes = JSON.parse(r.scopes) as string[];
    const roleScopes = scopes.filter((s) => s.startsWith('role:')).map((s) => s.slice(5));
    // A key never holds more than its owner does today.
    const roles = roleScopes.filter((x) => ownerRoles.includes(x));
    return {
      hash: r.secret_hash,
      expiresAt: r.expires_at === null ? null : Number(r.expires_at),
      cachedAt: now,
      principal: {
        id: r.user_id,
        kind: 'api-key',
        roles,
        issuer: 'api-key',
        amr: [],
        scopes,
        claims: { key_id: r.id, name: r.name },
      },
    };
  }
}
