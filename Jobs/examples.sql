-- Scribe by SQL: the examples of the README. Run with `Ops/pg psql -f Jobs/examples.sql`
-- after `scribe migrate`, while a worker runs (`scribe worker`).

-- A completion job: prompt + sampling parameters (vLLM/OpenAI names).
INSERT INTO scribe.jobs (prompt, params)
VALUES ('Once upon a time', '{"max_tokens": 32, "temperature": 0}')
RETURNING id;

-- A chat job: messages instead of prompt (exactly one of the two).
INSERT INTO scribe.jobs (messages, params)
VALUES ('[{"role":"user","content":"Hi"}]', '{}')
RETURNING id;

-- Every optional column at once.
INSERT INTO scribe.jobs (prompt, params, priority, run_at, max_attempts, idempotency_key,
                         metadata, callback_url, model)
VALUES ('Write a haiku about PostgreSQL.',
        '{"max_tokens": 48, "temperature": 0.7, "top_p": 0.9, "seed": 42, "stop": ["\n\n"]}',
        -10,                              -- smaller runs first (default 0)
        now() + interval '5 minutes',     -- not before (default now())
        5,                                -- attempts before giving up (default 3)
        'haiku-2024-11-27',               -- unique among unfinished jobs
        '{"customer": 17}',               -- echoed in results and webhooks
        'https://example.com/scribe-hook',
        'SmolLM2-135M-Instruct')          -- only workers with this model (NULL: any)
RETURNING id;

-- Many jobs in one statement.
INSERT INTO scribe.jobs (prompt, params)
SELECT 'Story number ' || n || ':', '{"max_tokens": 16}'
FROM generate_series(1, 100) AS n;

-- The same through the function, with named arguments; with an idempotency key an
-- unfinished job already holds, it returns that job's id instead of a new one.
SELECT scribe.enqueue(prompt => 'Once upon a time', params => '{"max_tokens": 32}');
SELECT scribe.enqueue(messages => '[{"role":"user","content":"Hi"}]',
                      idempotency_key => 'greeting-1', priority => -1);

-- Check params before inserting (NULL: fine).
SELECT scribe.params_problem('{"top_p": 1.5}');   -- params.top_p must be a number in (0, 1]

-- Read results.
SELECT id, status, result, finish_reason, prompt_tokens, completion_tokens, error, attempts
FROM scribe.jobs
ORDER BY id DESC
LIMIT 10;

-- Wait for a job without polling: LISTEN, then psql prints
-- 'Asynchronous notification "scribe_job_done" with payload "<id>" ...' as jobs finish.
LISTEN scribe_job_done;

-- Cancel: queued -> cancelled at once; running -> cancelling until its worker stops it.
SELECT scribe.cancel(id) FROM scribe.jobs WHERE idempotency_key = 'greeting-1';

-- The queue at a glance.
SELECT status, count(*), min(created_at) AS oldest FROM scribe.jobs GROUP BY status ORDER BY status;

-- Webhooks (Sources/Webhooks/README.md): a job with a callback_url gets a signed POST
-- when it finishes. Deliveries that gave up, and why:
SELECT id, event_type, subject_id AS job_id, url, attempts, last_status_code, last_error
FROM scribe.webhook_deliveries WHERE status = 'dead' ORDER BY id DESC LIMIT 20;

-- Every attempt of one delivery, then queue it again:
SELECT attempt, started_at, worker_id, outcome, status_code, latency_ms, error
FROM scribe.webhook_attempts WHERE delivery_id = 1 ORDER BY attempt, id;
SELECT scribe.redeliver(1);
