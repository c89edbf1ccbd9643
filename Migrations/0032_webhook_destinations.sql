-- Per-destination limits for webhooks: a receiver that hangs or fails holds a bounded
-- share of the dispatchers' slots, and after repeated failures none at all for a while
-- (a circuit breaker), so it cannot delay deliveries to other receivers.
--
-- A destination is the URL's host, lowercase, without a trailing dot: what the claim
-- groups by. (The destination guard decides where a URL may go; this only shares slots.)

CREATE OR REPLACE FUNCTION scribe.url_destination(url text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(rtrim(lower(substring(url FROM '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?(\[[^]/?#]*\]|[^/?#:]*)')), '.'), '')
$$;

ALTER TABLE scribe.webhook_deliveries
    ADD COLUMN IF NOT EXISTS destination text NOT NULL GENERATED ALWAYS AS (scribe.url_destination(url)) STORED;

-- The claim counts what each destination has in flight: the rows being sent are few.
CREATE INDEX IF NOT EXISTS webhook_deliveries_sending_destination
    ON scribe.webhook_deliveries (destination) WHERE status = 'sending';

-- Destinations whose latest attempts failed, and only those: a success deletes the row.
--   consecutive_failures  attempts in a row that got no answer, or a 429 or 5xx
--   open_until            the circuit is open: no attempt before this
--   opened_count          times opened since the last success; the cool-off doubles each
--                         time, and once it has passed one probe at a time goes out
--                         (half-open): its success closes the circuit, its failure reopens it
CREATE TABLE IF NOT EXISTS scribe.webhook_destinations (
    destination          text PRIMARY KEY,
    consecutive_failures integer NOT NULL DEFAULT 0,
    open_until           timestamptz,
    opened_count         integer NOT NULL DEFAULT 0,
    last_error           text,
    updated_at           timestamptz NOT NULL DEFAULT now()
);
