import {
  createRemoteJWKSet,
  customFetch,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyOptions,
  type CryptoKey,
  type FlattenedJWSInput,
  type JWSHeaderParameters,
  type RemoteJWKSet,
} from 'jose';
import { fetch as undiciFetch, type Agent } from 'undici';
import { outboundGuard, SsrfBlocked, type OutboundGuard, type Resolve } from '../../../core/ssrf.ts';
import { normalizeTyp, typAccepted } from './claims.ts';
import type { ExternalIssuerOptions } from './schema.ts';
import { withDeadline } from '../../../core/deadline.ts';

/** The issuer's keys could not be obtained (network, timeout, bad discovery document or JWKS). */
export class KeysUnavailable extends Error {
  override name = 'KeysUnavailable';
}

const LOOPBACK = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/**
 * Key sources must be https (RFC 8414 / OIDC Discovery; a JWKS over plain http can be
 * swapped in transit). Plain http is allowed for loopback hosts only (tests, sidecars).
 */
export function assertKeySourceUrl(value: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`authenticate: ${what} is not a URL`);
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && LOOPBACK.test(url.hostname)) return url;
  throw new Error(
    `authenticate: ${what} must be an https URL (http only for loopback hosts), got ${url.protocol}//${url.host}`,
  );
}

/**
 * One trusted external issuer, built once at policy creation: its allow-lists as Sets,
 * its claim mapping, and a lazily created remote JWKS (jose `createRemoteJWKSet`: keys
 * cached for `cacheMaxAgeMs`, an unknown `kid` refetches at most every `cooldownMs`,
 * fetches time out after `timeoutMs`, redirects are not followed). Keys come only from
 * the configured (or discovered) JWKS URL — never from a token's `jku`/`x5u`/`jwk`.
 * Every fetch (discovery, JWKS) passes the SSRF guard of `core/ssrf.ts`: the host must
 * resolve to public addresses only (checked before the request and again at connect time,
 * addresses pinned) unless the issuer is configured with `allowPrivate` (an issuer on the
 * internal network, a loopback test issuer).
 */
export class ExternalIssuer {
  readonly issuer: string;
  readonly audience: string | string[];
  readonly algorithms: ExternalIssuerOptions['algorithms'];
  readonly algorithmSet: ReadonlySet<string>;
  private readonly typSet: ReadonlySet<string>;
  readonly typRequired: boolean;
  readonly subjectPath: string;
  readonly rolesPaths: readonly string[];
  readonly acrMapping: Readonly<Record<string, readonly string[]>>;
  readonly amrMapping: Readonly<Record<string, string>>;
  private readonly opts: ExternalIssuerOptions;
  private jwks: RemoteJWKSet | undefined;
  private discovering: Promise<RemoteJWKSet> | undefined;
  private failedAt = Number.NEGATIVE_INFINITY;
  private readonly guard: OutboundGuard | undefined;
  private agent: Agent | undefined;

  constructor(opts: ExternalIssuerOptions, resolve?: Resolve) {
    this.opts = opts;
    this.guard = opts.allowPrivate
      ? undefined
      : outboundGuard({ schemes: ['https', 'http'], ...(resolve ? { resolve } : {}) });
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
    if (opts.jwksUri !== '') {
      this.jwks = this.remote(assertKeySourceUrl(opts.jwksUri, `jwksUri of issuer ${opts.issuer}`));
    } else {
      assertKeySourceUrl(opts.issuer, `issuer ${opts.issuer} (used for discovery)`);
    }
  }

  /** RFC 8725 §3.11 explicit typing, with this issuer's accepted values. */
  typAccepted(typ: unknown): boolean {
    return typAccepted(this.typSet, this.typRequired, typ);
  }

  /** jose `jwtVerify` against this issuer's JWKS. */
  async verifyJwt(token: string, options: JWTVerifyOptions): Promise<JWTPayload> {
    return (await jwtVerify(token, this.getKey, options)).payload;
  }

