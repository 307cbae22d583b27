/**
 * Passkeys (WebAuthn Level 3) for the identity service: registration, passwordless
 * and user-bound sign-in, and management of a user's named passkeys.
 *
 * Security properties (see docs/passkeys.md):
 * - `userVerification: 'required'` on both ceremonies, and UV is checked in the
 *   response, so one passkey sign-in is two factors (possession + PIN/biometric):
 *   RFC 8176 `amr` gets `user` and `mfa` from the identity service.
 * - Challenges live server-side (`webauthn_challenges`), expire (default 5 min, on
 *   the injected clock) and are single-use: a challenge is deleted by the first
 *   finish call that names it, and only the caller whose `DELETE` changed one row
 *   may use it (WebAuthn §13.4.3).
 * - The signature counter is persisted and must increase whenever it is non-zero
 *   (WebAuthn §6.1.1); the update is a compare-and-set, so two concurrent uses of
 *   the same assertion cannot both succeed.
 * - Client input is `unknown`: it is shape-checked and copied field by field before
 *   @simplewebauthn/server sees it.
 *
 * @example
 * const passkeys = new Passkeys(db, { rpId: 'id.example.com', rpName: 'Example', origins: ['https://id.example.com'] }, systemClock);
 * const { challengeId, options } = await passkeys.startRegistration({ id: user.id, name: user.username });
 * // browser: navigator.credentials.create({ publicKey: decode(options) }) → response
 * await passkeys.finishRegistration(user.id, challengeId, response, 'YubiKey 5');
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server';
import type {
  AuthenticationResponseJSON,
  AuthenticatorTransportFuture,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Clock } from '../core/clock.ts';
import { ProblemError } from '../core/errors.ts';
import type { Db } from '../store/types.ts';

/** Relying-party settings. */
export interface PasskeyOptions {
  /** RP ID: the registrable domain the passkeys are scoped to, e.g. `example.com` or `localhost`. */
  rpId: string;
  /** Name the authenticator shows the user, e.g. `Rampart`. */
  rpName: string;
  /** Exact origins allowed in clientDataJSON, e.g. `['https://id.example.com']`. No wildcards. */
  origins: string[];
  /** Lifetime of a registration/sign-in challenge. Default 300 000 ms (5 minutes). */
  challengeTtlMs?: number;
}

/** What a user sees of a passkey. Never the key material. */
export interface PasskeySummary {
  id: string;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
}

/** Result of a successful passkey sign-in. */
export interface PasskeyAuthentication {
  userId: string;
  passkeyId: string;
  /** Always true: user verification is required. */
  userVerified: boolean;
  /**
   * RFC 8176 method: `hwk` for a device-bound credential (backup eligibility flag
   * clear: the private key cannot leave the authenticator), `swk` for a synced or
   * syncable one (BE or BS set: the key may be copied to a cloud keychain, so it is
   * not proof of possession of one piece of hardware).
   */
  amr: 'hwk' | 'swk';
}

export const DEFAULT_CHALLENGE_TTL_MS = 5 * 60_000;
/** Upper bound on passkeys per user (OWASP API4: bounded resources). */
export const MAX_PASSKEYS_PER_USER = 25;
/** Longest passkey name, in code points. */
export const MAX_PASSKEY_NAME = 64;

/** Bounds on client-supplied base64url fields (bytes of text, generous). */
const MAX_CREDENTIAL_ID_CHARS = 1366; // 1023 bytes (WebAuthn §5.1 credential id limit) in base64url
const MAX_CLIENT_DATA_CHARS = 8_192;
const MAX_ATTESTATION_CHARS = 65_536;
const MAX_AUTH_DATA_CHARS = 8_192;
const MAX_SIGNATURE_CHARS = 2_048;
const MAX_USER_HANDLE_CHARS = 128; // 64 bytes (WebAuthn §5.4.3)

