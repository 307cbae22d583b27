-- Core tables (range 0001–0099). Portable SQL: runs unchanged on SQLite and PostgreSQL.

-- The audit log: one row per security-relevant event (see src/core/events.ts).
CREATE TABLE audit_events (
  id TEXT PRIMARY KEY,
  at BIGINT NOT NULL,               -- epoch milliseconds
  type TEXT NOT NULL,
  request_id TEXT,
  ip TEXT,
  data TEXT NOT NULL DEFAULT '{}'   -- JSON
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_type_at ON audit_events (type, at);

-- A small key/value table for settings and durable state; expires_at NULL = never.
CREATE TABLE kv (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  expires_at BIGINT
);
CREATE INDEX kv_expires_at ON kv (expires_at);
