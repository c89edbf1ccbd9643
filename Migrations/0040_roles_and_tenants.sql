-- Least privilege and tenants (Migrations/README.md, "Roles and tenants").
--
-- Three group roles (NOLOGIN; grant one to each user or service):
--   scribe_client  enqueue (the client columns only), read and cancel its tenant's jobs,
--                  batches and webhook deliveries
--   scribe_worker  what workers and webhook dispatchers do: claim, write results, deliver
--   scribe_reader  read everything (dashboards, `scribe status`), change nothing
-- The owner (whoever runs `scribe migrate`) keeps migrations. On a managed database where
-- the owner may not create roles, an administrator creates the three first:
--   CREATE ROLE scribe_client NOLOGIN; CREATE ROLE scribe_worker NOLOGIN; CREATE ROLE scribe_reader NOLOGIN;
--
-- Tenants: every job, batch and webhook delivery carries `tenant`, by default the database
-- role that inserted it. Row-level security shows a client its tenant's rows only. An
-- application that connects with one role for many tenants is listed in scribe.delegates
-- and says whom it acts for with `SET scribe.tenant = 'acme'`.

DO $$
DECLARE
    name text;
BEGIN
    FOREACH name IN ARRAY ARRAY['scribe_client', 'scribe_worker', 'scribe_reader'] LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = name);
        BEGIN
            EXECUTE format('CREATE ROLE %I NOLOGIN', name);
        EXCEPTION
            -- Roles belong to the cluster: a migration of another database made it meanwhile.
            WHEN duplicate_object OR unique_violation THEN NULL;
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'role % does not exist and % may not create roles', name, current_user
                    USING HINT = 'an administrator runs: CREATE ROLE scribe_client NOLOGIN; '
                        || 'CREATE ROLE scribe_worker NOLOGIN; CREATE ROLE scribe_reader NOLOGIN; then scribe migrate again';
        END;
    END LOOP;
END $$;

-- Roles that may act for any tenant with SET scribe.tenant (an application's pool role).
CREATE TABLE IF NOT EXISTS scribe.delegates (
    role  text PRIMARY KEY,
    note  text
);

-- The tenant a statement acts for: current_user, or scribe.tenant when current_user is
-- a delegate (a member of a role listed in scribe.delegates; superusers are members of all).
CREATE OR REPLACE FUNCTION scribe.current_tenant() RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    claimed text := nullif(current_setting('scribe.tenant', true), '');
BEGIN
    IF claimed IS NULL THEN
        RETURN current_user;
    END IF;
    IF length(claimed) > 200 THEN
        RAISE EXCEPTION 'scribe.tenant is % characters long; at most 200', length(claimed)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM scribe.delegates AS d JOIN pg_roles AS r ON r.rolname = d.role
                   WHERE pg_has_role(current_user, r.oid, 'MEMBER')) THEN
        RAISE EXCEPTION 'scribe.tenant is set, but role % may not act for other tenants', current_user
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'the owner lists the application''s role: INSERT INTO scribe.delegates (role) VALUES (''app'')';
    END IF;
    RETURN claimed;
END $$;

ALTER TABLE scribe.jobs ADD COLUMN IF NOT EXISTS tenant text NOT NULL DEFAULT scribe.current_tenant();
ALTER TABLE scribe.batches ADD COLUMN IF NOT EXISTS tenant text NOT NULL DEFAULT scribe.current_tenant();
ALTER TABLE scribe.webhook_deliveries ADD COLUMN IF NOT EXISTS tenant text NOT NULL DEFAULT scribe.current_tenant();

-- Ids come from their sequences only: an explicit id cannot collide with the next one.
ALTER TABLE scribe.jobs ALTER COLUMN id SET GENERATED ALWAYS;
ALTER TABLE scribe.batches ALTER COLUMN id SET GENERATED ALWAYS;
ALTER TABLE scribe.webhook_deliveries ALTER COLUMN id SET GENERATED ALWAYS;
ALTER TABLE scribe.webhook_attempts ALTER COLUMN id SET GENERATED ALWAYS;

-- An idempotency key is one tenant's: another tenant can neither see nor block it.
DROP INDEX IF EXISTS scribe.jobs_idempotency_key_unfinished;
CREATE UNIQUE INDEX IF NOT EXISTS jobs_tenant_idempotency_key_unfinished
    ON scribe.jobs (tenant, idempotency_key)
    WHERE idempotency_key IS NOT NULL AND status IN ('queued', 'running', 'cancelling');

