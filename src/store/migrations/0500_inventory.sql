-- Inventory from traffic (src/versions/traffic.ts), owner range 0500-0599.
-- Aggregated in memory and upserted in batches; times are epoch milliseconds.
CREATE TABLE inventory_operation_traffic (
  api TEXT NOT NULL,
  base TEXT NOT NULL,
  method TEXT NOT NULL,
  route TEXT NOT NULL,
  calls BIGINT NOT NULL,
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  PRIMARY KEY (api, base, method, route)
);

-- Requests to paths or methods no document declares (API9 shadow endpoints).
CREATE TABLE inventory_shadow (
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  reason TEXT NOT NULL,
  hits BIGINT NOT NULL,
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  sample TEXT NOT NULL,
  ips TEXT NOT NULL,
  PRIMARY KEY (method, path)
);
CREATE INDEX inventory_shadow_last_seen ON inventory_shadow (last_seen);

-- Who still calls deprecated or sunset-announced versions.
CREATE TABLE inventory_deprecated_usage (
  api TEXT NOT NULL,
  base TEXT NOT NULL,
  consumer_kind TEXT NOT NULL,
  consumer TEXT NOT NULL,
  calls BIGINT NOT NULL,
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  last_route TEXT NOT NULL,
  PRIMARY KEY (api, base, consumer_kind, consumer)
);