/** Ed25519, ES256, RS256 (the library default; IANA COSE algorithms). */
const SUPPORTED_ALGORITHM_IDS = [-8, -7, -257];
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const CHALLENGE_ID = /^[A-Za-z0-9_-]{16,64}$/;
const TRANSPORTS: ReadonlySet<string> = new Set<AuthenticatorTransportFuture>([
  'ble',
  'cable',
  'hybrid',
  'internal',
  'nfc',
  'smart-card',
  'usb',
]);

type ChallengeKind = 'registration' | 'authentication';

interface ChallengeRow {
  [column: string]: unknown;
  id: string;
  user_id: string | null;
  kind: string;
  challenge: string;
  expires_at: number;
}

interface PasskeyRow {
  [column: string]: unknown;
  id: string;
  user_id: string;
  credential_id: string;
  public_key: string;
  counter: number;
  transports: string;
  backed_up: number;
  device_type: string;
  name: string;
  created_at: number;
  last_used_at: number | null;
}

/**
 * Passkey registration, sign-in and management over the store.
 * Throws {@link ProblemError} (`bad-request`, `invalid-credentials`, `conflict`, `not-found`).
 */
export class Passkeys {
  private readonly ttl: number;
  private readonly origins: string[];

  constructor(
    private readonly db: Db,
    private readonly options: PasskeyOptions,
    private readonly clock: Clock,
  ) {
    if (typeof options.rpId !== 'string' || options.rpId === '' || /[/:\s]/.test(options.rpId)) {
      throw new TypeError('passkeys.rpId must be a bare domain name such as "example.com" or "localhost"');
    }
    if (typeof options.rpName !== 'string' || options.rpName.trim() === '') {
      throw new TypeError('passkeys.rpName must be a non-empty string');
    }
    if (!Array.isArray(options.origins) || options.origins.length === 0) {
      throw new TypeError('passkeys.origins must list at least one origin, e.g. "https://id.example.com"');
    }
    for (const origin of options.origins) {
      let url: URL;
      try {
        url = new URL(origin);
      } catch {
        throw new TypeError(`passkeys.origins: "${origin}" is not a URL`);
      }
      if (url.origin !== origin)
        throw new TypeError(
          `passkeys.origins: "${origin}" must be an origin (scheme://host[:port], no path)`,
        );
      const secure = url.protocol === 'https:' || (url.protocol === 'http:' && url.hostname === 'localhost');
      if (!secure)
        throw new TypeError(
          `passkeys.origins: "${origin}" is not a secure context (https, or http://localhost)`,
        );
    }
    const ttl = options.challengeTtlMs ?? DEFAULT_CHALLENGE_TTL_MS;
    if (!Number.isInteger(ttl) || ttl < 1_000 || ttl > 3_600_000) {
      throw new TypeError('passkeys.challengeTtlMs must be an integer between 1000 and 3600000');
    }
    this.ttl = ttl;
    this.origins = [...options.origins];
  }

  /**
   * Starts registering a passkey for a signed-in user. Existing passkeys are listed in
   * `excludeCredentials` so one authenticator is not registered twice.
   * `user.id` becomes the WebAuthn user handle: it must be an opaque id (no PII), ≤ 64 bytes.
   */
  async startRegistration(user: {
    id: string;
    name: string;
    displayName?: string;
  }): Promise<{ challengeId: string; options: PublicKeyCredentialCreationOptionsJSON }> {
    const userHandle = Buffer.from(user.id, 'utf8');
    if (userHandle.length === 0 || userHandle.length > 64)
      throw new ProblemError('bad-request', 'User id is not a valid user handle');
    await this.sweep();
    const existing = await this.rows(user.id);
    if (existing.length >= MAX_PASSKEYS_PER_USER) throw tooManyPasskeys();
    const options = await generateRegistrationOptions({
      rpName: this.options.rpName,
      rpID: this.options.rpId,
      userName: user.name,
      userID: new Uint8Array(userHandle),
      userDisplayName: user.displayName ?? user.name,
      timeout: this.ttl,
      attestationType: 'none',
      excludeCredentials: existing.map(descriptor),
      // Discoverable ("resident") credentials are what makes a passkey usable without a
      // username; UV makes it a second factor on its own.
      authenticatorSelection: {
        residentKey: 'required',
        requireResidentKey: true,
        userVerification: 'required',
      },
      supportedAlgorithmIDs: SUPPORTED_ALGORITHM_IDS,
    });
    const challengeId = await this.saveChallenge('registration', user.id, options.challenge);
    return { challengeId, options };
  }

