-- Identity service: users, second factors, sessions (refresh-token families),
-- MFA login challenges, signing keys and API keys. See docs/identity.md.
-- Portable SQL for SQLite and PostgreSQL: TEXT, BIGINT epoch milliseconds,
-- INTEGER 0/1 for booleans, TEXT holding JSON.

CREATE TABLE users (
  id                 TEXT PRIMARY KEY,
  -- NFKC, lower-cased; unique login name
  username           TEXT NOT NULL UNIQUE,
  display_name       TEXT,
  -- PHC-like "$scrypt$ln=17,r=8,p=1$salt$hash" (NULL: no password set)
  password_hash      TEXT,
  -- 1 when the password is shorter than the single-factor minimum (15): the
  -- account must then keep a second factor (NIST SP 800-63B-4 3.1.1.2)
  password_needs_mfa INTEGER NOT NULL DEFAULT 0,
  -- JSON array of role names
  roles              TEXT NOT NULL DEFAULT '[]',
  -- JSON object of free attributes
  attributes         TEXT NOT NULL DEFAULT '{}',
  disabled           INTEGER NOT NULL DEFAULT 0,
  -- consecutive failed password attempts (reset on success); locked at the limit
  failed_logins      INTEGER NOT NULL DEFAULT 0,
  locked_at          BIGINT,
  -- access tokens with iat (ms, truncated to seconds) before this are revoked
  tokens_valid_after BIGINT NOT NULL DEFAULT 0,
  created_at         BIGINT NOT NULL,
  updated_at         BIGINT NOT NULL
);

CREATE TABLE totp_factors (
  user_id      TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  -- AES-256-GCM envelope of the Base32 secret (key-encryption key)
  secret_enc   TEXT NOT NULL,
  -- 0 while enrolment awaits its first code
  confirmed    INTEGER NOT NULL DEFAULT 0,
  -- last accepted time step: a code is only accepted for a later step (RFC 6238 5.2)
  last_step    BIGINT NOT NULL DEFAULT -1,
  created_at   BIGINT NOT NULL,
  confirmed_at BIGINT
);

CREATE TABLE recovery_codes (
  id         TEXT PRIMARY KEY,
  user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  -- HMAC-SHA-256 (key derived from the key-encryption key) of the normalised code
  code_hash  TEXT NOT NULL,
  used_at    BIGINT,
  created_at BIGINT NOT NULL
);

CREATE INDEX recovery_codes_user_idx ON recovery_codes (user_id);

-- A session: one refresh-token family. Its id is the access token's `sid`.
CREATE TABLE token_families (
  id             TEXT PRIMARY KEY,
  user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  -- JSON array of RFC 8176 amr values
  amr            TEXT NOT NULL,
  acr            TEXT NOT NULL,
  auth_time      BIGINT NOT NULL,
  created_at     BIGINT NOT NULL,
  -- absolute session lifetime (refresh tokens never outlive it)
  expires_at     BIGINT NOT NULL,
  revoked_at     BIGINT,
  revoked_reason TEXT
);

CREATE INDEX token_families_user_idx ON token_families (user_id);
CREATE INDEX token_families_revoked_idx ON token_families (revoked_at);

CREATE TABLE refresh_tokens (
  -- SHA-256 of the opaque token (256 random bits)
  token_hash TEXT PRIMARY KEY,
  family_id  TEXT NOT NULL REFERENCES token_families(id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  -- set when rotated; presenting it again is reuse → the family is revoked
  used_at    BIGINT
);

CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

-- Password step done, second factor pending (mfa_token of POST /login).
CREATE TABLE mfa_challenges (
  token_hash TEXT PRIMARY KEY,
  user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  -- JSON array of amr values earned so far, e.g. ["pwd"]
  amr        TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at    BIGINT
);

CREATE INDEX mfa_challenges_expires_idx ON mfa_challenges (expires_at);

CREATE TABLE signing_keys (
  kid          TEXT PRIMARY KEY,
  alg          TEXT NOT NULL,
  -- public JWK as JSON
  public_jwk   TEXT NOT NULL,
  -- AES-256-GCM envelope of the PKCS#8 private key (key-encryption key)
  private_enc  TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  -- when it stopped signing (NULL: current)
  retired_at   BIGINT,
  -- when it leaves the JWKS (retired_at + grace)
  expires_at   BIGINT
);

CREATE TABLE api_keys (
  id           TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  -- SHA-256 of the high-entropy secret part
  secret_hash  TEXT NOT NULL,
  -- JSON array of scopes: "api:<name>", "op:<operationId>", "role:<role>"
  scopes       TEXT NOT NULL DEFAULT '[]',
  created_at   BIGINT NOT NULL,
  expires_at   BIGINT,
  revoked_at   BIGINT,
  last_used_at BIGINT,
  -- id of the key that replaced this one by rotation
  replaced_by  TEXT
);

CREATE INDEX api_keys_user_idx ON api_keys (user_id);
