-- The error taxonomy (Sources/ScribeCore/FailureKind.swift) on each job: what its error
-- means. invalid_input: failed at once, never retried (the input can never work as
-- given: a field out of the contract, a result over its bound); internal: an engine
-- error or a worker lost mid-job (lease expired), retried with the attempt counted, so a
-- job that keeps hitting it fails when max_attempts are spent; transient: kept for the
-- taxonomy's third kind (a database or receiver away delays a job without ending its
-- attempt, so no job ends with it today). NULL while the job has no error.
ALTER TABLE scribe.jobs ADD COLUMN IF NOT EXISTS error_kind text;
ALTER TABLE scribe.jobs DROP CONSTRAINT IF EXISTS jobs_error_kind_known;
ALTER TABLE scribe.jobs ADD CONSTRAINT jobs_error_kind_known
    CHECK (error_kind IN ('invalid_input', 'transient', 'internal'));

-- The job webhook's data carries the kind next to the error.
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
            'error_kind', job.error_kind,
            'timings', coalesce(job.timings, '{}'::jsonb)))::text
$$;