  /**
   * Verifies the browser's attestation and stores the new passkey.
   * `response` is the client's JSON (untrusted); `name` is the user's label for it.
   */
  async finishRegistration(
    userId: string,
    challengeId: string,
    response: unknown,
    name: string,
  ): Promise<{ id: string; name: string; createdAt: number }> {
    const label = validateName(name);
    const parsed = parseRegistrationResponse(response);
    const challenge = await this.consumeChallenge(challengeId, 'registration');
    if (!challenge || challenge.user_id !== userId) {
      throw new ProblemError(
        'bad-request',
        'The passkey challenge is unknown, expired or already used; start again',
      );
    }
    if (!parsed) throw new ProblemError('bad-request', 'The passkey response is malformed');

    let info;
    try {
      const result = await verifyRegistrationResponse({
        response: parsed,
        expectedChallenge: challenge.challenge,
        expectedOrigin: this.origins,
        expectedRPID: this.options.rpId,
        requireUserPresence: true,
        requireUserVerification: true,
        supportedAlgorithmIDs: SUPPORTED_ALGORITHM_IDS,
      });
      if (!result.verified || !result.registrationInfo.userVerified) throw new Error('not verified');
      info = result.registrationInfo;
    } catch {
      // The library's message can echo client input: keep it out of the response (ASVS 16.5.1).
      throw new ProblemError('bad-request', 'The passkey could not be verified');
    }

    const createdAt = this.clock.now();
    const id = randomUUID();
    // Already reduced to known values by parseRegistrationResponse.
    const transports = parsed.response.transports ?? [];
    await this.db.transaction(async (tx) => {
      const taken = await tx.one('SELECT id FROM passkeys WHERE credential_id = $1', [info.credential.id]);
      if (taken) throw new ProblemError('conflict', 'This passkey is already registered');
      if ((await countPasskeys(tx, userId)) >= MAX_PASSKEYS_PER_USER) throw tooManyPasskeys();
      try {
        await tx.run(
          `INSERT INTO passkeys (id, user_id, credential_id, public_key, counter, transports, backed_up, device_type, name, created_at, last_used_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL)`,
          [
            id,
            userId,
            info.credential.id,
            Buffer.from(info.credential.publicKey).toString('base64url'),
            info.credential.counter,
            JSON.stringify(transports),
            info.credentialBackedUp ? 1 : 0,
            info.credentialDeviceType,
            label,
            createdAt,
          ],
        );
      } catch (err) {
        if (isUniqueViolation(err)) throw new ProblemError('conflict', 'This passkey is already registered');
        throw err;
      }
    });
    return { id, name: label, createdAt };
  }

