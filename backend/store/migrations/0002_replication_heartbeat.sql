-- One row the primary's servers update every few seconds (standby.Beat): a
-- standby's replay lag is the age of the last commit it replayed, so the
-- primary must commit even when no learner writes.
CREATE TABLE IF NOT EXISTS replication_heartbeat (
    id       INT PRIMARY KEY CHECK (id = 1),
    beat_at  TIMESTAMPTZ NOT NULL
);
