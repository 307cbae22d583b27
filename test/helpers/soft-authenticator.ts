/**
 * A tiny software WebAuthn authenticator + client for tests: produces real
 * registration (attestation `fmt: "none"`) and authentication (ES256 assertion)
 * responses in Node, without a browser, that @simplewebauthn/server verifies.
 *
 * It plays both the authenticator (authenticatorData, COSE key, signature, signature
 * counter) and the browser (clientDataJSON with type, challenge, origin), and lets a
 * test bend any of it: wrong origin, wrong RP ID, no UV, a replayed counter, synced
 * (BE/BS) credentials.
 *
 * @example
 * const auth = new SoftAuthenticator({ origin: 'https://id.example.com' });
 * const { options } = await passkeys.startRegistration({ id: 'u1', name: 'alice' });
 * const reg = auth.create(options);                 // RegistrationResponseJSON
 * const { options: req } = await passkeys.startAuthentication();
 * const assertion = auth.get(req);                   // AuthenticationResponseJSON
 */
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

// ---------------------------------------------------------------------------------
// Minimal CBOR encoder (RFC 8949): unsigned/negative ints, byte and text strings,
// arrays and maps. Enough for attestation objects and COSE keys.
// ---------------------------------------------------------------------------------

/** A CBOR map with keys in insertion order (COSE keys use integer keys). */
export type CborValue =
  number | string | Uint8Array | CborValue[] | Map<number | string, CborValue> | { [key: string]: CborValue };

function head(major: number, length: number): Buffer {
  const m = major << 5;
  if (length < 24) return Buffer.from([m | length]);
  if (length < 0x100) return Buffer.from([m | 24, length]);
  if (length < 0x10000) {
    const b = Buffer.alloc(3);
    b[0] = m | 25;
    b.writeUInt16BE(length, 1);
    return b;
  }
  if (length < 0x100000000) {
    const b = Buffer.alloc(5);
    b[0] = m | 26;
    b.writeUInt32BE(length, 1);
    return b;
  }
  const b = Buffer.alloc(9);
  b[0] = m | 27;
  b.writeBigUInt64BE(BigInt(length), 1);
  return b;
}

/** Encodes a value as CBOR (definite lengths only). */
export function cborEncode(value: CborValue): Buffer {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError('cbor: only integers are supported');
    return value >= 0 ? head(0, value) : head(1, -1 - value);
  }
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([head(3, bytes.length), bytes]);
  }
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), Buffer.from(value)]);
  if (Array.isArray(value)) return Buffer.concat([head(4, value.length), ...value.map(cborEncode)]);
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
  return Buffer.concat([
    head(5, entries.length),
    ...entries.flatMap(([k, v]) => [cborEncode(k), cborEncode(v)]),
  ]);
}

// ---------------------------------------------------------------------------------
// Authenticator
// ---------------------------------------------------------------------------------

/** authenticatorData flag bits (WebAuthn §6.1). */
export const FLAGS = { UP: 0x01, UV: 0x04, BE: 0x08, BS: 0x10, AT: 0x40, ED: 0x80 } as const;

export interface SoftCredential {
  /** base64url credential id. */
  id: string;
  rpId: string;
  /** base64url user handle from the creation options. */
  userHandle: string;
  privateKey: KeyObject;
  /** Current signature counter (the next assertion sends counter + step). */
  counter: number;
}

export interface SoftAuthenticatorOptions {
  /** Origin the "browser" puts in clientDataJSON. Default `https://localhost`; set it to one of the RP's origins. */
  origin?: string;
  /** Set the BE (backup eligible) flag: a syncable credential. Default false (device-bound). */
  backupEligible?: boolean;
  /** Set the BS (backed up) flag. Requires backupEligible. Default false. */
  backedUp?: boolean;
  /** Counter increment per assertion; 0 models an authenticator without a counter. Default 1. */
  counterStep?: number;
}

/** Per-call overrides to build deliberately wrong responses. */
export interface CeremonyOverrides {
  origin?: string;
  /** RP ID hashed into authenticatorData (default: the options' rp.id / rpId). */
  rpId?: string;
  /** Challenge put in clientDataJSON (default: the options' challenge). */
  challenge?: string;
  /** clientDataJSON type (default `webauthn.create` / `webauthn.get`). */
  type?: string;
  /** Clear the UV flag. */
  noUserVerification?: boolean;
  /** Clear the UP flag. */
  noUserPresence?: boolean;
  /** Assertion: use this signature counter instead of counter + step (does not move the stored counter). */
  counter?: number;
  /** Assertion: use this credential (base64url id) instead of picking one. */
  credentialId?: string;
  /** Assertion: send this user handle (null to omit it). */
  userHandle?: string | null;
}

interface CreationOptionsLike {
  challenge: string;
  rp: { id?: string; name: string };
  user: { id: string; name: string; displayName?: string };
  pubKeyCredParams: Array<{ alg: number; type: string }>;
  excludeCredentials?: Array<{ id: string }>;
}

interface RequestOptionsLike {
  challenge: string;
  rpId?: string;
  allowCredentials?: Array<{ id: string }>;
}

export interface SoftRegistrationResponse {
  id: string;
  rawId: string;
  type: 'public-key';
  authenticatorAttachment: 'platform';
  clientExtensionResults: Record<string, never>;
  response: { clientDataJSON: string; attestationObject: string; transports: string[] };
}

