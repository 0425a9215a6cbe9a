-- The record of every event: one row per event in daily partitions of received_at (created by the
-- writer as it needs them, dropped whole when they pass [retention] events_days), and the counts per
-- day, source and status that `events stats` sums.
CREATE TABLE hookgate_events (
    id            text        NOT NULL,
    received_at   timestamptz NOT NULL,
    source        text        NOT NULL,
    delivery_id   text,
    event_type    text,
    status        text        NOT NULL,
    deliveries    integer     NOT NULL DEFAULT 1,
    -- [name, value] pairs exactly as received (names lower-cased by the HTTP server).
    headers       jsonb       NOT NULL,
    -- The exact bytes; body_json is the same body parsed, or NULL when it is not JSON.
    body          bytea       NOT NULL,
    body_json     jsonb,
    dedupe_basis  text        NOT NULL DEFAULT '',
    traceparent   text,
    -- consumer -> state, and the attempt records (oldest first), as the ledger keeps them in Redis.
    consumers     jsonb       NOT NULL DEFAULT '{}',
    attempts      jsonb       NOT NULL DEFAULT '[]',
    written_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (received_at, id)
) PARTITION BY RANGE (received_at);

CREATE INDEX hookgate_events_id ON hookgate_events (id);
CREATE INDEX hookgate_events_source ON hookgate_events (source, received_at, id);
CREATE INDEX hookgate_events_status ON hookgate_events (status, received_at, id);
CREATE INDEX hookgate_events_body ON hookgate_events USING gin (body_json jsonb_path_ops);
CREATE INDEX hookgate_events_headers ON hookgate_events USING gin (headers jsonb_path_ops);

-- The body as jsonb when it is a JSON object or array that jsonb holds, else NULL: not UTF-8, not JSON,
-- or JSON that jsonb refuses (\u0000, a lone surrogate escape, nesting past the stack). The writer
-- calls it in the upsert, so PostgreSQL parses each body once, in C.
CREATE FUNCTION hookgate_body_json(body bytea) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF get_byte(btrim(substring(body FROM 1 FOR 64), '\x20090a0d'::bytea), 0) NOT IN (123, 91) THEN
        RETURN NULL;  -- neither '{' nor '[' first
    END IF;
    RETURN convert_from(body, 'UTF8')::jsonb;
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$;

CREATE TABLE hookgate_event_counts (
    day     date   NOT NULL,
    source  text   NOT NULL,
    status  text   NOT NULL,
    events  bigint NOT NULL,
    PRIMARY KEY (day, source, status)
);
