-- Structured output from SQL: fields pulled out of free-text rows as JSON that always
-- parses and fits its schema, one INSERT … SELECT for the whole table; then the same rows
-- classified with the probability of every class. Run with
-- `Ops/pg psql -f Jobs/extraction.sql` after `scribe migrate`, while a worker runs
-- (`scribe worker`); run the last SELECT again once the jobs have finished.

CREATE TABLE IF NOT EXISTS support_tickets (id integer PRIMARY KEY, body text NOT NULL);
INSERT INTO support_tickets VALUES
    (1, 'My espresso machine from order 4411 leaks since Tuesday. Please call me back, this is urgent!'),
    (2, 'Could you tell me whether the desk lamp comes in white? No rush.'),
    (3, 'I was charged twice for my subscription this month. Refund the second charge please.'),
    (4, 'The app logs me out every few minutes on my phone. Annoying but I can live with it.')
ON CONFLICT (id) DO NOTHING;

-- One job per row; the schema rides in params (checked at INSERT: a keyword Scribe cannot
-- enforce is refused with its path), and the row's id in metadata. Properties come out in
-- the order of `required`.
INSERT INTO scribe.jobs (messages, params, metadata)
SELECT jsonb_build_array(jsonb_build_object(
           'role', 'user',
           'content', 'Classify this support ticket as JSON.' || E'\n\n' || t.body)),
       jsonb_build_object(
           'max_tokens', 96, 'temperature', 0,
           'response_format', jsonb_build_object('type', 'json_schema', 'json_schema', jsonb_build_object(
               'name', 'ticket', 'strict', true, 'schema', '{
                   "type": "object",
                   "properties": {
                       "category": {"enum": ["billing", "hardware", "software", "question"]},
                       "urgency": {"type": "integer", "minimum": 1, "maximum": 5},
                       "product": {"type": ["string", "null"], "maxLength": 40},
                       "wants_callback": {"type": "boolean"}
                   },
                   "required": ["category", "urgency", "product", "wants_callback"],
                   "additionalProperties": false
               }'::jsonb))),
       jsonb_build_object('ticket_id', t.id)
FROM support_tickets AS t;

-- The results as columns. A job that ends by `stop` holds a value valid against the
-- schema; one cut by `max_tokens` says `length` and is left out here.
SELECT (j.metadata ->> 'ticket_id')::int AS ticket, r.category, r.urgency, r.product, r.wants_callback
FROM scribe.jobs AS j,
     jsonb_to_record(j.result::jsonb) AS r(category text, urgency int, product text, wants_callback boolean)
WHERE j.metadata ? 'ticket_id' AND j.status = 'succeeded' AND j.finish_reason = 'stop'
ORDER BY ticket;

-- Classification with calibrated scores: every choice is scored (one shared prefill), the
-- most probable is the result, and each choice's probability lands in `choices`.
INSERT INTO scribe.jobs (messages, params, metadata)
SELECT jsonb_build_array(jsonb_build_object(
           'role', 'user', 'content', 'Which team should handle this ticket?' || E'\n\n' || t.body)),
       '{"structured_outputs": {"choice": ["billing", "hardware", "software", "sales"]}, "choice_logprobs": true}',
       jsonb_build_object('routed_ticket', t.id)
FROM support_tickets AS t;

SELECT (j.metadata ->> 'routed_ticket')::int AS ticket, j.result AS team, p ->> 'choice' AS choice,
       round((p ->> 'probability')::numeric, 3) AS probability
FROM scribe.jobs AS j, jsonb_array_elements(j.choices -> 0 -> 'choice_probabilities') AS p
WHERE j.metadata ? 'routed_ticket' AND j.status = 'succeeded'
ORDER BY ticket, probability DESC;