  /**
   * Starts a passkey sign-in. Without `userId` it is passwordless: no
   * `allowCredentials`, the authenticator offers its discoverable credentials for this
   * RP. With `userId` (step-up, username-first) only that user's passkeys are allowed,
   * and finishing with another user's passkey fails. A user without passkeys still
   * gets a challenge, so the answer does not reveal whether an account has passkeys.
   */
  async startAuthentication(
    userId?: string,
  ): Promise<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }> {
    await this.sweep();
    const allow = userId === undefined ? undefined : (await this.rows(userId)).map(descriptor);
    const options = await generateAuthenticationOptions({
      rpID: this.options.rpId,
      timeout: this.ttl,
      userVerification: 'required',
      ...(allow && allow.length > 0 ? { allowCredentials: allow } : {}),
    });
    const challengeId = await this.saveChallenge('authentication', userId ?? null, options.challenge);
    return { challengeId, options };
  }

  /**
   * Verifies an assertion and advances the stored signature counter.
   * Every failure is `invalid-credentials` with the same detail (no oracle for attackers).
   */
  async finishAuthentication(challengeId: string, response: unknown): Promise<PasskeyAuthentication> {
    const fail = (): ProblemError => new ProblemError('invalid-credentials', 'Passkey sign-in failed');
    const parsed = parseAuthenticationResponse(response);
    const challenge = await this.consumeChallenge(challengeId, 'authentication');
    if (!challenge || !parsed) throw fail();

    const row = await this.db.one<PasskeyRow>('SELECT * FROM passkeys WHERE credential_id = $1', [parsed.id]);
    if (!row) throw fail();
    // A user-bound challenge accepts only that user's passkeys.
    if (challenge.user_id !== null && challenge.user_id !== row.user_id) throw fail();
    // WebAuthn §7.2 step 6: a returned user handle must be the credential owner's.
    if (
      parsed.response.userHandle !== undefined &&
      parsed.response.userHandle !== Buffer.from(row.user_id, 'utf8').toString('base64url')
    ) {
      throw fail();
    }

    const storedCounter = Number(row.counter);
    let info;
    try {
      const result = await verifyAuthenticationResponse({
        response: parsed,
        expectedChallenge: challenge.challenge,
        expectedOrigin: this.origins,
        expectedRPID: this.options.rpId,
        credential: {
          id: row.credential_id,
          publicKey: new Uint8Array(Buffer.from(row.public_key, 'base64url')),
          counter: storedCounter,
          transports: parseTransports(row.transports),
        },
        requireUserVerification: true,
      });
      // The library rejects a counter that did not increase (when either value is
      // non-zero) before it checks the signature: a cloned authenticator (§6.1.1).
      if (!result.verified || !result.authenticationInfo.userVerified) throw new Error('not verified');
      info = result.authenticationInfo;
    } catch {
      throw fail();
    }
    // WebAuthn L3 §7.2: the backup eligibility (BE) flag is fixed at creation.
    if (info.credentialDeviceType !== row.device_type) throw fail();

    // Compare-and-set: only an assertion whose counter is above the stored one (or a
    // counter-less authenticator, 0 → 0) may update it. A concurrent replay loses here.
    const now = this.clock.now();
    const backedUp = info.credentialBackedUp ? 1 : 0;
    const { changes } =
      info.newCounter === 0
        ? await this.db.run(
            'UPDATE passkeys SET last_used_at = $1, backed_up = $2 WHERE id = $3 AND counter = 0',
            [now, backedUp, row.id],
          )
        : await this.db.run(
            'UPDATE passkeys SET counter = $1, last_used_at = $2, backed_up = $3 WHERE id = $4 AND counter < $5',
            [info.newCounter, now, backedUp, row.id, info.newCounter],
          );
    if (changes !== 1) throw fail();

    const amr = info.credentialDeviceType === 'singleDevice' && !info.credentialBackedUp ? 'hwk' : 'swk';
    return { userId: row.user_id, passkeyId: row.id, userVerified: info.userVerified, amr };
  }

  /** The user's passkeys, oldest first. */
  async list(userId: string): Promise<PasskeySummary[]> {
    return (await this.rows(userId)).map((row) => ({
      id: row.id,
      name: row.name,
      createdAt: Number(row.created_at),
      lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
    }));
  }

  /** Renames one of the user's passkeys; false when the user has no passkey with that id. */
  async rename(userId: string, id: string, name: string): Promise<boolean> {
    const label = validateName(name);
    const { changes } = await this.db.run('UPDATE passkeys SET name = $1 WHERE id = $2 AND user_id = $3', [
      label,
      String(id),
      userId,
    ]);
    return changes === 1;
  }

  /** Removes one of the user's passkeys; false when the user has no passkey with that id. */
  async remove(userId: string, id: string): Promise<boolean> {
    const { changes } = await this.db.run('DELETE FROM passkeys WHERE id = $1 AND user_id = $2', [
      String(id),
      userId,
    ]);
    return changes === 1;
  }

  /**
   * Removes all of the user's passkeys and pending challenges (administrator MFA
   * reset). Lets the identity service use this class as its `PasskeyHooks`.
   */
  async removeAll(userId: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.run('DELETE FROM passkeys WHERE user_id = $1', [userId]);
      await tx.run('DELETE FROM webauthn_challenges WHERE user_id = $1', [userId]);
    });
  }

  /** How many passkeys the user has (e.g. to decide whether MFA is enrolled). */
  async count(userId: string): Promise<number> {
    return countPasskeys(this.db, userId);
  }

  private async rows(userId: string): Promise<PasskeyRow[]> {
    return this.db.query<PasskeyRow>('SELECT * FROM passkeys WHERE user_id = $1 ORDER BY created_at, id', [
      userId,
    ]);
  }

  private async saveChallenge(
    kind: ChallengeKind,
    userId: string | null,
    challenge: string,
  ): Promise<string> {
    const id = randomBytes(16).toString('base64url');
    await this.db.run(
      'INSERT INTO webauthn_challenges (id, user_id, kind, challenge, expires_at) VALUES ($1, $2, $3, $4, $5)',
      [id, userId, kind, challenge, this.clock.now() + this.ttl],
    );
    return id;
  }

  /**
   * Takes a challenge out of the store. Whoever deletes the row owns it, so of two
   * concurrent finishes only one proceeds; every attempt burns the challenge.
   */
  private async consumeChallenge(id: unknown, kind: ChallengeKind): Promise<ChallengeRow | undefined> {
    if (typeof id !== 'string' || !CHALLENGE_ID.test(id)) return undefined;
    const row = await this.db.one<ChallengeRow>(
      'SELECT id, user_id, kind, challenge, expires_at FROM webauthn_challenges WHERE id = $1',
      [id],
    );
    if (!row) return undefined;
    const { changes } = await this.db.run('DELETE FROM webauthn_challenges WHERE id = $1', [id]);
    if (changes !== 1) return undefined;
    if (row.kind !== kind || Number(row.expires_at) <= this.clock.now()) return undefined;
    return row;
  }

  /** Drops expired challenges so abandoned ceremonies do not accumulate. */
  private async sweep(): Promise<void> {
    await this.db.run('DELETE FROM webauthn_challenges WHERE expires_at <= $1', [this.clock.now()]);
  }
}

