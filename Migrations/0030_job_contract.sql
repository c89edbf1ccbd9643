-- The job contract, checked at INSERT exactly as the worker and `scribe batch submit`
-- check it (Sources/Engine/JobContract.swift): the same fields, types, ranges and limits,
-- so a job the database accepts never fails at claim for its input, and a batch line
-- Scribe accepts never makes the batch's INSERT fail. The limits are listed once, in
-- scribe.job_limits(); JobContractParityTests runs a corpus of jobs through both sides
-- and fails on any disagreement. The table of rules: Migrations/README.md.

CREATE OR REPLACE FUNCTION scribe.job_limits() RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT jsonb_build_object(
        'prompt_bytes', 1048576,          -- prompt, or the contents of all messages together
        'messages', 1024,
        'role_bytes', 64,
        'n', 16,
        'logprobs', 20,
        'max_tokens', 1048576,
        'token_entries', 1048576,         -- n × max_tokens × (1 + logprobs)
        'default_max_tokens', 16,
        'stop_strings', 8,
        'stop_string_bytes', 256,
        'stop_token_ids', 64,
        'logit_bias_entries', 1024,
        'token_id', 2147483647,
        'temperature', 100,
        'repetition_penalty', 100,
        'max_attempts', 100,
        'priority', 1000000,              -- priority in [-priority, priority]
        'model_bytes', 256,
        'metadata_bytes', 65536,
        'callback_url_bytes', 2048)
$$;

-- Whether a JSON value is a number with an integral value within [low, high] (1.0 and
-- 1e2 count: JSON does not tell integers apart). CASE (not AND) so the cast runs only on
-- numbers: SQL does not promise AND's order.
CREATE OR REPLACE FUNCTION scribe.json_is_integer(value jsonb, low numeric, high numeric) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(value) = 'number'
                THEN value::numeric = trunc(value::numeric) AND value::numeric BETWEEN low AND high
                ELSE false END
$$;