export interface SoftAuthenticationResponse {
  id: string;
  rawId: string;
  type: 'public-key';
  authenticatorAttachment: 'platform';
  clientExtensionResults: Record<string, never>;
  response: { clientDataJSON: string; authenticatorData: string; signature: string; userHandle?: string };
}

const sha256 = (data: string | Uint8Array): Buffer => createHash('sha256').update(data).digest();

/** A software authenticator holding ES256 discoverable credentials in memory. */
export class SoftAuthenticator {
  readonly credentials = new Map<string, SoftCredential>();
  /** AAGUID reported at registration (all zero, as for `none` attestation). */
  readonly aaguid = Buffer.alloc(16);
  private readonly origin: string;
  private readonly step: number;

  constructor(private readonly opts: SoftAuthenticatorOptions = {}) {
    this.origin = opts.origin ?? 'https://localhost';
    this.step = opts.counterStep ?? 1;
    if (opts.backedUp && !opts.backupEligible) throw new TypeError('backedUp requires backupEligible');
  }

  private flags(base: number, o: CeremonyOverrides): number {
    let f = base | FLAGS.UP | FLAGS.UV;
    if (o.noUserPresence) f &= ~FLAGS.UP;
    if (o.noUserVerification) f &= ~FLAGS.UV;
    if (this.opts.backupEligible) f |= FLAGS.BE;
    if (this.opts.backedUp) f |= FLAGS.BS;
    return f;
  }

  private clientData(type: string, challenge: string, o: CeremonyOverrides): Buffer {
    return Buffer.from(
      JSON.stringify({
        type: o.type ?? type,
        challenge: o.challenge ?? challenge,
        origin: o.origin ?? this.origin,
        crossOrigin: false,
      }),
    );
  }

  /** navigator.credentials.create(): makes a new ES256 credential and a `none` attestation. */
  create(options: unknown, o: CeremonyOverrides = {}): SoftRegistrationResponse {
    const opts = options as CreationOptionsLike;
    if (!opts.pubKeyCredParams.some((p) => p.alg === -7))
      throw new Error('soft authenticator only supports ES256 (-7)');
    const excluded = new Set((opts.excludeCredentials ?? []).map((c) => c.id));
    for (const id of this.credentials.keys()) {
      if (excluded.has(id))
        throw new Error('InvalidStateError: credential already registered (excludeCredentials)');
    }
    const rpId = o.rpId ?? opts.rp.id ?? new URL(this.origin).hostname;
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const credId = randomBytes(32);
    const id = credId.toString('base64url');
    const cose = cborEncode(
      new Map<number, CborValue>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, Buffer.from(String(jwk.x), 'base64url')],
        [-3, Buffer.from(String(jwk.y), 'base64url')],
      ]),
    );
    const credIdLen = Buffer.alloc(2);
    credIdLen.writeUInt16BE(credId.length);
    const counter = 0;
    const authData = Buffer.concat([
      sha256(rpId),
      Buffer.from([this.flags(FLAGS.AT, o)]),
      u32(counter),
      this.aaguid,
      credIdLen,
      credId,
      cose,
    ]);
    const attestationObject = cborEncode({ fmt: 'none', attStmt: {}, authData });
    const clientDataJSON = this.clientData('webauthn.create', opts.challenge, o);
    this.credentials.set(id, { id, rpId, userHandle: opts.user.id, privateKey, counter });
    return {
      id,
      rawId: id,
      type: 'public-key',
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
      response: {
        clientDataJSON: clientDataJSON.toString('base64url'),
        attestationObject: attestationObject.toString('base64url'),
        transports: ['internal'],
      },
    };
  }

  /** navigator.credentials.get(): signs an assertion with an allowed (or any discoverable) credential. */
  get(options: unknown, o: CeremonyOverrides = {}): SoftAuthenticationResponse {
    const opts = options as RequestOptionsLike;
    const cred = this.pick(opts, o.credentialId);
    const rpId = o.rpId ?? opts.rpId ?? cred.rpId;
    let counter: number;
    if (o.counter !== undefined) {
      counter = o.counter;
    } else {
      cred.counter += this.step;
      counter = cred.counter;
    }
    const authData = Buffer.concat([sha256(rpId), Buffer.from([this.flags(0, o)]), u32(counter)]);
    const clientDataJSON = this.clientData('webauthn.get', opts.challenge, o);
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), cred.privateKey); // DER ECDSA
    const userHandle = o.userHandle === undefined ? cred.userHandle : o.userHandle;
    return {
      id: cred.id,
      rawId: cred.id,
      type: 'public-key',
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
      response: {
        clientDataJSON: clientDataJSON.toString('base64url'),
        authenticatorData: authData.toString('base64url'),
        signature: signature.toString('base64url'),
        ...(userHandle === null ? {} : { userHandle }),
      },
    };
  }

  private pick(opts: RequestOptionsLike, credentialId: string | undefined): SoftCredential {
    if (credentialId !== undefined) {
      const cred = this.credentials.get(credentialId);
      if (!cred) throw new Error(`soft authenticator has no credential ${credentialId}`);
      return cred;
    }
    const allowed = opts.allowCredentials ?? [];
    const candidates = [...this.credentials.values()].filter((c) =>
      allowed.length > 0 ? allowed.some((a) => a.id === c.id) : c.rpId === (opts.rpId ?? c.rpId),
    );
    const cred = candidates.at(-1);
    if (!cred) throw new Error('NotAllowedError: no matching credential on the soft authenticator');
    return cred;
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}
