-- Monitor: the audit log of security decisions and the alert notification outbox.
-- See docs/monitoring.md. Portable SQL (SQLite and PostgreSQL).

CREATE TABLE audit_log (
  -- "<boot>-<seq>": the writing process's boot id and its sequence number
  id         TEXT PRIMARY KEY,
  boot       TEXT NOT NULL,
  seq        BIGINT NOT NULL,
  at         BIGINT NOT NULL,
  type       TEXT NOT NULL,
  -- allow | deny | error | alert | info
  decision   TEXT NOT NULL,
  -- OWASP API Security Top 10 2023 id, when the decision has one
  category   TEXT,
  principal  TEXT,
  ip         TEXT,
  route      TEXT,
  method     TEXT,
  status     INTEGER,
  policy     TEXT,
  request_id TEXT,
  -- the whole event as JSON (events never hold secrets)
  event      TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX audit_log_principal_at ON audit_log (principal, at);
CREATE INDEX audit_log_ip_at ON audit_log (ip, at);
CREATE INDEX audit_log_boot_seq ON audit_log (boot, seq);

CREATE TABLE monitor_outbox (
  id              TEXT PRIMARY KEY,
  notifier        TEXT NOT NULL,
  -- the alert state change as JSON
  alert           TEXT NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  created_at      BIGINT NOT NULL,
  last_error      TEXT,
  delivered_at    BIGINT,
  -- 1 once retries are exhausted (kept for the operator; not retried)
  dead            INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX monitor_outbox_due ON monitor_outbox (delivered_at, dead, next_attempt_at);
