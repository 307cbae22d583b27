-- Runs of `rampart audit` and `rampart code` recorded in the store (src/store/tool-runs.ts),
-- owner range 0600-0699 (admin): what posture and the admin API read, newest first, with
-- history. `report` is the run's JSON report ({ findings, meta }); times are epoch ms.
CREATE TABLE tool_runs (
  id TEXT PRIMARY KEY,
  tool TEXT NOT NULL,
  target TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  finished_at BIGINT NOT NULL,
  findings BIGINT NOT NULL,
  report TEXT NOT NULL
);
CREATE INDEX tool_runs_tool_started ON tool_runs (tool, started_at);
