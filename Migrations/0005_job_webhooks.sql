-- Job webhooks through the outbox: a job with a callback_url that reaches a final status
-- gets its delivery row from a trigger, in the statement (so the transaction) that
-- writes the status. No webhook without a stored result, no stored result whose webhook
-- is lost, whichever path finished the job: JobQueue.complete and failWithoutRetry,
-- retryLater with no attempts left, lease rescue, a drain release of a cancelling job,
-- scribe.cancel of a queued job, batch expiry, or an operator's UPDATE.

-- The payload of a job's webhook (documented in Sources/Webhooks/README.md):
-- {"type": "job.succeeded", "timestamp": "2024-11-27T15:33:00.123Z",
--  "data": {"id", "status", "result", "finish_reason", "usage": {...}, "metadata",
--           "error", "timings"}}
CREATE OR REPLACE FUNCTION scribe.job_webhook_payload(job scribe.jobs) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'type', 'job.' || job.status,
        'timestamp', to_char(coalesce(job.finished_at, now()) AT TIME ZONE 'UTC',
                             'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
        'data', jsonb_build_object(
            'id', job.id,
            'status', job.status,
            'result', job.result,
            'finish_reason', job.finish_reason,
            'usage', jsonb_build_object('prompt_tokens', job.prompt_tokens,
                                        'completion_tokens', job.completion_tokens),
            'metadata', job.metadata,
            'error', job.error,
            'timings', coalesce(job.timings, '{}'::jsonb)))::text
$$;

CREATE OR REPLACE FUNCTION scribe.jobs_enqueue_webhook() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO scribe.webhook_deliveries (event_type, subject_type, subject_id, url, payload)
    VALUES ('job.' || NEW.status, 'job', NEW.id, NEW.callback_url, scribe.job_webhook_payload(NEW));
    RETURN NULL;
END $$;

-- Per row, but the WHEN clause is evaluated without calling the function: claims, lease
-- renewals and jobs without a callback_url never run it. A statement-level trigger with
-- transition tables would materialise them for every claim and renewal instead.
DROP TRIGGER IF EXISTS jobs_enqueue_webhook ON scribe.jobs;
CREATE TRIGGER jobs_enqueue_webhook
    AFTER UPDATE OF status ON scribe.jobs
    FOR EACH ROW
    WHEN (NEW.callback_url IS NOT NULL
          AND NEW.status IN ('succeeded', 'failed', 'cancelled')
          AND OLD.status NOT IN ('succeeded', 'failed', 'cancelled'))
    EXECUTE FUNCTION scribe.jobs_enqueue_webhook();

-- A job inserted already final (an import, a test fixture) has its webhook too.
DROP TRIGGER IF EXISTS jobs_enqueue_webhook_inserted ON scribe.jobs;
CREATE TRIGGER jobs_enqueue_webhook_inserted
    AFTER INSERT ON scribe.jobs
    FOR EACH ROW
    WHEN (NEW.callback_url IS NOT NULL AND NEW.status IN ('succeeded', 'failed', 'cancelled'))
    EXECUTE FUNCTION scribe.jobs_enqueue_webhook();
