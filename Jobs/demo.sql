-- The jobs Ops/demo enqueues: completions, chats, a shared instruction, a bad one.
INSERT INTO scribe.jobs (prompt, params, metadata) VALUES
  ('The three primary colors are', '{"max_tokens": 24, "temperature": 0}', '{"demo": "completion"}'),
  ('def fibonacci(n):', '{"max_tokens": 48, "temperature": 0, "stop": ["\n\n\n"]}', '{"demo": "code"}'),
  ('Once upon a time, in a quiet village,', '{"max_tokens": 40, "temperature": 0.8, "seed": 7}', '{"demo": "seeded"}');

INSERT INTO scribe.jobs (messages, params, metadata) VALUES
  ('[{"role": "user", "content": "What is the capital of France?"}]', '{"max_tokens": 32, "temperature": 0}', '{"demo": "chat"}'),
  ('[{"role": "system", "content": "You answer in one short sentence."},
    {"role": "user", "content": "Why is the sky blue?"}]', '{"max_tokens": 48, "temperature": 0}', '{"demo": "chat"}');

-- Four jobs sharing one instruction (prefix blocks are reused by jobs that start after the first computed them).
INSERT INTO scribe.jobs (messages, params, metadata)
SELECT jsonb_build_array(
         jsonb_build_object('role', 'system', 'content',
           'You are a careful assistant. Classify the sentiment of the review as positive, negative or neutral, '
           || 'and answer with that one word only.'),
         jsonb_build_object('role', 'user', 'content', review)),
       '{"max_tokens": 4, "temperature": 0}', '{"demo": "shared-prefix"}'
FROM unnest(ARRAY['I loved every minute of it.', 'Terrible service, never again.',
                  'It was fine, nothing special.', 'Best purchase of the year!']) AS review;

-- A job whose params have a typo: it fails at claim with an error naming the field.
INSERT INTO scribe.jobs (prompt, params, metadata)
VALUES ('This one is wrong', '{"max_tokens": 8, "temprature": 0.5}', '{"demo": "invalid"}');
