/**
 * ES256 signing keys: generated here, stored in the database with the private key
 * sealed (AES-256-GCM under the key-encryption key), rotated after `rotateAfter`;
 * a retired key stays in the JWKS for `gracePeriod` so tokens it signed still verify.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type JsonWebKey,
  type KeyObject,
} from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Db } from '../store/types.ts';
import type { Sealer } from './secrets.ts';

interface KeyRow {
  [k: string]: unknown;
  kid: string;
  alg: string;
  public_jwk: string;
  private_enc: string;
  created_at: number;
  retired_at: number | null;
  expires_at: number | null;
}

interface LoadedKey {
  kid: string;
  publicJwk: JsonWebKey;
  publicKey: KeyObject;
  createdAt: number;
  retiredAt: number | null;
  privateEnc: string;
}

export class SigningKeys {
  private keys = new Map<string, LoadedKey>();
  private currentKid: string | undefined;
  private readonly privateCache = new Map<string, KeyObject>();

  constructor(
    private readonly db: Db,
    private readonly sealer: Sealer,
    private readonly clock: Clock,
    private readonly opts: { rotateAfterMs: number; graceMs: number; log?: Logger },
  ) {}

  /** Loads keys from the store and rotates when there is no current key or it is too old. */
  async refresh(): Promise<void> {
    await this.load();
    const cur = this.currentKid ? this.keys.get(this.currentKid) : undefined;
    if (!cur || cur.createdAt + this.opts.rotateAfterMs <= this.clock.now()) await this.rotate();
  }

  /** Creates a new current key and retires the others (they stay in the JWKS for the grace period). */
  async rotate(): Promise<string> {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const kid = await calculateJwkThumbprint({ kty: jwk.kty!, crv: jwk.crv!, x: jwk.x!, y: jwk.y! });
    const now = this.clock.now();
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    await this.db.transaction(async (tx) => {
      await tx.run(
        'INSERT INTO signing_keys (kid, alg, public_jwk, private_enc, created_at, retired_at, expires_at) VALUES ($1, $2, $3, $4, $5, NULL, NULL)',
        [
          kid,
          'ES256',
          JSON.stringify({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }),
          this.sealer.seal(pem, `signing-key:${kid}`),
          now,
        ],
      );
      await tx.run(
        'UPDATE signing_keys SET retired_at = $1, expires_at = $2 WHERE retired_at IS NULL AND kid <> $3',
        [now, now + this.opts.graceMs, kid],
      );
    });
    this.privateCache.set(kid, privateKey);
    this.opts.log?.info({ kid }, 'identity signing key rotated');
    await this.load();
    return kid;
  }

  private async load(): Promise<void> {
    const now = this.clock.now();
    let rows = await this.db.query<KeyRow>('SELECT * FROM signing_keys ORDER BY created_at ASC, kid ASC');
    if (rows.some((r) => r.expires_at !== null && Number(r.expires_at) <= now)) {
      await this.db.run('DELETE FROM signing_keys WHERE expires_at IS NOT NULL AND expires_at <= $1', [now]);
      rows = rows.filter((r) => r.expires_at === null || Number(r.expires_at) > now);
    }
    const next = new Map<string, LoadedKey>();
    let current: LoadedKey | undefined;
    for (const r of rows) {
      const publicJwk = JSON.parse(r.public_jwk) as JsonWebKey;
      const k: LoadedKey = {
        kid: r.kid,
        publicJwk,
        publicKey: this.keys.get(r.kid)?.publicKey ?? createPublicKey({ key: publicJwk, format: 'jwk' }),
        createdAt: Number(r.created_at),
        retiredAt: r.retired_at === null ? null : Number(r.retired_at),
        privateEnc: r.private_enc,
      };
      next.set(r.kid, k);
      // The newest key signs (two nodes rotating at once both end up using the newer one).
      if (!current || k.createdAt >= current.createdAt) current = k;
    }
    this.keys = next;
    this.currentKid = current?.kid;
  }

  publicKey(kid: string): KeyObject | undefined {
    return this.keys.get(kid)?.publicKey;
  }

  /** The key that signs new tokens. */
  signer(): { kid: string; privateKey: KeyObject } {
    const k = this.currentKid ? this.keys.get(this.currentKid) : undefined;
    if (!k) throw new Error('No signing key loaded');
    let privateKey = this.privateCache.get(k.kid);
    if (!privateKey) {
      privateKey = createPrivateKey(this.sealer.open(k.privateEnc, `signing-key:${k.kid}`).toString('utf8'));
      this.privateCache.set(k.kid, privateKey);
    }
    return { kid: k.kid, privateKey };
  }

  /** RFC 7517 JWK Set of the current and recently retired public keys. */
  jwks(): { keys: Array<Record<string, unknown>> } {
    return {
      keys: [...this.keys.values()]
        .sort((a, b) => b.createdAt - a.createdAt)
        .map((k) => ({ ...k.publicJwk, kid: k.kid, alg: 'ES256', use: 'sig' })),
    };
  }
}
