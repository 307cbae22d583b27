-- The admin API's console sessions and the alert desk (src/admin/api/session.ts,
-- src/monitor/alert-desk.ts), owner range 0600-0699: shared by every worker, kept across
-- restarts. Times are epoch milliseconds (the injected clock).

-- One row per console session. `key` is the SHA-256 of the cookie's random id; `sealed`
-- holds the identity-service tokens, the CSRF token and the username, encrypted with a key
-- derived from the cookie id itself (AES-256-GCM): the store alone cannot use a session.
CREATE TABLE console_sessions (
  key TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  sealed TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions (user_id);
CREATE INDEX console_sessions_last_seen ON console_sessions (last_seen_at);

-- Operators' marks on alerts (acknowledge, resolve, silence), by fingerprint. `marked_at`
-- is when the status was set: a firing that starts later reopens the alert. `version`
-- guards concurrent writers (compare and set).
CREATE TABLE alert_marks (
  fingerprint TEXT PRIMARY KEY,
  status TEXT,
  marked_at BIGINT,
  silenced_until BIGINT,
  annotations TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  version BIGINT NOT NULL
);
CREATE INDEX alert_marks_updated ON alert_marks (updated_at);