  /** Key resolver for jose's `jwtVerify`; failures to obtain keys become {@link KeysUnavailable}. */
  readonly getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey> => {
    const jwks = this.jwks ?? (await this.discover());
    try {
      return await jwks(header, token);
    } catch (err) {
      // A key that is not in the set is the token's fault; anything else is the issuer's.
      if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys)
        throw err;
      throw new KeysUnavailable('issuer keys unavailable', { cause: err });
    }
  };

  private remote(url: URL): RemoteJWKSet {
    return createRemoteJWKSet(url, {
      timeoutDuration: this.opts.timeoutMs,
      cooldownDuration: this.opts.cooldownMs,
      cacheMaxAge: this.opts.cacheMaxAgeMs,
      [customFetch]: (u, init) => this.fetch(u, init),
    });
  }

  /**
   * The one fetch of this issuer: no redirects, and through the SSRF guard unless the
   * issuer is `allowPrivate` (a metadata address or an internal host is refused before any
   * byte is sent, and re-checked when the socket connects).
   */
  private async fetch(
    url: string,
    init: { headers?: Headers | Record<string, string>; signal: AbortSignal },
  ): Promise<Response> {
    if (!this.guard) return fetch(url, { ...init, redirect: 'manual' });
    try {
      await this.guard.check(url);
    } catch (err) {
      if (err instanceof SsrfBlocked) throw new KeysUnavailable(`key source refused: ${err.message}`);
      throw err;
    }
    this.agent ??= this.guard.agent({ connectTimeoutMs: this.opts.timeoutMs });
    const res = await undiciFetch(url, {
      headers: Object.fromEntries(new Headers(init.headers).entries()),
      signal: init.signal,
      redirect: 'manual',
      dispatcher: this.agent,
    });
    return res as unknown as Response;
  }

  /** Closes the guarded connection pool (policy close / reload). */
  async close(): Promise<void> {
    const a = this.agent;
    this.agent = undefined;
    await a?.close();
  }

  /** OpenID Connect Discovery 1.0 §4: one fetch, shared by concurrent callers; failures retried after the cooldown. */
  private discover(): Promise<RemoteJWKSet> {
    if (this.discovering) return this.discovering;
    if (Date.now() - this.failedAt < this.opts.cooldownMs) {
      return Promise.reject(new KeysUnavailable('issuer discovery failed recently'));
    }
    const p = this.fetchDiscovery().then(
      (jwks) => {
        this.jwks = jwks;
        this.discovering = undefined;
        return jwks;
      },
      (err: unknown) => {
        this.failedAt = Date.now();
        this.discovering = undefined;
        throw err instanceof KeysUnavailable
          ? err
          : new KeysUnavailable('issuer discovery failed', { cause: err });
      },
    );
    this.discovering = p;
    return p;
  }

  private async fetchDiscovery(): Promise<RemoteJWKSet> {
    const url = `${this.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    // Redirects are never followed (a 3xx is a failed discovery).
    const doc = await withDeadline(this.opts.timeoutMs, async (signal) => {
      const res = await this.fetch(url, { headers: { accept: 'application/json' }, signal });
      if (res.status !== 200) throw new KeysUnavailable(`discovery answered ${res.status}`);
      return (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
    });
    // OIDC Discovery §4.3: the document's issuer must be exactly the one we asked about.
    if (doc.issuer !== this.issuer) throw new KeysUnavailable('discovery issuer mismatch');
    if (typeof doc.jwks_uri !== 'string') throw new KeysUnavailable('discovery has no jwks_uri');
    let jwksUrl: URL;
    try {
      jwksUrl = assertKeySourceUrl(doc.jwks_uri, 'discovered jwks_uri');
    } catch (err) {
      throw new KeysUnavailable('discovered jwks_uri not allowed', { cause: err });
    }
    return this.remote(jwksUrl);
  }
}
