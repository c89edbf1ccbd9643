-- The jobs Ops/demo enqueues: completions, chats, a shared instruction, a bad one.
-- Every job has a callback_url, so each one ends with a signed webhook.
--   psql -v callback_url=http://127.0.0.1:8080/scribe -v quick=false -f Jobs/demo.sql
-- quick=true (Ops/demo --quick) leaves out the four shared-instruction jobs.
\if :{?callback_url}
\else
  \set callback_url 'http://127.0.0.1:8080/scribe'
\endif
\if :{?quick}
\else
  \set quick false
\endif

INSERT INTO scribe.jobs (prompt, params, metadata, callback_url) VALUES
  ('The three primary colors are', '{"max_tokens": 24, "temperature": 0}', '{"demo": "completion"}', :'callback_url'),
  ('def fibonacci(n):', '{"max_tokens": 48, "temperature": 0, "stop": ["\n\n\n"]}', '{"demo": "code"}', :'callback_url'),
  ('Once upon a time, in a quiet village,', '{"max_tokens": 40, "temperature": 0.8, "seed": 7}', '{"demo": "seeded"}', :'callback_url');

INSERT INTO scribe.jobs (messages, params, metadata, callback_url) VALUES
  ('[{"role": "user", "content": "What is the capital of France?"}]', '{"max_tokens": 32, "temperature": 0}',
   '{"demo": "chat"}', :'callback_url'),
  ('[{"role": "system", "content": "You answer in one short sentence."},
    {"role": "user", "content": "Why is the sky blue?"}]', '{"max_tokens": 48, "temperature": 0}',
   '{"demo": "chat"}', :'callback_url');

\if :quick
\else
-- Four jobs sharing one instruction (prefix blocks are reused by jobs that start after the first computed them).
INSERT INTO scribe.jobs (messages, params, metadata, callback_url)
SELECT jsonb_build_array(
         jsonb_build_object('role', 'system', 'content',
           'You are a careful assistant. Classify the sentiment of the review as positive, negative or neutral, '
           || 'and answer with that one word only.'),
         jsonb_build_object('role', 'user', 'content', review)),
       '{"max_tokens": 4, "temperature": 0}', '{"demo": "shared-prefix"}', :'callback_url'
FROM unnest(ARRAY['I loved every minute of it.', 'Terrible service, never again.',
                  'It was fine, nothing special.', 'Best purchase of the year!']) AS review;
\endif

-- A job only the model can refuse (the INSERT refuses what it can see, such as a typo in a
-- field's name): token 999999 is outside the vocabulary, so it fails at claim with the
-- reason (and its webhook says job.failed).
INSERT INTO scribe.jobs (prompt, params, metadata, callback_url)
VALUES ('This one is wrong', '{"max_tokens": 8, "logit_bias": {"999999": 5}}', '{"demo": "invalid"}', :'callback_url');