-- NULL when prompt/messages are acceptable, otherwise a sentence naming the field.
CREATE OR REPLACE FUNCTION scribe.input_problem(prompt text, messages jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog AS $$
DECLARE
    limits constant jsonb := scribe.job_limits();
    message jsonb;
    position integer := 0;
    content_bytes bigint := 0;
BEGIN
    IF (prompt IS NULL) = (messages IS NULL) THEN
        RETURN 'a job needs exactly one of prompt or messages';
    END IF;
    IF prompt IS NOT NULL THEN
        IF octet_length(prompt) > (limits ->> 'prompt_bytes')::int THEN
            RETURN format('prompt is %s bytes; at most %s are allowed', octet_length(prompt), limits ->> 'prompt_bytes');
        END IF;
        RETURN NULL;
    END IF;
    IF jsonb_typeof(messages) <> 'array' OR jsonb_array_length(messages) = 0 THEN
        RETURN 'messages must be a non-empty array of {"role", "content"} objects';
    END IF;
    IF jsonb_array_length(messages) > (limits ->> 'messages')::int THEN
        RETURN format('messages has %s entries; at most %s are allowed', jsonb_array_length(messages), limits ->> 'messages');
    END IF;
    FOR message IN SELECT value FROM jsonb_array_elements(messages) LOOP
        IF jsonb_typeof(message) <> 'object' THEN
            RETURN format('messages[%s] must be an object with string fields role and content', position);
        END IF;
        IF jsonb_typeof(message -> 'role') IS DISTINCT FROM 'string'
           OR octet_length(message ->> 'role') NOT BETWEEN 1 AND (limits ->> 'role_bytes')::int THEN
            RETURN format('messages[%s].role must be a string of 1 to %s bytes', position, limits ->> 'role_bytes');
        END IF;
        IF jsonb_typeof(message -> 'content') IS DISTINCT FROM 'string' THEN
            RETURN format('messages[%s].content must be a string', position);
        END IF;
        content_bytes := content_bytes + octet_length(message ->> 'content');
        position := position + 1;
    END LOOP;
    IF content_bytes > (limits ->> 'prompt_bytes')::int THEN
        RETURN format('messages content is %s bytes; at most %s are allowed', content_bytes, limits ->> 'prompt_bytes');
    END IF;
    RETURN NULL;
END $$;

-- NULL when params is acceptable, otherwise a sentence naming the first bad field.
-- JSON null for a field means "use the default". Callable by users before inserting:
--   SELECT scribe.params_problem('{"top_p": 0}');
CREATE OR REPLACE FUNCTION scribe.params_problem(params jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog AS $$
DECLARE
    limits constant jsonb := scribe.job_limits();
    field text;
    value jsonb;
    kind text;
    number numeric;
    entry record;
    count integer;
    token_id_max constant numeric := (limits ->> 'token_id')::numeric;
    max_tokens numeric;
BEGIN
    IF params IS NULL OR jsonb_typeof(params) <> 'object' THEN
        RETURN 'params must be a JSON object such as {"max_tokens": 32}';
    END IF;
    -- Unknown fields first (the first in byte order), then the known ones in the order the
    -- Swift parser checks them, so both name the same field.
    SELECT min(key COLLATE "C") INTO field FROM jsonb_object_keys(params) AS key
    WHERE key <> ALL (ARRAY['temperature', 'top_k', 'top_p', 'min_p', 'repetition_penalty', 'presence_penalty',
                            'frequency_penalty', 'seed', 'stop', 'stop_token_ids', 'max_tokens', 'min_tokens',
                            'ignore_eos', 'logit_bias', 'logprobs', 'n']);
    IF field IS NOT NULL THEN
        RETURN format('unknown field params.%s', field);
    END IF;

    FOREACH field IN ARRAY ARRAY['temperature', 'top_k', 'top_p', 'min_p', 'repetition_penalty',
                                 'presence_penalty', 'frequency_penalty', 'seed', 'stop', 'stop_token_ids',
                                 'max_tokens', 'min_tokens', 'ignore_eos', 'logit_bias', 'logprobs', 'n'] LOOP
        value := params -> field;
        kind := jsonb_typeof(value);
        CONTINUE WHEN kind IS NULL OR kind = 'null';
        number := CASE WHEN kind = 'number' THEN value::numeric END;
        CASE field
        WHEN 'temperature' THEN
            IF number IS NULL OR number < 0 OR number > (limits ->> 'temperature')::numeric THEN
                RETURN format('params.temperature must be a number in [0, %s]', limits ->> 'temperature');
            END IF;
        WHEN 'top_k' THEN
            IF NOT scribe.json_is_integer(value, -1, token_id_max) THEN
                RETURN 'params.top_k must be -1, 0 (off) or an integer >= 1';
            END IF;
        WHEN 'top_p' THEN
            IF number IS NULL OR number <= 0 OR number > 1 THEN
                RETURN 'params.top_p must be a number in (0, 1]';
            END IF;
        WHEN 'min_p' THEN
            IF number IS NULL OR number < 0 OR number > 1 THEN
                RETURN 'params.min_p must be a number in [0, 1]';
            END IF;
        WHEN 'repetition_penalty' THEN
            IF number IS NULL OR number <= 0 OR number > (limits ->> 'repetition_penalty')::numeric THEN
                RETURN format('params.repetition_penalty must be a number in (0, %s]', limits ->> 'repetition_penalty');
            END IF;
        WHEN 'presence_penalty', 'frequency_penalty' THEN
            IF number IS NULL OR number < -2 OR number > 2 THEN
                RETURN format('params.%s must be a number in [-2, 2]', field);
            END IF;
        WHEN 'seed' THEN
            IF NOT scribe.json_is_integer(value, 0, 18446744073709551615) THEN
                RETURN 'params.seed must be an integer in [0, 18446744073709551615] or null';
            END IF;
        WHEN 'stop' THEN
            IF kind = 'array' AND jsonb_array_length(value) > (limits ->> 'stop_strings')::int THEN
                RETURN format('params.stop has %s strings; at most %s are allowed', jsonb_array_length(value), limits ->> 'stop_strings');
            END IF;
            IF kind <> 'string' AND kind <> 'array' THEN
                RETURN 'params.stop must be a string or an array of strings';
            END IF;
            FOR entry IN SELECT ordinality - 1 AS position, element FROM jsonb_array_elements(
                    CASE WHEN kind = 'array' THEN value ELSE jsonb_build_array(value) END) WITH ORDINALITY AS e(element) LOOP
                IF jsonb_typeof(entry.element) <> 'string' OR entry.element ->> 0 = '' THEN
                    RETURN format('params.%s must be a non-empty string',
                                  CASE WHEN kind = 'array' THEN format('stop[%s]', entry.position) ELSE 'stop' END);
                END IF;
                IF octet_length(entry.element ->> 0) > (limits ->> 'stop_string_bytes')::int THEN
                    RETURN format('params.%s is %s bytes long; at most %s are allowed',
                                  CASE WHEN kind = 'array' THEN format('stop[%s]', entry.position) ELSE 'stop' END,
                                  octet_length(entry.element ->> 0), limits ->> 'stop_string_bytes');
                END IF;
            END LOOP;
        WHEN 'stop_token_ids' THEN
            IF kind <> 'array' THEN
                RETURN 'params.stop_token_ids must be an array of token ids';
            END IF;
            IF jsonb_array_length(value) > (limits ->> 'stop_token_ids')::int THEN
                RETURN format('params.stop_token_ids has %s entries; at most %s are allowed',
                              jsonb_array_length(value), limits ->> 'stop_token_ids');
            END IF;
            FOR entry IN SELECT ordinality - 1 AS position, element FROM jsonb_array_elements(value) WITH ORDINALITY AS e(element) LOOP
                IF NOT scribe.json_is_integer(entry.element, 0, token_id_max) THEN
                    RETURN format('params.stop_token_ids[%s] must be a token id (an integer >= 0)', entry.position);
                END IF;
            END LOOP;
        WHEN 'max_tokens' THEN
            IF NOT scribe.json_is_integer(value, 1, (limits ->> 'max_tokens')::numeric) THEN
                RETURN format('params.max_tokens must be an integer in [1, %s]', limits ->> 'max_tokens');
            END IF;
        WHEN 'min_tokens' THEN
            max_tokens := CASE WHEN scribe.json_is_integer(params -> 'max_tokens', 1, (limits ->> 'max_tokens')::numeric)
                               THEN (params ->> 'max_tokens')::numeric
                               ELSE (limits ->> 'default_max_tokens')::numeric END;
            IF NOT scribe.json_is_integer(value, 0, max_tokens) THEN
                RETURN format('params.min_tokens must be an integer in [0, max_tokens] (max_tokens is %s)', max_tokens);
            END IF;
        WHEN 'ignore_eos' THEN
            IF kind <> 'boolean' THEN
                RETURN 'params.ignore_eos must be true or false';
            END IF;
        WHEN 'logit_bias' THEN
            IF kind <> 'object' THEN
                RETURN 'params.logit_bias must be an object mapping token ids to numbers';
            END IF;
            SELECT count(*) INTO count FROM jsonb_object_keys(value);
            IF count > (limits ->> 'logit_bias_entries')::int THEN
                RETURN format('params.logit_bias has %s entries; at most %s are allowed', count, limits ->> 'logit_bias_entries');
            END IF;
            FOR entry IN SELECT key, jsonb_typeof(bias) AS kind, bias FROM jsonb_each(value) AS e(key, bias)
                         ORDER BY key COLLATE "C" LOOP
                IF entry.key !~ '^[0-9]+$' OR entry.key::numeric > token_id_max THEN
                    RETURN format('params.logit_bias key %s must be a token id (an integer >= 0)', to_json(entry.key));
                END IF;
                IF entry.kind <> 'number' OR entry.bias::numeric NOT BETWEEN -100 AND 100 THEN
                    RETURN format('params.logit_bias["%s"] must be a number in [-100, 100]', entry.key);
                END IF;
            END LOOP;
        WHEN 'logprobs' THEN
            IF NOT scribe.json_is_integer(value, 0, (limits ->> 'logprobs')::numeric) THEN
                RETURN format('params.logprobs must be an integer in [0, %s] or null', limits ->> 'logprobs');
            END IF;
        WHEN 'n' THEN
            IF NOT scribe.json_is_integer(value, 1, (limits ->> 'n')::numeric) THEN
                RETURN format('params.n must be an integer in [1, %s]', limits ->> 'n');
            END IF;
        END CASE;
    END LOOP;
    -- The result's size follows n × max_tokens × (1 + logprobs): bounded here, before any work.
    IF coalesce(nullif(params ->> 'n', '')::numeric, 1)
       * coalesce((params ->> 'max_tokens')::numeric, (limits ->> 'default_max_tokens')::numeric)
       * (1 + coalesce((params ->> 'logprobs')::numeric, 0)) > (limits ->> 'token_entries')::numeric THEN
        RETURN format('params: n × max_tokens × (1 + logprobs) must be at most %s (tokens and logprobs a result may hold)',
                      limits ->> 'token_entries');
    END IF;
    RETURN NULL;
END $$;

-- NULL when the other columns users write are acceptable, otherwise why not.
CREATE OR REPLACE FUNCTION scribe.columns_problem(
    max_attempts integer, priority integer, model text, metadata jsonb, callback_url text
) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog AS $$
DECLARE
    limits constant jsonb := scribe.job_limits();
BEGIN
    IF max_attempts NOT BETWEEN 1 AND (limits ->> 'max_attempts')::int THEN
        RETURN format('max_attempts must be in [1, %s], got %s', limits ->> 'max_attempts', max_attempts);
    END IF;
    IF abs(priority::bigint) > (limits ->> 'priority')::int THEN
        RETURN format('priority must be in [-%s, %s], got %s', limits ->> 'priority', limits ->> 'priority', priority);
    END IF;
    IF model IS NOT NULL AND octet_length(model) NOT BETWEEN 1 AND (limits ->> 'model_bytes')::int THEN
        RETURN format('model must be 1 to %s bytes (or NULL for any model)', limits ->> 'model_bytes');
    END IF;
    IF metadata IS NOT NULL AND jsonb_typeof(metadata) <> 'object' THEN
        RETURN 'metadata must be a JSON object';
    END IF;
    IF metadata IS NOT NULL AND octet_length(metadata::text) > (limits ->> 'metadata_bytes')::int THEN
        RETURN format('metadata is %s bytes as JSON; at most %s are allowed', octet_length(metadata::text), limits ->> 'metadata_bytes');
    END IF;
    IF callback_url IS NOT NULL AND octet_length(callback_url) > (limits ->> 'callback_url_bytes')::int THEN
        RETURN format('callback_url is %s bytes; at most %s are allowed', octet_length(callback_url), limits ->> 'callback_url_bytes');
    END IF;
    RETURN NULL;
END $$;

-- The whole contract for one job: input, then params, then the other columns.
CREATE OR REPLACE FUNCTION scribe.job_problem(
    prompt text, messages jsonb, params jsonb,
    max_attempts integer DEFAULT 3, priority integer DEFAULT 0, model text DEFAULT NULL,
    metadata jsonb DEFAULT NULL, callback_url text DEFAULT NULL
) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(scribe.input_problem(prompt, messages), scribe.params_problem(coalesce(params, '{}')),
                    scribe.columns_problem(max_attempts, priority, model, metadata, callback_url))
$$;

-- BEFORE INSERT (and UPDATE of the columns users write; workers' updates never touch
-- them, so a stricter check added later cannot break the lifecycle of older jobs): fills
-- defaults for explicit NULLs, then refuses bad input with SQLSTATE 23514
-- (check_violation) and a message naming the field. Triggers also fire for COPY.
CREATE OR REPLACE FUNCTION scribe.jobs_validate() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    problem text;
BEGIN
    NEW.params := coalesce(NEW.params, '{}');
    NEW.run_at := coalesce(NEW.run_at, now());
    problem := scribe.job_problem(NEW.prompt, NEW.messages, NEW.params, NEW.max_attempts, NEW.priority,
                                  NEW.model, NEW.metadata, NEW.callback_url);
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            MESSAGE = problem,
            SCHEMA = 'scribe', TABLE = 'jobs',
            HINT = 'the job contract, field by field: Migrations/README.md';
    END IF;
    RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS jobs_validate ON scribe.jobs;
CREATE TRIGGER jobs_validate
    BEFORE INSERT OR UPDATE OF prompt, messages, params, max_attempts, priority, model, metadata, callback_url
    ON scribe.jobs
    FOR EACH ROW EXECUTE FUNCTION scribe.jobs_validate();