CREATE OR REPLACE FUNCTION scribe.enqueue(
    prompt text DEFAULT NULL,
    messages jsonb DEFAULT NULL,
    params jsonb DEFAULT '{}',
    model text DEFAULT NULL,
    priority integer DEFAULT 0,
    run_at timestamptz DEFAULT now(),
    max_attempts integer DEFAULT 3,
    idempotency_key text DEFAULT NULL,
    metadata jsonb DEFAULT NULL,
    callback_url text DEFAULT NULL
) RETURNS bigint
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    new_id bigint;
BEGIN
    LOOP
        INSERT INTO scribe.jobs (prompt, messages, params, model, priority, run_at,
                                 max_attempts, idempotency_key, metadata, callback_url)
        VALUES (enqueue.prompt, enqueue.messages, coalesce(enqueue.params, '{}'), enqueue.model,
                coalesce(enqueue.priority, 0), coalesce(enqueue.run_at, now()),
                coalesce(enqueue.max_attempts, 3), enqueue.idempotency_key, enqueue.metadata,
                enqueue.callback_url)
        ON CONFLICT (tenant, idempotency_key)
            WHERE idempotency_key IS NOT NULL AND status IN ('queued', 'running', 'cancelling')
            DO NOTHING
        RETURNING id INTO new_id;
        IF new_id IS NOT NULL THEN
            RETURN new_id;
        END IF;
        SELECT id INTO new_id FROM scribe.jobs
        WHERE tenant = scribe.current_tenant() AND idempotency_key = enqueue.idempotency_key
          AND status IN ('queued', 'running', 'cancelling');
        IF new_id IS NOT NULL THEN
            RETURN new_id;
        END IF;
        -- The holder finished between the two statements: the key is free again.
    END LOOP;
END $$;

-- Cancelling is a request, not a status write: a client sets cancel_requested_at (the
-- one job column it may update) and this trigger moves the status, so no client ever
-- writes `status`. Statements that set the status themselves are left alone.
CREATE OR REPLACE FUNCTION scribe.jobs_cancel_requested() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.cancel_requested_at IS NOT NULL AND OLD.cancel_requested_at IS DISTINCT FROM NEW.cancel_requested_at
       AND NEW.status = OLD.status THEN
        IF OLD.status = 'queued' THEN
            NEW.status := 'cancelled';
            NEW.finished_at := now();
        ELSIF OLD.status = 'running' THEN
            NEW.status := 'cancelling';
        END IF;
    END IF;
    RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS jobs_cancel_requested ON scribe.jobs;
CREATE TRIGGER jobs_cancel_requested
    BEFORE UPDATE OF cancel_requested_at ON scribe.jobs
    FOR EACH ROW EXECUTE FUNCTION scribe.jobs_cancel_requested();

CREATE OR REPLACE FUNCTION scribe.cancel(id bigint) RETURNS text
LANGUAGE sql AS $$
    WITH changed AS (
        UPDATE scribe.jobs AS j SET cancel_requested_at = now()
        WHERE j.id = cancel.id AND j.status IN ('queued', 'running')
        RETURNING j.status
    )
    SELECT coalesce((SELECT status FROM changed),
                    (SELECT status FROM scribe.jobs AS j WHERE j.id = cancel.id))
$$;

-- The status triggers fire for a status the cancel trigger set: `UPDATE OF status` alone
-- would not see it (a column a BEFORE trigger changes is not a target of the UPDATE).
DROP TRIGGER IF EXISTS jobs_notify_status ON scribe.jobs;
CREATE TRIGGER jobs_notify_status
    AFTER UPDATE OF status, cancel_requested_at ON scribe.jobs
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status <> 'running')
    EXECUTE FUNCTION scribe.jobs_notify_status();

DROP TRIGGER IF EXISTS jobs_enqueue_webhook ON scribe.jobs;
CREATE TRIGGER jobs_enqueue_webhook
    AFTER UPDATE OF status, cancel_requested_at ON scribe.jobs
    FOR EACH ROW
    WHEN (NEW.callback_url IS NOT NULL
          AND NEW.status IN ('succeeded', 'failed', 'cancelled')
          AND OLD.status NOT IN ('succeeded', 'failed', 'cancelled'))
    EXECUTE FUNCTION scribe.jobs_enqueue_webhook();

