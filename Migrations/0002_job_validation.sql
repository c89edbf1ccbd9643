-- Checks at INSERT what the database can check: the shape of messages and, for every
-- known sampling parameter, its JSON type and range. Errors name the field
-- ('params.top_p must be a number in (0, 1]'). Unknown fields and checks that need the
-- model (token ids within the vocabulary, ...) are the worker's: it fails such a job at
-- claim, without retries.

-- NULL when prompt/messages are acceptable, otherwise why not.
CREATE OR REPLACE FUNCTION scribe.input_problem(prompt text, messages jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    message jsonb;
    position integer := 0;
BEGIN
    IF (prompt IS NULL) = (messages IS NULL) THEN
        RETURN 'a job needs exactly one of prompt or messages';
    END IF;
    IF messages IS NULL THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(messages) <> 'array' OR jsonb_array_length(messages) = 0 THEN
        RETURN 'messages must be a non-empty JSON array of {"role": ..., "content": ...} objects';
    END IF;
    FOR message IN SELECT value FROM jsonb_array_elements(messages) LOOP
        IF jsonb_typeof(message) <> 'object' OR jsonb_typeof(message -> 'role') IS DISTINCT FROM 'string' THEN
            RETURN format('messages[%s] must be an object with a string "role"', position);
        END IF;
        IF coalesce(jsonb_typeof(message -> 'content'), 'null') NOT IN ('string', 'array', 'null') THEN
            RETURN format('messages[%s].content must be a string or an array of content parts', position);
        END IF;
        position := position + 1;
    END LOOP;
    RETURN NULL;
END $$;

-- Whether a JSON value is an integer written without a fraction, within [low, high].
-- CASE (not AND) so the cast runs only on numbers: SQL does not promise AND's order.
CREATE OR REPLACE FUNCTION scribe.json_is_integer(value jsonb, low numeric, high numeric) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(value) = 'number'
                THEN scale(value::numeric) = 0 AND value::numeric BETWEEN low AND high
                ELSE false END
$$;

-- NULL when params is acceptable, otherwise a sentence naming the first bad field.
-- JSON null for a field means "use the default". Callable by users before inserting:
--   SELECT scribe.params_problem('{"top_p": 0}');
CREATE OR REPLACE FUNCTION scribe.params_problem(params jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    field text;
    value jsonb;
    kind text;
    number numeric;
    entry record;
    int32_max constant numeric := 2147483647;
BEGIN
    IF params IS NULL OR jsonb_typeof(params) <> 'object' THEN
        RETURN 'params must be a JSON object such as {"max_tokens": 32}';
    END IF;
    -- Only the fields present are visited: params usually holds a handful.
    FOR field, value IN SELECT key, params -> key FROM jsonb_object_keys(params) AS key LOOP
        kind := jsonb_typeof(value);
        CONTINUE WHEN kind = 'null';
        number := CASE WHEN kind = 'number' THEN value::numeric END;
        CASE field
        WHEN 'temperature' THEN
            IF number IS NULL OR number < 0 THEN
                RETURN 'params.temperature must be a number >= 0';
            END IF;
        WHEN 'top_p' THEN
            IF number IS NULL OR number <= 0 OR number > 1 THEN
                RETURN 'params.top_p must be a number in (0, 1]';
            END IF;
        WHEN 'min_p' THEN
            IF number IS NULL OR number < 0 OR number > 1 THEN
                RETURN 'params.min_p must be a number in [0, 1]';
            END IF;
        WHEN 'top_k' THEN
            IF NOT scribe.json_is_integer(value, -1, int32_max) THEN
                RETURN 'params.top_k must be an integer >= -1 (0 or -1 disables it)';
            END IF;
        WHEN 'repetition_penalty' THEN
            IF number IS NULL OR number <= 0 THEN
                RETURN 'params.repetition_penalty must be a number > 0';
            END IF;
        WHEN 'presence_penalty', 'frequency_penalty' THEN
            IF number IS NULL OR number < -2 OR number > 2 THEN
                RETURN format('params.%s must be a number in [-2, 2]', field);
            END IF;
        WHEN 'seed' THEN
            IF NOT scribe.json_is_integer(value, -9223372036854775808, 9223372036854775807) THEN
                RETURN 'params.seed must be an integer (64-bit)';
            END IF;
        WHEN 'max_tokens' THEN
            IF NOT scribe.json_is_integer(value, 1, int32_max) THEN
                RETURN 'params.max_tokens must be an integer >= 1';
            END IF;
        WHEN 'min_tokens' THEN
            IF NOT scribe.json_is_integer(value, 0, int32_max) THEN
                RETURN 'params.min_tokens must be an integer >= 0';
            END IF;
        WHEN 'logprobs' THEN
            IF NOT scribe.json_is_integer(value, 0, 20) THEN
                RETURN 'params.logprobs must be an integer in [0, 20]';
            END IF;
        WHEN 'n' THEN
            IF NOT scribe.json_is_integer(value, 1, int32_max) THEN
                RETURN 'params.n must be an integer >= 1';
            END IF;
        WHEN 'ignore_eos' THEN
            IF kind <> 'boolean' THEN
                RETURN 'params.ignore_eos must be true or false';
            END IF;
        WHEN 'stop' THEN
            IF kind <> 'string' AND NOT (kind = 'array' AND NOT EXISTS (
                SELECT 1 FROM jsonb_array_elements(value) AS element WHERE jsonb_typeof(element) <> 'string'))
            THEN
                RETURN 'params.stop must be a string or an array of strings';
            END IF;
        WHEN 'stop_token_ids' THEN
            IF kind <> 'array' OR EXISTS (
                SELECT 1 FROM jsonb_array_elements(value) AS element
                WHERE NOT scribe.json_is_integer(element, 0, int32_max))
            THEN
                RETURN 'params.stop_token_ids must be an array of integers >= 0';
            END IF;
        WHEN 'logit_bias' THEN
            IF kind <> 'object' THEN
                RETURN 'params.logit_bias must be an object mapping token ids to numbers in [-100, 100]';
            END IF;
            FOR entry IN SELECT key, jsonb_typeof(bias) AS kind, bias FROM jsonb_each(value) AS e(key, bias) LOOP
                IF entry.key !~ '^[0-9]{1,10}$' THEN
                    RETURN format('params.logit_bias key %s must be a token id (a non-negative integer)', to_json(entry.key));
                END IF;
                IF entry.kind <> 'number' THEN
                    RETURN format('params.logit_bias.%s must be a number in [-100, 100]', entry.key);
                ELSIF entry.bias::numeric NOT BETWEEN -100 AND 100 THEN
                    RETURN format('params.logit_bias.%s must be a number in [-100, 100]', entry.key);
                END IF;
            END LOOP;
        ELSE
            NULL;  -- unknown field: the worker decides, and fails the job naming it
        END CASE;
    END LOOP;
    IF scribe.json_is_integer(params -> 'min_tokens', 0, int32_max)
       AND scribe.json_is_integer(params -> 'max_tokens', 1, int32_max)
       AND (params ->> 'min_tokens')::numeric > (params ->> 'max_tokens')::numeric
    THEN
        RETURN 'params.min_tokens must not exceed params.max_tokens';
    END IF;
    RETURN NULL;
END $$;

-- BEFORE INSERT (and UPDATE of the input columns; workers' updates never touch them, so
-- a stricter check added later cannot break the lifecycle of older jobs): fills defaults
-- for explicit NULLs, then refuses bad input with
-- SQLSTATE 23514 (check_violation) and a message naming the field. Triggers also fire
-- for COPY, so bulk loads are checked the same way.
CREATE OR REPLACE FUNCTION scribe.jobs_validate() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    problem text;
BEGIN
    NEW.params := coalesce(NEW.params, '{}');
    NEW.run_at := coalesce(NEW.run_at, now());
    problem := coalesce(scribe.input_problem(NEW.prompt, NEW.messages), scribe.params_problem(NEW.params));
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            MESSAGE = problem,
            SCHEMA = 'scribe', TABLE = 'jobs',
            HINT = CASE WHEN problem LIKE 'params%'
                        THEN 'params takes vLLM/OpenAI sampling parameter names; see Migrations/README.md'
                        ELSE 'a completion job sets prompt, a chat job sets messages' END;
    END IF;
    RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS jobs_validate ON scribe.jobs;
CREATE TRIGGER jobs_validate
    BEFORE INSERT OR UPDATE OF prompt, messages, params ON scribe.jobs
    FOR EACH ROW EXECUTE FUNCTION scribe.jobs_validate();