function validateName(name: unknown): string {
  if (typeof name !== 'string') throw new ProblemError('bad-request', 'Passkey name must be a string');
  const label = name.normalize('NFC').trim();
  if (label === '') throw new ProblemError('bad-request', 'Passkey name must not be empty');
  if ([...label].length > MAX_PASSKEY_NAME)
    throw new ProblemError('bad-request', `Passkey name must be at most ${MAX_PASSKEY_NAME} characters`);
  // Control and bidi-override characters make names render misleadingly.
  if (/[\p{Cc}\u202A-\u202E\u2066-\u2069]/u.test(label))
    throw new ProblemError('bad-request', 'Passkey name contains control characters');
  return label;
}

/** The user's passkey count, on the store or inside a transaction. */
async function countPasskeys(db: Db, userId: string): Promise<number> {
  const row = await db.one<{ n: number }>('SELECT COUNT(*) AS n FROM passkeys WHERE user_id = $1', [userId]);
  return Number(row?.n ?? 0);
}

function tooManyPasskeys(): ProblemError {
  return new ProblemError(
    'conflict',
    `At most ${MAX_PASSKEYS_PER_USER} passkeys per account; remove one first`,
  );
}

/** A stored passkey as an allow/exclude credential descriptor. */
function descriptor(row: PasskeyRow): { id: string; transports: AuthenticatorTransportFuture[] } {
  return { id: row.credential_id, transports: parseTransports(row.transports) };
}

