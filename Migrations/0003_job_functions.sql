-- Functions users call (scribe.enqueue, scribe.cancel), helpers the workers' statements
-- share (scribe.retry_delay, scribe.status_after_lost_attempt), and the NOTIFY triggers.

-- How long a job waits before its next attempt after attempt `attempt` failed or lost
-- its lease: 2 s × 2^(attempt-1), capped at 10 min, then ±25 % jitter so jobs that
-- failed together do not come back together.
CREATE OR REPLACE FUNCTION scribe.retry_delay(attempt integer) RETURNS interval
LANGUAGE sql VOLATILE AS $$
    SELECT least(interval '2 seconds' * power(2, least(greatest(attempt, 1), 20) - 1),
                 interval '10 minutes')
           * (0.75 + random() * 0.5)
$$;

-- Where a job goes when its current attempt ends without a result (a retryable failure
-- or an expired lease): a cancel in progress completes, attempts left mean queued
-- again, none left mean failed. Mirrors JobLifecycle.attemptLost in Swift.
CREATE OR REPLACE FUNCTION scribe.status_after_lost_attempt(status text, attempts integer, max_attempts integer)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN status = 'cancelling' THEN 'cancelled'
                WHEN attempts >= max_attempts THEN 'failed'
                ELSE 'queued' END
$$;

-- NOTIFY so that nobody has to poll:
--   scribe_jobs_queued  payload: the job's model, '' for none  (a job became claimable)
--   scribe_job_cancel   payload: job id                       (running -> cancelling)
--   scribe_job_done     payload: job id                       (reached a final status)
-- Notifications are sent at COMMIT and identical ones in one transaction are merged.
CREATE OR REPLACE FUNCTION scribe.jobs_notify_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- One statement-level notification per model, however many rows were inserted.
    PERFORM pg_notify('scribe_jobs_queued', model)
    FROM (SELECT DISTINCT coalesce(model, '') AS model FROM inserted WHERE status = 'queued') AS models;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION scribe.jobs_notify_status() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    CASE NEW.status
    WHEN 'queued' THEN
        PERFORM pg_notify('scribe_jobs_queued', coalesce(NEW.model, ''));
    WHEN 'cancelling' THEN
        PERFORM pg_notify('scribe_job_cancel', NEW.id::text);
    WHEN 'succeeded', 'failed', 'cancelled' THEN
        IF OLD.status NOT IN ('succeeded', 'failed', 'cancelled') THEN
            PERFORM pg_notify('scribe_job_done', NEW.id::text);
        END IF;
    ELSE
        NULL;
    END CASE;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS jobs_notify_inserted ON scribe.jobs;
CREATE TRIGGER jobs_notify_inserted
    AFTER INSERT ON scribe.jobs
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION scribe.jobs_notify_inserted();

-- The WHEN clause keeps the trigger function off the claim path (queued -> running).
DROP TRIGGER IF EXISTS jobs_notify_status ON scribe.jobs;
CREATE TRIGGER jobs_notify_status
    AFTER UPDATE OF status ON scribe.jobs
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status <> 'running')
    EXECUTE FUNCTION scribe.jobs_notify_status();

-- Enqueues one job and returns its id. With an idempotency_key that an unfinished job
-- already holds, returns that job's id instead of enqueuing a second one.
--   SELECT scribe.enqueue(prompt => 'Once upon a time', params => '{"max_tokens": 32}');
CREATE OR REPLACE FUNCTION scribe.enqueue(
    prompt text DEFAULT NULL,
    messages jsonb DEFAULT NULL,
    params jsonb DEFAULT '{}',
    model text DEFAULT NULL,
    priority integer DEFAULT 0,
    run_at timestamptz DEFAULT now(),
    max_attempts integer DEFAULT 3,
    idempotency_key text DEFAULT NULL,
    metadata jsonb DEFAULT NULL,
    callback_url text DEFAULT NULL
) RETURNS bigint
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    new_id bigint;
BEGIN
    LOOP
        INSERT INTO scribe.jobs (prompt, messages, params, model, priority, run_at,
                                 max_attempts, idempotency_key, metadata, callback_url)
        VALUES (enqueue.prompt, enqueue.messages, coalesce(enqueue.params, '{}'), enqueue.model,
                coalesce(enqueue.priority, 0), coalesce(enqueue.run_at, now()),
                coalesce(enqueue.max_attempts, 3), enqueue.idempotency_key, enqueue.metadata,
                enqueue.callback_url)
        ON CONFLICT (idempotency_key)
            WHERE idempotency_key IS NOT NULL AND status IN ('queued', 'running', 'cancelling')
            DO NOTHING
        RETURNING id INTO new_id;
        IF new_id IS NOT NULL THEN
            RETURN new_id;
        END IF;
        SELECT id INTO new_id FROM scribe.jobs
        WHERE idempotency_key = enqueue.idempotency_key
          AND status IN ('queued', 'running', 'cancelling');
        IF new_id IS NOT NULL THEN
            RETURN new_id;
        END IF;
        -- The holder finished between the two statements: the key is free again.
    END LOOP;
END $$;

-- Cancels a job and returns its resulting status (NULL when there is no such job):
--   queued                -> cancelled at once
--   running               -> cancelling; NOTIFY scribe_job_cancel reaches its worker,
--                            which stops the sequence and writes the final status
--   cancelling, finished  -> unchanged
CREATE OR REPLACE FUNCTION scribe.cancel(id bigint) RETURNS text
LANGUAGE sql AS $$
    WITH changed AS (
        UPDATE scribe.jobs AS j
        SET status = CASE j.status WHEN 'queued' THEN 'cancelled' ELSE 'cancelling' END,
            finished_at = CASE j.status WHEN 'queued' THEN now() ELSE NULL END,
            cancel_requested_at = now()
        WHERE j.id = cancel.id AND j.status IN ('queued', 'running')
        RETURNING j.status
    )
    SELECT coalesce((SELECT status FROM changed),
                    (SELECT status FROM scribe.jobs AS j WHERE j.id = cancel.id))
$$;
