-- Structured output (issue 16): `response_format` (OpenAI) and `structured_outputs`
-- (vLLM: json, regex, choice, grammar, json_object) join the job contract, checked here at
-- INSERT as `OutputConstraint.parse` checks them (Sources/Constraints): the same fields,
-- limits and messages, and a JSON Schema's keywords walked in the same order, so both name
-- the same first problem with its path
-- (`params.response_format.json_schema.schema.properties.age.multipleOf: multipleOf is not supported`).
-- A regex (`regex`, a schema's `pattern`) is parsed here too (scribe.regex_problem), and a
-- $ref resolved. What only compiling finds (a grammar's syntax, bounds no value meets)
-- fails the job at claim, naming the same path, and `scribe batch submit` refuses it
-- before anything is enqueued.

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
        'callback_url_bytes', 2048,
        'schema_bytes', 65536,            -- a JSON Schema constraint, as PostgreSQL prints it
        'schema_name_bytes', 64,
        'schema_nesting', 32,             -- schemas within schemas
        'schema_length', 10000,           -- minLength, maxLength, minItems, maxItems
        'regex_bytes', 4096,
        'grammar_bytes', 65536,
        'choices', 256,
        'choice_bytes', 1024)
$$;

-- `path` followed by an object key as the messages write it: `.name`, or `["a key"]`.
CREATE OR REPLACE FUNCTION scribe.json_path(path text, key text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT path || CASE WHEN key ~ '^[A-Za-z0-9_$]+$' THEN '.' || key ELSE '[' || to_json(key)::text || ']' END
$$;

-- One escape of a regex at chars[i] (the backslash), as RegexPattern's parser reads it:
-- where the parse goes on, the one scalar the escape stands for (NULL for \d \w \s and
-- their negations), or why it is refused, as `<reason> at character <n>`.
CREATE OR REPLACE FUNCTION scribe.regex_escape(chars text[], i integer, in_class boolean,
                                               OUT next integer, OUT scalar integer, OUT problem text)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog AS $$
DECLARE
    n constant integer := coalesce(array_length(chars, 1), 0);
    c text;
    hex text;
BEGIN
    next := i + 1;
    IF next > n THEN
        problem := format('the pattern ends in a backslash at character %s', next);
        RETURN;
    END IF;
    c := chars[next];
    next := next + 1;
    IF c IN ('d', 'D', 'w', 'W', 's', 'S') THEN
        scalar := NULL;
    ELSIF c IN ('n', 't', 'r', 'f', 'v') THEN
        scalar := CASE c WHEN 'n' THEN 10 WHEN 't' THEN 9 WHEN 'r' THEN 13 WHEN 'f' THEN 12 ELSE 11 END;
    ELSIF c = 'u' THEN
        hex := array_to_string(chars[next:next + 3], '');
        IF next + 3 > n OR hex !~ '^[0-9A-Fa-f]{4}$'
           OR ('x' || lpad(hex, 8, '0'))::bit(32)::integer BETWEEN 55296 AND 57343 THEN
            problem := format('\u takes four hex digits of a scalar at character %s', next);
            RETURN;
        END IF;
        scalar := ('x' || lpad(hex, 8, '0'))::bit(32)::integer;
        next := next + 4;
    ELSIF c = 'b' AND in_class THEN
        scalar := 8;
    ELSIF c ~ '^[A-Za-z0-9]$' THEN
        problem := format('the escape \%s is not supported at character %s', c, i);
    ELSE
        scalar := ascii(c);
    END IF;
END $$;

-- NULL when `pattern` is in the regex subset constraints support (Sources/Constraints/
-- RegexPattern.swift), otherwise `<reason> at character <n>` as its parser says it.
CREATE OR REPLACE FUNCTION scribe.regex_problem(pattern text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog AS $$
DECLARE
    chars constant text[] := regexp_split_to_array(pattern, '');
    n constant integer := coalesce(array_length(chars, 1), 0);
    i integer := 1;
    j integer;
    depth integer := 0;
    c text;
    low_text text;
    high_text text;
    low integer;
    high integer;
    first boolean;
    single boolean;
    low_scalar integer;
    escape record;
    quantify boolean;
BEGIN
    IF n >= 1 AND chars[1] = '^' THEN
        i := 2;
    END IF;
    WHILE i <= n LOOP
        c := chars[i];
        quantify := true;
        IF c = '$' AND i = n THEN
            IF depth > 0 THEN
                RETURN format('a group is not closed at character %s', i);
            END IF;
            EXIT;
        ELSIF c = '|' THEN
            i := i + 1;
            CONTINUE;
        ELSIF c = ')' THEN
            IF depth = 0 THEN
                RETURN format('unexpected ) at character %s', i);
            END IF;
            depth := depth - 1;
            i := i + 1;
        ELSIF c = '(' THEN
            i := i + 1;
            IF i <= n AND chars[i] = '?' THEN
                IF i + 1 <= n AND chars[i + 1] = ':' THEN
                    i := i + 2;
                ELSE
                    RETURN format('lookaround and named groups are not supported at character %s', i);
                END IF;
            END IF;
            depth := depth + 1;
            IF depth >= 64 THEN
                RETURN format('groups nested deeper than 64 at character %s', i);
            END IF;
            quantify := false;  -- a group's quantifier follows its `)`
        ELSIF c = '[' THEN
            i := i + 1;
            IF i <= n AND chars[i] = '^' THEN
                i := i + 1;
            END IF;
            first := true;
            WHILE i <= n AND (chars[i] <> ']' OR first) LOOP
                first := false;
                IF chars[i] = '\' THEN
                    escape := scribe.regex_escape(chars, i, true);
                    IF escape.problem IS NOT NULL THEN
                        RETURN escape.problem;
                    END IF;
                    i := escape.next;
                    low_scalar := escape.scalar;
                ELSE
                    low_scalar := ascii(chars[i]);
                    i := i + 1;
                END IF;
                IF low_scalar IS NOT NULL AND i <= n AND chars[i] = '-' AND i + 1 <= n AND chars[i + 1] <> ']' THEN
                    i := i + 1;
                    IF chars[i] = '\' THEN
                        escape := scribe.regex_escape(chars, i, true);
                        IF escape.problem IS NOT NULL THEN
                            RETURN escape.problem;
                        END IF;
                        i := escape.next;
                        IF escape.scalar IS NULL THEN
                            RETURN format('a range ends in a class at character %s', i);
                        END IF;
                        high := escape.scalar;
                    ELSE
                        high := ascii(chars[i]);
                        i := i + 1;
                    END IF;
                    IF high < low_scalar THEN
                        RETURN format('a range''s bounds are reversed at character %s', i);
                    END IF;
                END IF;
            END LOOP;
            IF i > n THEN
                RETURN format('a class is not closed at character %s', i);
            END IF;
            i := i + 1;
        ELSIF c = '\' THEN
            escape := scribe.regex_escape(chars, i, false);
            IF escape.problem IS NOT NULL THEN
                RETURN escape.problem;
            END IF;
            i := escape.next;
        ELSIF c IN ('^', '$') THEN
            RETURN format('anchors are supported only at the ends at character %s', i);
        ELSIF c IN ('*', '+', '?') THEN
            RETURN format('a quantifier follows nothing at character %s', i);
        ELSE
            i := i + 1;  -- a literal, `.` included
        END IF;
        -- Quantifiers after an atom: * + ? {m} {m,} {m,n}, each maybe lazy, never possessive.
        WHILE quantify AND i <= n LOOP
            c := chars[i];
            IF c IN ('*', '+', '?') THEN
                i := i + 1;
            ELSIF c = '{' THEN
                j := i + 1;
                low_text := '';
                WHILE j <= n AND chars[j] ~ '^[0-9]$' LOOP
                    low_text := low_text || chars[j];
                    j := j + 1;
                END LOOP;
                EXIT WHEN low_text = '';  -- a literal brace
                low := left(low_text, 7)::integer;
                high := low;
                IF j <= n AND chars[j] = ',' THEN
                    j := j + 1;
                    high_text := '';
                    WHILE j <= n AND chars[j] ~ '^[0-9]$' LOOP
                        high_text := high_text || chars[j];
                        j := j + 1;
                    END LOOP;
                    high := CASE WHEN high_text = '' THEN NULL ELSE left(high_text, 7)::integer END;
                END IF;
                EXIT WHEN j > n OR chars[j] <> '}';  -- a literal brace
                IF low > 1000 OR coalesce(high, low) > 1000 OR coalesce(high, low) < low THEN
                    RETURN format('a repeat count is above 1000 or its bounds are reversed at character %s', i);
                END IF;
                i := j + 1;
            ELSE
                EXIT;
            END IF;
            IF i <= n AND chars[i] = '?' THEN
                i := i + 1;
            END IF;
            IF i <= n AND chars[i] = '+' THEN
                RETURN format('possessive quantifiers are not supported at character %s', i);
            END IF;
        END LOOP;
    END LOOP;
    IF depth > 0 THEN
        RETURN format('a group is not closed at character %s', i);
    END IF;
    RETURN NULL;
END $$;

-- NULL when every keyword of `schema` and of the schemas in it is supported and has a
-- value of the right type; otherwise `<path>: <reason>`. Keys in byte order, each checked
-- and then entered (JSONSchemaGrammar.checkKeywords walks the same way).
CREATE OR REPLACE FUNCTION scribe.schema_problem(schema jsonb, path text, nesting integer DEFAULT 0,
                                                 root jsonb DEFAULT NULL) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog AS $$
DECLARE
    limits constant jsonb := scribe.job_limits();
    types constant text[] := ARRAY['null', 'boolean', 'integer', 'number', 'string', 'object', 'array'];
    key text;
    value jsonb;
    kind text;
    here text;
    item record;
    problem text;
    top constant jsonb := coalesce(root, schema);
    target text[];
BEGIN
    IF nesting > (limits ->> 'schema_nesting')::int THEN
        RETURN format('%s: schemas nest deeper than %s levels', path, limits ->> 'schema_nesting');
    END IF;
    IF jsonb_typeof(schema) = 'boolean' THEN
        RETURN NULL;
    END IF;
    IF jsonb_typeof(schema) IS DISTINCT FROM 'object' THEN
        RETURN format('%s: a schema is an object or a boolean', path);
    END IF;
    FOR key IN SELECT k FROM jsonb_object_keys(schema) AS k ORDER BY k COLLATE "C" LOOP
        value := schema -> key;
        kind := jsonb_typeof(value);
        here := scribe.json_path(path, key);
        problem := NULL;
        CASE
        WHEN key = 'type' THEN
            -- In parentheses: PL/pgSQL would end the condition at the CASE's first THEN.
            IF NOT (CASE kind
                    WHEN 'string' THEN value #>> '{}' = ANY (types)
                    WHEN 'array' THEN jsonb_array_length(value) > 0 AND NOT EXISTS (
                        SELECT FROM jsonb_array_elements(value) AS e
                        WHERE jsonb_typeof(e) <> 'string' OR NOT (e #>> '{}' = ANY (types)))
                    ELSE false END) THEN
                RETURN format('%s: type is one of null, boolean, integer, number, string, object, array, or a list of them', here);
            END IF;
        WHEN key IN ('properties', '$defs', 'definitions') THEN
            IF kind <> 'object' THEN
                RETURN format('%s: %s is an object of schemas', here, key);
            END IF;
            FOR item IN SELECT e.key, e.value FROM jsonb_each(value) AS e ORDER BY e.key COLLATE "C" LOOP
                problem := scribe.schema_problem(item.value, scribe.json_path(here, item.key), nesting + 1, top);
                EXIT WHEN problem IS NOT NULL;
            END LOOP;
        WHEN key IN ('additionalProperties', 'items') THEN
            problem := scribe.schema_problem(value, here, nesting + 1, top);
        WHEN key IN ('prefixItems', 'anyOf', 'oneOf', 'allOf') THEN
            IF kind <> 'array' OR jsonb_array_length(value) = 0 THEN
                RETURN format('%s: %s is a non-empty array of schemas', here, key);
            END IF;
            FOR item IN SELECT e.value, e.ordinality - 1 AS index FROM jsonb_array_elements(value) WITH ORDINALITY AS e
                        ORDER BY e.ordinality LOOP
                problem := scribe.schema_problem(item.value, format('%s[%s]', here, item.index), nesting + 1, top);
                EXIT WHEN problem IS NOT NULL;
            END LOOP;
        WHEN key = 'required' THEN
            IF kind <> 'array' OR EXISTS (SELECT FROM jsonb_array_elements(value) AS e WHERE jsonb_typeof(e) <> 'string') THEN
                RETURN format('%s: required is an array of names', here);
            END IF;
        WHEN key = 'enum' THEN
            IF kind <> 'array' OR jsonb_array_length(value) = 0 THEN
                RETURN format('%s: enum is a non-empty array', here);
            END IF;
        WHEN key IN ('$ref', 'pattern') THEN
            IF kind <> 'string' THEN
                RETURN format('%s: %s is a string', here, key);
            END IF;
            IF key = 'pattern' THEN
                problem := scribe.regex_problem(value #>> '{}');
                IF problem IS NOT NULL THEN
                    RETURN format('%s: %s', here, problem);
                END IF;
            ELSE
                -- `#/$defs/name` or `#/definitions/name`, naming a schema of the root.
                target := string_to_array(value #>> '{}', '/');
                IF NOT coalesce(cardinality(target) = 3 AND target[1] = '#' AND target[2] IN ('$defs', 'definitions')
                                AND jsonb_typeof(top -> target[2]) = 'object' AND (top -> target[2]) ? target[3], false) THEN
                    RETURN format('%s: $ref %s does not name a schema in #/$defs or #/definitions', here, value #>> '{}');
                END IF;
            END IF;
        WHEN key = 'format' THEN
            IF kind <> 'string' OR NOT (value #>> '{}' = ANY (ARRAY['date', 'time', 'date-time', 'uuid', 'email'])) THEN
                RETURN format('%s: format is one of date, time, date-time, uuid, email', here);
            END IF;
        WHEN key IN ('minLength', 'maxLength', 'minItems', 'maxItems') THEN
            IF NOT scribe.json_is_integer(value, 0, (limits ->> 'schema_length')::numeric) THEN
                RETURN format('%s: %s is a whole number from 0 to %s', here, key, limits ->> 'schema_length');
            END IF;
        WHEN key IN ('minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum') THEN
            IF NOT scribe.json_is_integer(value, -9223372036854775806, 9223372036854775805) THEN
                RETURN format('%s: %s is supported as a whole number', here, key);
            END IF;
        WHEN key IN ('const', 'title', 'description', '$schema', '$id', 'default', 'examples', '$comment',
                     'readOnly', 'writeOnly', 'deprecated') THEN
            NULL;
        ELSE
            RETURN format('%s: %s is not supported', here, key);
        END CASE;
        IF problem IS NOT NULL THEN
            RETURN problem;
        END IF;
    END LOOP;
    RETURN NULL;
END $$;

-- A schema where params hold one: an object within the size limit, its keywords supported.
CREATE OR REPLACE FUNCTION scribe.schema_spec_problem(schema jsonb, field text) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog AS $$
DECLARE
    limits constant jsonb := scribe.job_limits();
BEGIN
    IF jsonb_typeof(schema) IS DISTINCT FROM 'object' THEN
        RETURN format('%s must be a JSON Schema object', field);
    END IF;
    IF octet_length(schema::text) > (limits ->> 'schema_bytes')::int THEN
        RETURN format('%s is %s bytes as JSON; at most %s are allowed', field, octet_length(schema::text), limits ->> 'schema_bytes');
    END IF;
    RETURN scribe.schema_problem(schema, field);
END $$;

-- The first key of `object` not in `known`, in byte order, as `unknown field <path>`.
CREATE OR REPLACE FUNCTION scribe.unknown_field_problem(object jsonb, known text[], field text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 'unknown field ' || scribe.json_path(field, min(k COLLATE "C"))
    FROM jsonb_object_keys(object) AS k WHERE k <> ALL (known)
$$;

-- NULL when params' `response_format` and `structured_outputs` are acceptable (absent
-- too), otherwise a sentence naming the field: `response_format` first, then
-- `structured_outputs`, then the two together, as OutputConstraint.parse checks them.
CREATE OR REPLACE FUNCTION scribe.constraint_problem(params jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog AS $$
DECLARE
    limits constant jsonb := scribe.job_limits();
    response_format constant jsonb := nullif(params -> 'response_format', 'null');
    outputs constant jsonb := nullif(params -> 'structured_outputs', 'null');
    spec jsonb;
    value jsonb;
    kind text;
    here text;
    given text[];
    item record;
    problem text;
    from_format boolean := false;
BEGIN
    IF response_format IS NOT NULL THEN
        IF jsonb_typeof(response_format) <> 'object' THEN
            RETURN 'params.response_format must be an object such as {"type": "json_object"}';
        END IF;
        problem := scribe.unknown_field_problem(response_format, ARRAY['type', 'json_schema'], 'params.response_format');
        IF problem IS NOT NULL THEN
            RETURN problem;
        END IF;
        spec := nullif(response_format -> 'json_schema', 'null');
        CASE response_format -> 'type'
        WHEN '"text"', '"json_object"' THEN
            IF spec IS NOT NULL THEN
                RETURN 'params.response_format.json_schema goes with type json_schema';
            END IF;
            from_format := response_format -> 'type' = '"json_object"';
        WHEN '"json_schema"' THEN
            IF jsonb_typeof(spec) IS DISTINCT FROM 'object' THEN
                RETURN 'params.response_format.json_schema must be an object with name and schema';
            END IF;
            problem := scribe.unknown_field_problem(spec, ARRAY['name', 'schema', 'strict', 'description'],
                                                    'params.response_format.json_schema');
            IF problem IS NOT NULL THEN
                RETURN problem;
            END IF;
            IF jsonb_typeof(spec -> 'name') IS DISTINCT FROM 'string'
               OR octet_length(spec ->> 'name') NOT BETWEEN 1 AND (limits ->> 'schema_name_bytes')::int
               OR spec ->> 'name' !~ '^[A-Za-z0-9_-]+$' THEN
                RETURN format('params.response_format.json_schema.name must be 1 to %s letters, digits, _ or -',
                              limits ->> 'schema_name_bytes');
            END IF;
            IF coalesce(jsonb_typeof(spec -> 'strict'), 'null') NOT IN ('null', 'boolean') THEN
                RETURN 'params.response_format.json_schema.strict must be true or false';
            END IF;
            IF coalesce(jsonb_typeof(spec -> 'description'), 'null') NOT IN ('null', 'string') THEN
                RETURN 'params.response_format.json_schema.description must be a string';
            END IF;
            problem := scribe.schema_spec_problem(nullif(spec -> 'schema', 'null'), 'params.response_format.json_schema.schema');
            IF problem IS NOT NULL THEN
                RETURN problem;
            END IF;
            from_format := true;
        ELSE
            RETURN 'params.response_format.type must be text, json_object or json_schema';
        END CASE;
    END IF;

    IF outputs IS NOT NULL THEN
        IF jsonb_typeof(outputs) <> 'object' THEN
            RETURN 'params.structured_outputs must be an object with one of json, regex, choice, grammar, json_object';
        END IF;
        problem := scribe.unknown_field_problem(outputs, ARRAY['choice', 'grammar', 'json', 'json_object', 'regex'],
                                                'params.structured_outputs');
        IF problem IS NOT NULL THEN
            RETURN problem;
        END IF;
        -- null is absent, as everywhere in params; so is json_object: false.
        given := ARRAY(SELECT k FROM unnest(ARRAY['choice', 'grammar', 'json', 'json_object', 'regex']) AS k
                       WHERE coalesce(jsonb_typeof(outputs -> k), 'null') <> 'null'
                         AND NOT (k = 'json_object' AND outputs -> k = 'false'));
        IF cardinality(given) <> 1 THEN
            RETURN 'params.structured_outputs must have exactly one of json, regex, choice, grammar, json_object';
        END IF;
        value := outputs -> given[1];
        kind := jsonb_typeof(value);
        here := 'params.structured_outputs.' || given[1];
        CASE given[1]
        WHEN 'json' THEN
            problem := scribe.schema_spec_problem(value, here);
            IF problem IS NOT NULL THEN
                RETURN problem;
            END IF;
        WHEN 'json_object' THEN
            IF value <> 'true' THEN
                RETURN here || ' must be true';
            END IF;
        WHEN 'choice' THEN
            IF kind <> 'array' OR jsonb_array_length(value) NOT BETWEEN 1 AND (limits ->> 'choices')::int THEN
                RETURN format('%s must be an array of 1 to %s strings', here, limits ->> 'choices');
            END IF;
            FOR item IN SELECT e.value, e.ordinality - 1 AS index FROM jsonb_array_elements(value) WITH ORDINALITY AS e
                        ORDER BY e.ordinality LOOP
                IF jsonb_typeof(item.value) <> 'string'
                   OR octet_length(item.value #>> '{}') NOT BETWEEN 1 AND (limits ->> 'choice_bytes')::int THEN
                    RETURN format('%s[%s] must be a string of 1 to %s bytes', here, item.index, limits ->> 'choice_bytes');
                END IF;
            END LOOP;
        ELSE
            IF kind <> 'string' OR octet_length(value #>> '{}')
                   NOT BETWEEN 1 AND (limits ->> (CASE given[1] WHEN 'regex' THEN 'regex_bytes' ELSE 'grammar_bytes' END))::int THEN
                RETURN format('%s must be a string of 1 to %s bytes', here,
                              limits ->> (CASE given[1] WHEN 'regex' THEN 'regex_bytes' ELSE 'grammar_bytes' END));
            END IF;
            IF given[1] = 'regex' THEN
                problem := scribe.regex_problem(value #>> '{}');
                IF problem IS NOT NULL THEN
                    RETURN format('%s: %s', here, problem);
                END IF;
            END IF;
        END CASE;
        IF from_format THEN
            RETURN 'params.structured_outputs and params.response_format both ask for a format; give one';
        END IF;
    END IF;
    RETURN NULL;
END $$;

-- Where acceptable params hold their constraint (`params.response_format.json_schema.schema`,
-- `params.structured_outputs.regex`, …), or NULL when they hold none: OutputConstraint.field.
CREATE OR REPLACE FUNCTION scribe.constraint_field(params jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN params #>> '{response_format,type}' = 'json_object' THEN 'params.response_format'
        WHEN params #>> '{response_format,type}' = 'json_schema' THEN 'params.response_format.json_schema.schema'
        ELSE (SELECT 'params.structured_outputs.' || k
              FROM unnest(ARRAY['choice', 'grammar', 'json', 'json_object', 'regex']) AS k
              WHERE coalesce(jsonb_typeof(params -> 'structured_outputs' -> k), 'null') <> 'null'
                AND NOT (k = 'json_object' AND params -> 'structured_outputs' -> k = 'false'))
    END
$$;

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
    constraint_field text;
BEGIN
    IF params IS NULL OR jsonb_typeof(params) <> 'object' THEN
        RETURN 'params must be a JSON object such as {"max_tokens": 32}';
    END IF;
    -- Unknown fields first (the first in byte order), then the known ones in the order the
    -- Swift parser checks them, so both name the same field.
    SELECT min(key COLLATE "C") INTO field FROM jsonb_object_keys(params) AS key
    WHERE key <> ALL (ARRAY['temperature', 'top_k', 'top_p', 'min_p', 'repetition_penalty', 'presence_penalty',
                            'frequency_penalty', 'seed', 'stop', 'stop_token_ids', 'max_tokens', 'min_tokens',
                            'ignore_eos', 'logit_bias', 'logprobs', 'n', 'response_format', 'structured_outputs',
                            'choice_logprobs']);
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
    field := scribe.constraint_problem(params);
    IF field IS NOT NULL THEN
        RETURN field;
    END IF;
    -- Under a constraint the output ends where the constraint is complete, nowhere else.
    constraint_field := scribe.constraint_field(params);
    IF constraint_field IS NOT NULL AND params -> 'ignore_eos' = 'true' THEN
        RETURN format('params.ignore_eos cannot be used with %s: the constraint decides where the output ends', constraint_field);
    END IF;
    IF constraint_field IS NOT NULL AND jsonb_typeof(params -> 'min_tokens') = 'number' AND (params ->> 'min_tokens')::numeric > 0 THEN
        RETURN format('params.min_tokens cannot be used with %s: the constraint decides where the output ends', constraint_field);
    END IF;
    IF coalesce(jsonb_typeof(params -> 'choice_logprobs'), 'null') NOT IN ('null', 'boolean') THEN
        RETURN 'params.choice_logprobs must be true or false';
    END IF;
    IF params -> 'choice_logprobs' = 'true' THEN
        IF constraint_field IS DISTINCT FROM 'params.structured_outputs.choice' THEN
            RETURN 'params.choice_logprobs needs a choice constraint (params.structured_outputs.choice)';
        END IF;
        IF coalesce((params ->> 'n')::numeric, 1) <> 1 THEN
            RETURN 'params.choice_logprobs needs n = 1: the choices are scored, not drawn';
        END IF;
        IF (SELECT count(DISTINCT e) <> count(*) FROM jsonb_array_elements(params -> 'structured_outputs' -> 'choice') AS e) THEN
            RETURN 'params.choice_logprobs needs distinct choices';
        END IF;
    END IF;
    -- The result's size follows n × max_tokens × (1 + logprobs): bounded here, before any work.
    IF coalesce(nullif(params ->> 'n', '')::numeric, 1)
       * coalesce((params ->> 'max_tokens')::numeric, (limits ->> 'default_max_tokens')::numeric)
       * (1 + coalesce((params ->> 'logprobs')::numeric, 0)) > (limits ->> 'token_entries')::numeric THEN
        RETURN format('params: n × max_tokens × (1 + logprobs) must be at most %s (tokens and logprobs a result may hold)',
                      limits ->> 'token_entries');
    END IF;
    RETURN NULL;
END $$;