function parseTransports(json: string): AuthenticatorTransportFuture[] {
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value)
      ? (value.filter((t) => typeof t === 'string' && TRANSPORTS.has(t)) as AuthenticatorTransportFuture[])
      : [];
  } catch {
    return [];
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function b64url(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length <= max && BASE64URL.test(value);
}

interface ParsedCredential {
  id: string;
  inner: Record<string, unknown>;
  attachment?: 'platform' | 'cross-platform';
}

/** Common outer shape of a PublicKeyCredential's JSON (WebAuthn L3 §5.1 toJSON()). */
function parseCredential(value: unknown): ParsedCredential | undefined {
  if (!isRecord(value)) return undefined;
  const { id, rawId, type, response, authenticatorAttachment } = value;
  if (!b64url(id, MAX_CREDENTIAL_ID_CHARS) || rawId !== id || type !== 'public-key' || !isRecord(response))
    return undefined;
  if (
    authenticatorAttachment !== undefined &&
    authenticatorAttachment !== null &&
    authenticatorAttachment !== 'platform' &&
    authenticatorAttachment !== 'cross-platform'
  ) {
    return undefined;
  }
  return { id, inner: response, ...(authenticatorAttachment ? { attachment: authenticatorAttachment } : {}) };
}

/** The verifier's credential JSON around a copied `response` (the inverse of {@link parseCredential}). */
function envelope<R>(outer: ParsedCredential, response: R) {
  return {
    id: outer.id,
    rawId: outer.id,
    type: 'public-key' as const,
    clientExtensionResults: {},
    ...(outer.attachment ? { authenticatorAttachment: outer.attachment } : {}),
    response,
  };
}

/** Copies the fields the verifier needs out of untrusted registration JSON, or undefined. */
function parseRegistrationResponse(value: unknown): RegistrationResponseJSON | undefined {
  const outer = parseCredential(value);
  if (!outer) return undefined;
  const { clientDataJSON, attestationObject, transports } = outer.inner;
  if (!b64url(clientDataJSON, MAX_CLIENT_DATA_CHARS) || !b64url(attestationObject, MAX_ATTESTATION_CHARS))
    return undefined;
  if (
    transports !== undefined &&
    !(
      Array.isArray(transports) &&
      transports.length <= 16 &&
      transports.every((t) => typeof t === 'string' && t.length <= 32)
    )
  ) {
    return undefined;
  }
  return envelope(outer, {
    clientDataJSON,
    attestationObject,
    transports: ((transports ?? []) as string[]).filter((t) =>
      TRANSPORTS.has(t),
    ) as AuthenticatorTransportFuture[],
  });
}

/** Copies the fields the verifier needs out of untrusted assertion JSON, or undefined. */
function parseAuthenticationResponse(value: unknown): AuthenticationResponseJSON | undefined {
  const outer = parseCredential(value);
  if (!outer) return undefined;
  const { clientDataJSON, authenticatorData, signature, userHandle } = outer.inner;
  if (
    !b64url(clientDataJSON, MAX_CLIENT_DATA_CHARS) ||
    !b64url(authenticatorData, MAX_AUTH_DATA_CHARS) ||
    !b64url(signature, MAX_SIGNATURE_CHARS)
  ) {
    return undefined;
  }
  // Browsers send null (or omit it) when the authenticator returned no user handle.
  if (
    userHandle !== undefined &&
    userHandle !== null &&
    userHandle !== '' &&
    !b64url(userHandle, MAX_USER_HANDLE_CHARS)
  )
    return undefined;
  return envelope(outer, {
    clientDataJSON,
    authenticatorData,
    signature,
    ...(typeof userHandle === 'string' && userHandle !== '' ? { userHandle } : {}),
  });
}

function isUniqueViolation(err: unknown): boolean {
  if (!isRecord(err)) return false; // an Error is a record too
  const code = (err as { code?: unknown }).code;
  // better-sqlite3: SQLITE_CONSTRAINT_UNIQUE / _PRIMARYKEY; PostgreSQL: unique_violation 23505.
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
