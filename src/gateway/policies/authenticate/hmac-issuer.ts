/**
 * Issuers whose tokens are signed with a shared HMAC secret (HS256/384/512): the protected
 * API's own login, as many APIs (and the lab) have. The secret is imported once as a
 * `KeyObject` (PERFORMANCE.md: a string secret costs jsonwebtoken ~0.5 ms per verify);
 * only HMAC algorithms are accepted for such an issuer and only asymmetric ones for JWKS
 * issuers, so no token can switch an issuer's key type (RFC 8725 §2.1 algorithm confusion).
 */
import { createSecretKey, type KeyObject } from 'node:crypto';
import { errors, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import { normalizeTyp, typAccepted } from './claims.ts';
import { inJwtWordlist } from './jwt-wordlist.ts';
import type { HmacIssuerOptions } from './schema.ts';

/** RFC 7518 §3.2: an HMAC key at least as long as the hash output. */
export const MIN_SECRET_BYTES: Readonly<Record<string, number>> = { HS256: 32, HS384: 48, HS512: 64 };

/** One trailing newline of a `${file:}` secret is not part of it (editors add one). */
export function normaliseSecret(secret: string): string {
  return secret.replace(/\r?\n$/, '');
}

/**
 * Why a secret is unsafe, or undefined: shorter than the strongest listed algorithm needs,
 * in the JWT-cracking wordlist, or one character repeated. Never quotes the secret.
 * @example
 * weakSecretReason('changeme', ['HS256']) // 'is 8 bytes; HS256 needs at least 32 (RFC 7518 §3.2)'
 */
export function weakSecretReason(secret: string, algorithms: readonly string[]): string | undefined {
  const s = normaliseSecret(secret);
  const bytes = Buffer.byteLength(s, 'utf8');
  let need = 32;
  let alg = 'HS256';
  for (const a of algorithms) {
    const n = MIN_SECRET_BYTES[a] ?? 32;
    if (n > need) [need, alg] = [n, a];
  }
  if (inJwtWordlist(s)) return 'is in the JWT-cracking wordlist: it can be guessed offline from any token';
  if (bytes < need) return `is ${bytes} bytes; ${alg} needs at least ${need} (RFC 7518 §3.2)`;
  if (new Set(s).size < 4) return 'is one or a few characters repeated';
  return undefined;
}

/**
 * Every unsafe secret of the HMAC issuers, with its place in `policies.authenticate`, for
 * `rampart check` and the policy's own build (same rule, same words). Issuers with
 * `allowWeakSecret: true` are skipped here; the policy logs them loudly instead.
 */
export function hmacSecretProblems(
  issuers: readonly HmacIssuerOptions[],
): Array<{ segments: string[]; message: string }> {
  const out: Array<{ segments: string[]; message: string }> = [];
  issuers.forEach((cfg, i) => {
    if (cfg.allowWeakSecret) return;
    const secrets: Array<[string[], string]> = [
      [['hmacIssuers', String(i), 'secret'], cfg.secret],
      ...cfg.previousSecrets.map((s, j): [string[], string] => [
        ['hmacIssuers', String(i), 'previousSecrets', String(j)],
        s,
      ]),
    ];
    for (const [segments, secret] of secrets) {
      const why = weakSecretReason(secret, cfg.algorithms);
      if (why)
        out.push({
          segments,
          message: `the HMAC secret of issuer ${cfg.issuer} ${why}. Use 32+ random bytes (openssl rand -base64 48) from \${ENV} or \${file:}; allowWeakSecret: true only for the lab demo`,
        });
    }
  });
  return out;
}

/** One trusted HMAC issuer, built once: its keys as KeyObjects, its allow-lists as Sets. */
export class HmacIssuer {
  readonly issuer: string;
  readonly audience: string | string[];
  readonly algorithms: HmacIssuerOptions['algorithms'];
  readonly algorithmSet: ReadonlySet<string>;
  private readonly typSet: ReadonlySet<string>;
  readonly typRequired: boolean;
  readonly subjectPath: string;
  readonly rolesPaths: readonly string[];
  readonly acrMapping: Readonly<Record<string, readonly string[]>>;
  readonly amrMapping: Readonly<Record<string, string>>;
  /** Current secret first, then the previous ones (rotation). */
  private readonly keys: readonly KeyObject[];
  /** True when the secret was accepted only because of `allowWeakSecret`. */
  readonly weak: boolean;

  constructor(opts: HmacIssuerOptions) {
    this.issuer = opts.issuer;
    this.audience = opts.audience;
    this.algorithms = opts.algorithms;
    this.algorithmSet = new Set(opts.algorithms);
    this.typSet = new Set(opts.typ.map(normalizeTyp));
    this.typRequired = opts.typRequired;
    this.subjectPath = opts.claimMapping.subject;
    const roles = opts.claimMapping.roles;
    this.rolesPaths = typeof roles === 'string' ? [roles] : roles;
    this.acrMapping = opts.acrMapping;
    this.amrMapping = opts.amrMapping;
    const secrets = [opts.secret, ...opts.previousSecrets];
    const reasons = secrets.map((s) => weakSecretReason(s, opts.algorithms)).filter((r) => r !== undefined);
    if (reasons.length > 0 && !opts.allowWeakSecret)
      throw new Error(`authenticate: the HMAC secret of issuer ${opts.issuer} ${reasons[0]}`);
    this.weak = reasons.length > 0;
    this.keys = secrets.map((s) => createSecretKey(Buffer.from(normaliseSecret(s), 'utf8')));
  }

  /** RFC 8725 §3.11 explicit typing, with this issuer's accepted values. */
  typAccepted(typ: unknown): boolean {
    return typAccepted(this.typSet, this.typRequired, typ);
  }

  /** jose `jwtVerify` against the current secret, then the previous ones on a signature mismatch. */
  async verifyJwt(token: string, options: JWTVerifyOptions): Promise<JWTPayload> {
    let last: unknown;
    for (const key of this.keys) {
      try {
        return (await jwtVerify(token, key, options)).payload;
      } catch (err) {
        if (!(err instanceof errors.JWSSignatureVerificationFailed)) throw err;
        last = err;
      }
    }
    throw last;
  }
}
