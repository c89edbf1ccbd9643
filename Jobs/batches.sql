-- Batches by SQL: the examples of the README's "Batches" section. Submit a file first
-- (`scribe batch submit Jobs/batch-chat.jsonl` prints its id, batch_<id>), then:

-- Every batch, newest first, with its counts.
SELECT id, status, endpoint, requests_total, requests_completed, requests_failed, created_at, expires_at
FROM scribe.batches ORDER BY id DESC LIMIT 10;

-- A batch as OpenAI's Batch object (what `scribe batch status ID --json` prints).
SELECT scribe.batch_object(b) FROM scribe.batches AS b WHERE id = 1;

-- Its requests: ordinary jobs carrying batch_id and custom_id.
SELECT custom_id, status, finish_reason, completion_tokens, left(coalesce(result, error), 60) AS result_or_error
FROM scribe.jobs WHERE batch_id = 1 ORDER BY id;

-- Every completion of the requests that asked for n > 1 or logprobs.
SELECT custom_id, jsonb_array_length(choices) AS completions, choices -> 0 ->> 'text' AS first
FROM scribe.jobs WHERE batch_id = 1 AND choices IS NOT NULL;

-- Cancel: 'cancelling' at once; a worker's sweep (every ~5 s) or `scribe batch cancel`
-- cancels the queued requests and stops the running ones.
SELECT scribe.cancel_batch(1);

-- Wait for batches without polling: LISTEN, and each finished batch's id arrives.
LISTEN scribe_batch_done;

-- Batch webhooks (batch.completed, batch.failed, batch.expired, batch.cancelled).
SELECT id, event_type, status, attempts, last_status_code
FROM scribe.webhook_deliveries WHERE subject_type = 'batch' AND subject_id = 1;
