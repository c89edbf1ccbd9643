-- Fair share between tenants (Migrations/README.md, "Fair share").
--
-- A claim fills its slots by water-filling over the tenants with runnable work: each
-- next job goes to the tenant whose running jobs, counted with the ones this claim has
-- already given it, are fewest per unit of weight. So with every tenant busy the running
-- jobs (and, as every running sequence gets one token per engine step, the generated
-- tokens) split in proportion to the weights; a tenant alone gets every slot; a tenant
-- that arrives behind another's backlog gets the next free slot. Priorities, then run_at,
-- order work within a tenant. A tenant's running jobs may be capped across all workers.

-- Tenants with a weight other than 1 or a cap; the owner writes it.
CREATE TABLE IF NOT EXISTS scribe.tenants (
    tenant       text PRIMARY KEY,
    weight       integer NOT NULL DEFAULT 1,
    max_running  integer,                 -- NULL: no cap
    CONSTRAINT tenants_weight_range CHECK (weight BETWEEN 1 AND 10000),
    CONSTRAINT tenants_max_running_not_negative CHECK (max_running IS NULL OR max_running >= 0)
);
GRANT SELECT ON scribe.tenants TO scribe_worker, scribe_reader;

-- The claim's index: queued jobs by tenant, in claim order within each.
CREATE INDEX IF NOT EXISTS jobs_queued_by_tenant
    ON scribe.jobs (tenant, priority, run_at, id) WHERE status = 'queued';
-- The claim no longer reads queued jobs in global priority order.
DROP INDEX IF EXISTS scribe.jobs_queued_claim_order;

-- Claims up to claim_limit jobs for worker_id (see above), for worker_model or naming no
-- model, each counted an attempt and leased for lease_seconds. The jobs are chosen
-- first, then locked with SKIP LOCKED: those another claimer holds are passed over and
-- the choice is made again without them (at most four rounds), so concurrent claimers
-- share the work instead of one of them coming back empty. While any tenant has a cap,
-- claims take turns (a transaction-level advisory lock), so that two workers cannot both
-- fill the same tenant's last slots.
CREATE OR REPLACE FUNCTION scribe.claim_jobs(worker_id text, worker_model text, claim_limit integer,
                                             lease_seconds double precision)
RETURNS SETOF scribe.jobs
LANGUAGE plpgsql SET search_path = pg_catalog, scribe, pg_temp AS $$
DECLARE
    passed bigint[] := '{}';
    chosen bigint[];
    remaining integer := claim_limit;
    claimed integer;
BEGIN
    IF EXISTS (SELECT 1 FROM scribe.tenants WHERE max_running IS NOT NULL) THEN
        PERFORM pg_advisory_xact_lock(5999729603185558348);  -- 0x534352494245434C, 'SCRIBECL': the capped claim
    END IF;
    FOR round IN 1..4 LOOP
        EXIT WHEN remaining <= 0;
        WITH RECURSIVE queued_tenants AS (
            -- The distinct tenants with queued jobs: one index descent each.
            (SELECT j.tenant FROM scribe.jobs AS j WHERE j.status = 'queued' ORDER BY j.tenant LIMIT 1)
            UNION ALL
            SELECT (SELECT j.tenant FROM scribe.jobs AS j
                    WHERE j.status = 'queued' AND j.tenant > q.tenant ORDER BY j.tenant LIMIT 1)
            FROM queued_tenants AS q WHERE q.tenant IS NOT NULL
        ), running AS (
            SELECT j.tenant, count(*) AS n FROM scribe.jobs AS j
            WHERE j.status IN ('running', 'cancelling') GROUP BY j.tenant
        ), load AS (
            -- The tenants that may take a slot, least served first; no more of them than
            -- the claim has slots.
            SELECT q.tenant, coalesce(r.n, 0) AS running, coalesce(t.weight, 1) AS weight,
                   least(remaining, coalesce(t.max_running - coalesce(r.n, 0), remaining)) AS room
            FROM queued_tenants AS q
            LEFT JOIN running AS r ON r.tenant = q.tenant
            LEFT JOIN scribe.tenants AS t ON t.tenant = q.tenant
            WHERE q.tenant IS NOT NULL AND coalesce(t.max_running - coalesce(r.n, 0), 1) > 0
            ORDER BY (coalesce(r.n, 0) + 1)::float8 / coalesce(t.weight, 1), q.tenant
            LIMIT remaining
        ), candidates AS (
            -- Each tenant's next jobs, with the load it would have once given each.
            SELECT c.id, c.priority, c.run_at, (l.running + c.k)::float8 / l.weight AS share
            FROM load AS l
            CROSS JOIN LATERAL (
                SELECT s.id, s.priority, s.run_at, row_number() OVER (ORDER BY s.priority, s.run_at, s.id) AS k
                FROM (SELECT j.id, j.priority, j.run_at FROM scribe.jobs AS j
                      WHERE j.tenant = l.tenant AND j.status = 'queued' AND j.run_at <= now()
                        AND (j.model IS NULL OR j.model = worker_model) AND j.id <> ALL (passed)
                      ORDER BY j.priority, j.run_at, j.id
                      LIMIT l.room) AS s
            ) AS c
        )
        SELECT coalesce(array_agg(c.id), '{}') INTO chosen
        FROM (SELECT c.id FROM candidates AS c ORDER BY c.share, c.priority, c.run_at, c.id LIMIT remaining) AS c;
        EXIT WHEN cardinality(chosen) = 0;

        RETURN QUERY
        UPDATE scribe.jobs AS j
        SET status = 'running', attempts = j.attempts + 1, worker_id = claim_jobs.worker_id,
            lease_expires_at = now() + lease_seconds * interval '1 second', started_at = now()
        WHERE j.id IN (SELECT l.id FROM scribe.jobs AS l
                       WHERE l.id = ANY (chosen) AND l.status = 'queued'
                       FOR UPDATE SKIP LOCKED)
        RETURNING j.*;
        GET DIAGNOSTICS claimed = ROW_COUNT;
        remaining := remaining - claimed;
        -- All chosen were free: the choice stands. Otherwise choose again without them.
        EXIT WHEN claimed = cardinality(chosen);
        passed := passed || chosen;
    END LOOP;
END $$;
