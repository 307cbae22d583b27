-- Passkeys (WebAuthn credentials) and their server-side challenges.
-- Portable SQL for SQLite and PostgreSQL: TEXT, BIGINT epoch milliseconds,
-- INTEGER 0/1 for booleans, TEXT holding JSON. See docs/passkeys.md.
-- Runs after the identity migrations (0200-0299) that create users(id).

CREATE TABLE passkeys (
  id            TEXT PRIMARY KEY,
  user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  -- base64url credential id as the authenticator reported it (unpadded)
  credential_id TEXT NOT NULL UNIQUE,
  -- base64url COSE_Key public key
  public_key    TEXT NOT NULL,
  -- last accepted signature counter (0 when the authenticator does not count)
  counter       BIGINT NOT NULL DEFAULT 0,
  -- JSON array of AuthenticatorTransport strings, e.g. ["internal","hybrid"]
  transports    TEXT NOT NULL DEFAULT '[]',
  -- 1 when the credential is backed up (synced), from the BS flag
  backed_up     INTEGER NOT NULL DEFAULT 0,
  -- 'singleDevice' (BE flag clear) or 'multiDevice' (backup eligible)
  device_type   TEXT NOT NULL,
  name          TEXT NOT NULL,
  created_at    BIGINT NOT NULL,
  last_used_at  BIGINT
);

CREATE INDEX passkeys_user_id_idx ON passkeys (user_id);

CREATE TABLE webauthn_challenges (
  id         TEXT PRIMARY KEY,
  -- NULL for passwordless sign-in (discoverable credentials)
  user_id    TEXT,
  -- 'registration' or 'authentication'
  kind       TEXT NOT NULL,
  -- base64url challenge sent to the browser
  challenge  TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);

CREATE INDEX webauthn_challenges_expires_at_idx ON webauthn_challenges (expires_at);
