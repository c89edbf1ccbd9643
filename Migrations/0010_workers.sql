-- The worker registry: one row per running worker process, refreshed by its heartbeat,
-- read by `scribe status` and operators. Rows of workers that stopped heartbeating
-- (killed, host lost) are deleted by any other worker (WorkerRegistry.expireStale).
-- Numbered 0010 to leave 0004-0009 to migrations developed alongside.

CREATE TABLE IF NOT EXISTS scribe.workers (
    id                  text PRIMARY KEY,                  -- jobs.worker_id of its claims
    host                text NOT NULL,
    pid                 integer NOT NULL,
    version             text NOT NULL,                     -- scribe version
    model               text,                              -- the model it serves
    started_at          timestamptz NOT NULL DEFAULT now(),
    heartbeat_at        timestamptz NOT NULL DEFAULT now(),
    -- Its own heartbeat period: a row is stale after a few missed beats, judged per row
    -- so workers configured differently can share the table.
    heartbeat_interval  interval NOT NULL DEFAULT '10 seconds',
    running_sequences   integer NOT NULL DEFAULT 0,
    tokens_per_second   double precision NOT NULL DEFAULT 0,
    status              text NOT NULL DEFAULT 'starting',

    CONSTRAINT workers_status_known CHECK (status IN ('starting', 'running', 'draining')),
    CONSTRAINT workers_heartbeat_interval_positive CHECK (heartbeat_interval > interval '0'),
    CONSTRAINT workers_running_sequences_not_negative CHECK (running_sequences >= 0),
    CONSTRAINT workers_tokens_per_second_not_negative CHECK (tokens_per_second >= 0)
);

-- Heartbeats update non-indexed columns only, so they can be HOT updates.
ALTER TABLE scribe.workers SET (fillfactor = 70);

COMMENT ON TABLE scribe.workers IS
    'Running scribe workers, one row each; heartbeat_at refreshed every heartbeat_interval.';