DROP TRIGGER IF EXISTS jobs_count_in_batch ON scribe.jobs;
CREATE TRIGGER jobs_count_in_batch
    AFTER UPDATE OF status, cancel_requested_at ON scribe.jobs
    FOR EACH ROW
    WHEN (NEW.batch_id IS NOT NULL
          AND NEW.status IN ('succeeded', 'failed', 'cancelled')
          AND OLD.status NOT IN ('succeeded', 'failed', 'cancelled'))
    EXECUTE FUNCTION scribe.jobs_count_in_batch();

-- Webhooks belong to the tenant of their job or batch.
CREATE OR REPLACE FUNCTION scribe.jobs_enqueue_webhook() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO scribe.webhook_deliveries (event_type, subject_type, subject_id, url, payload, tenant)
    VALUES ('job.' || NEW.status, 'job', NEW.id, NEW.callback_url, scribe.job_webhook_payload(NEW), NEW.tenant);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION scribe.batches_finished() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('scribe_batch_done', NEW.id::text);
    IF NEW.callback_url IS NOT NULL THEN
        INSERT INTO scribe.webhook_deliveries (event_type, subject_type, subject_id, url, payload, tenant)
        VALUES ('batch.' || NEW.status, 'batch', NEW.id, NEW.callback_url,
                jsonb_build_object(
                    'type', 'batch.' || NEW.status,
                    'timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                    'data', scribe.batch_object(NEW))::text,
                NEW.tenant);
    END IF;
    RETURN NULL;
END $$;

-- What a client's statement sets off beyond the rows it may write (a webhook queued, a
-- batch counted, a batch's requests stopped) runs with the owner's rights: SECURITY
-- DEFINER, each with a fixed search_path. sweep_batches and expire_batches take no
-- argument and do what any worker does every few seconds, so anyone may run them.
ALTER FUNCTION scribe.jobs_enqueue_webhook() SECURITY DEFINER;
ALTER FUNCTION scribe.batches_finished() SECURITY DEFINER;
ALTER FUNCTION scribe.jobs_count_in_batch() SECURITY DEFINER;
ALTER FUNCTION scribe.sweep_batches() SECURITY DEFINER;
ALTER FUNCTION scribe.expire_batches() SECURITY DEFINER;

-- Every function of the schema runs with a fixed search_path (pg_catalog first, so no
-- object of the caller's can stand in for a built-in), except the immutable SQL helpers,
-- which name only built-ins and must stay inlinable.
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure FROM pg_proc AS p
        WHERE p.pronamespace = 'scribe'::regnamespace
          AND NOT (p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'sql') AND p.provolatile = 'i')
    LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = pg_catalog, scribe, pg_temp', f);
    END LOOP;
END $$;

REVOKE ALL ON SCHEMA scribe FROM PUBLIC;
GRANT USAGE ON SCHEMA scribe TO scribe_client, scribe_worker, scribe_reader;
REVOKE ALL ON ALL TABLES IN SCHEMA scribe FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION scribe.sweep_batches(), scribe.expire_batches() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION scribe.sweep_batches(), scribe.expire_batches() TO scribe_client, scribe_worker;

GRANT SELECT ON scribe.schema_migrations, scribe.delegates TO scribe_client, scribe_worker, scribe_reader;

-- Clients: their columns of a new job or batch, and the cancel request; nothing else.
GRANT SELECT ON scribe.jobs, scribe.batches, scribe.webhook_deliveries TO scribe_client;
GRANT SELECT (id, delivery_id, attempt, worker_id, started_at, latency_ms, status_code, remote_address,
              outcome, error, retry_at, applied, recorded_at) ON scribe.webhook_attempts TO scribe_client;
GRANT INSERT (prompt, messages, params, model, priority, run_at, max_attempts, idempotency_key, metadata,
              callback_url, batch_id, custom_id) ON scribe.jobs TO scribe_client;
GRANT UPDATE (cancel_requested_at) ON scribe.jobs TO scribe_client;
GRANT INSERT (status, endpoint, model, input_file, completion_window, expires_at, metadata, callback_url,
              requests_total, errors) ON scribe.batches TO scribe_client;
GRANT UPDATE (status) ON scribe.batches TO scribe_client;

-- Workers: everything on the queue's tables (row-level security lets them see all rows).
GRANT SELECT, INSERT, UPDATE, DELETE ON scribe.jobs, scribe.batches, scribe.workers, scribe.webhook_deliveries,
    scribe.webhook_attempts, scribe.webhook_destinations TO scribe_worker;

GRANT SELECT ON scribe.jobs, scribe.batches, scribe.workers, scribe.webhook_deliveries, scribe.webhook_attempts,
    scribe.webhook_destinations TO scribe_reader;

-- Row-level security. The owner is not subject to it; policies for the three roles:
ALTER TABLE scribe.jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE scribe.batches ENABLE ROW LEVEL SECURITY;
ALTER TABLE scribe.webhook_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE scribe.webhook_attempts ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS jobs_client_read ON scribe.jobs;
CREATE POLICY jobs_client_read ON scribe.jobs FOR SELECT TO scribe_client
    USING (tenant = (SELECT scribe.current_tenant()));
-- A new job is the client's own, and so is the batch it names (a foreign key alone would
-- let it add requests to another tenant's batch).
DROP POLICY IF EXISTS jobs_client_insert ON scribe.jobs;
CREATE POLICY jobs_client_insert ON scribe.jobs FOR INSERT TO scribe_client
    WITH CHECK (tenant = (SELECT scribe.current_tenant()) AND status = 'queued'
                AND (batch_id IS NULL OR EXISTS (SELECT 1 FROM scribe.batches AS b WHERE b.id = batch_id)));
DROP POLICY IF EXISTS jobs_client_cancel ON scribe.jobs;
CREATE POLICY jobs_client_cancel ON scribe.jobs FOR UPDATE TO scribe_client
    USING (tenant = (SELECT scribe.current_tenant()) AND status IN ('queued', 'running'))
    WITH CHECK (tenant = (SELECT scribe.current_tenant()));

DROP POLICY IF EXISTS batches_client_read ON scribe.batches;
CREATE POLICY batches_client_read ON scribe.batches FOR SELECT TO scribe_client
    USING (tenant = (SELECT scribe.current_tenant()));
DROP POLICY IF EXISTS batches_client_insert ON scribe.batches;
CREATE POLICY batches_client_insert ON scribe.batches FOR INSERT TO scribe_client
    WITH CHECK (tenant = (SELECT scribe.current_tenant()) AND status IN ('validating', 'failed')
                AND requests_completed = 0 AND requests_failed = 0);
-- Submitted (validating -> in_progress) and cancelled (-> cancelling): a client's only moves.
DROP POLICY IF EXISTS batches_client_update ON scribe.batches;
CREATE POLICY batches_client_update ON scribe.batches FOR UPDATE TO scribe_client
    USING (tenant = (SELECT scribe.current_tenant()) AND status IN ('validating', 'in_progress', 'finalizing'))
    WITH CHECK (tenant = (SELECT scribe.current_tenant()) AND status IN ('in_progress', 'cancelling'));

DROP POLICY IF EXISTS webhook_deliveries_client_read ON scribe.webhook_deliveries;
CREATE POLICY webhook_deliveries_client_read ON scribe.webhook_deliveries FOR SELECT TO scribe_client
    USING (tenant = (SELECT scribe.current_tenant()));
DROP POLICY IF EXISTS webhook_attempts_client_read ON scribe.webhook_attempts;
CREATE POLICY webhook_attempts_client_read ON scribe.webhook_attempts FOR SELECT TO scribe_client
    USING (EXISTS (SELECT 1 FROM scribe.webhook_deliveries AS d WHERE d.id = delivery_id));

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['jobs', 'batches', 'webhook_deliveries', 'webhook_attempts'] LOOP
        EXECUTE format('DROP POLICY IF EXISTS %I ON scribe.%I', t || '_worker', t);
        EXECUTE format('CREATE POLICY %I ON scribe.%I FOR ALL TO scribe_worker USING (true) WITH CHECK (true)',
                       t || '_worker', t);
        EXECUTE format('DROP POLICY IF EXISTS %I ON scribe.%I', t || '_reader', t);
        EXECUTE format('CREATE POLICY %I ON scribe.%I FOR SELECT TO scribe_reader USING (true)', t || '_reader', t);
    END LOOP;
END $$;
