-- Learn mode (src/learn/service.ts, docs/learn.md), owner range 0600-0609.
-- One row per API version that learns: what was learned, as the learner's snapshot
-- (src/learn/snapshot.ts: folded operations, shapes and counts — never a body, a token,
-- a cookie value or a personal value), merged in by each process at every flush.
CREATE TABLE learn_snapshot (
  api TEXT NOT NULL,
  base TEXT NOT NULL,
  -- epoch milliseconds of the last flush
  updated_at BIGINT NOT NULL,
  exchanges BIGINT NOT NULL,
  operations INTEGER NOT NULL,
  -- JSON (LearnSnapshot); '' until the first flush's merge is written
  snapshot TEXT NOT NULL,
  PRIMARY KEY (api, base)
);
