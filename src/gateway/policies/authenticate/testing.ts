/**
 * Test support for token-based policies (authenticate, mfa, and anything reading the
 * principal): real key pairs (jose), a real in-memory {@link LocalTokenIssuer}, a token
 * signer, and a real HTTP server on 127.0.0.1 that plays external OIDC issuers
 * (discovery document + JWKS) and counts every request it gets.
 *
 * @example
 * const okta = await keyPair('RS256', 'okta-1');
 * const idp = await startIssuerServer();
 * const iss = idp.addIssuer({ path: '/okta', keys: [okta] });
 * const token = await signToken(okta, { iss, aud: 'api://default', sub: 'u1', iat, exp }, { typ: 'JWT' });
 */
import http from 'node:http';
import { KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import {
  exportJWK,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTHeaderParameters,
} from 'jose';
import type { LocalTokenIssuer } from '../../../core/auth.ts';

export interface TestKeyPair {
  alg: 'ES256' | 'RS256' | 'ES384' | 'PS256';
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** The public key as a node KeyObject (what a LocalTokenIssuer hands out). */
  publicKeyObject: KeyObject;
  /** Public JWK with kid, alg and use. */
  jwk: JWK;
}

export async function keyPair(alg: TestKeyPair['alg'], kid: string): Promise<TestKeyPair> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { alg, kid, privateKey, publicKey, publicKeyObject: KeyObject.from(publicKey), jwk };
}

/**
 * Signs a JWT with `key` (header: alg, kid, `typ: at+jwt` unless overridden; a header
 * field set to `undefined` is left out).
 */
export async function signToken(
  key: TestKeyPair,
  claims: Record<string, unknown>,
  header: Partial<JWTHeaderParameters> = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...header } as JWTHeaderParameters)
    .sign(key.privateKey);
}

/** A real LocalTokenIssuer over in-memory keys and revocations, counting `isRevoked` calls. */
export class TestLocalIssuer implements LocalTokenIssuer {
  readonly algorithms: readonly string[];
  private readonly keys = new Map<string, KeyObject>();
  readonly revokedJti = new Set<string>();
  readonly revokedSid = new Set<string>();
  /** Tokens of these subjects issued before the time (seconds) are revoked (password change). */
  readonly revokedBefore = new Map<string, number>();
  revocationChecks = 0;

  constructor(
    readonly issuer: string,
    readonly audience: string,
    keys: readonly TestKeyPair[],
    algorithms: readonly string[] = ['ES256'],
  ) {
    for (const k of keys) this.keys.set(k.kid, k.publicKeyObject);
    this.algorithms = algorithms;
  }

  publicKey(kid: string): KeyObject | undefined {
    return this.keys.get(kid);
  }

  isRevoked(claims: { sub: string; jti?: string; sid?: string; iat: number }): boolean {
    this.revocationChecks++;
    if (claims.jti !== undefined && this.revokedJti.has(claims.jti)) return true;
    if (claims.sid !== undefined && this.revokedSid.has(claims.sid)) return true;
    const before = this.revokedBefore.get(claims.sub);
    return before !== undefined && claims.iat < before;
  }
}

export interface FakeIssuer {
  /** The `iss` value. */
  issuer: string;
  keys: TestKeyPair[];
  /** What the discovery document claims as issuer (defaults to `issuer`). */
  discoveryIssuer: string;
  /** Status of the JWKS response (200). */
  jwksStatus: number;
}

export interface IssuerServer {
  url: string;
  /** Requests received, by path. */
  hits: Map<string, number>;
  /** Total requests received. */
  total(): number;
  /**
   * Serves an issuer at `url + path`: `<path>/.well-known/openid-configuration` and
   * `<path>/keys`. Returns the issuer string (`url + path`, plus `/` when `trailingSlash`).
   */
  addIssuer(opts: {
    path: string;
    keys: TestKeyPair[];
    trailingSlash?: boolean;
    discoveryIssuer?: string;
  }): string;
  issuer(path: string): FakeIssuer;
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1:0 serving OIDC discovery documents and JWKS. */
export async function startIssuerServer(): Promise<IssuerServer> {
  const issuers = new Map<string, FakeIssuer>();
  const hits = new Map<string, number>();
  let url = '';
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    for (const [prefix, iss] of issuers) {
      if (path === `${prefix}/.well-known/openid-configuration`) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            issuer: iss.discoveryIssuer,
            jwks_uri: `${url}${prefix}/keys`,
            id_token_signing_alg_values_supported: ['RS256'],
          }),
        );
        return;
      }
      if (path === `${prefix}/keys`) {
        res.writeHead(iss.jwksStatus, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ keys: iss.keys.map((k) => k.jwk) }));
        return;
      }
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    hits,
    total: () => [...hits.values()].reduce((a, b) => a + b, 0),
    addIssuer({ path, keys, trailingSlash, discoveryIssuer }) {
      const issuer = `${url}${path}${trailingSlash ? '/' : ''}`;
      issuers.set(path, { issuer, keys, discoveryIssuer: discoveryIssuer ?? issuer, jwksStatus: 200 });
      return issuer;
    },
    issuer(path) {
      const i = issuers.get(path);
      if (!i) throw new Error(`no issuer at ${path}`);
      return i;
    },
    close() {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}
