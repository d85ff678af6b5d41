-- Outbound deliveries (issue 19): subscriptions to case events, and one row per event to deliver
-- to each subscription (winback_notifier.outbound).
--
-- A subscription names a channel (a signed webhook, Slack, Teams), its URL, which events
-- (event_types: case.opened, case.breached ...) and which cases (queues: empty for all;
-- max_priority: NULL for all, 1 for P1 only). secrets are the webhook's Standard Webhooks
-- secrets, newest first: during a rotation there are two and each delivery carries both
-- signatures. Secrets are stored as given (the sender needs them in clear to sign); the
-- reporting role never reads this table.
CREATE TABLE outbound_subscriptions (
    id serial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    channel text NOT NULL,
    url text NOT NULL,
    event_types text[] NOT NULL,
    queues text[] NOT NULL DEFAULT '{}',
    max_priority integer,
    secrets text[] NOT NULL DEFAULT '{}',
    max_in_flight integer NOT NULL DEFAULT 4 CHECK (max_in_flight BETWEEN 1 AND 64),
    enabled boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One event for one subscription. event_key (case id and seq) is unique per subscription, so a
-- record Kafka hands over twice becomes one delivery with one webhook_id, which every retry
-- sends again. status: pending (next_attempt_at says when; a sender leases a row by moving it
-- forward), delivered, dead (attempts ran out or the endpoint refused it for good: replayable).
CREATE TABLE outbound_deliveries (
    id bigserial PRIMARY KEY,
    subscription_id integer NOT NULL REFERENCES outbound_subscriptions (id) ON DELETE CASCADE,
    event_key text NOT NULL,
    event_type text NOT NULL,
    webhook_id text NOT NULL UNIQUE,
    case_id bigint,  -- NULL for events about a queue, not a case (0029)
    payload jsonb NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_status integer,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    UNIQUE (subscription_id, event_key)
);
CREATE INDEX outbound_deliveries_due_idx
    ON outbound_deliveries (subscription_id, next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbound_deliveries_dead_idx
    ON outbound_deliveries (subscription_id, id) WHERE status = 'dead';

-- The notifier's admin API and CLI manage subscriptions and replay; the outbound process (the
-- notifier's image and role) records and sends deliveries.
GRANT SELECT, INSERT, UPDATE, DELETE ON outbound_subscriptions TO winback_notifier;
GRANT SELECT, INSERT, UPDATE, DELETE ON outbound_deliveries TO winback_notifier;
GRANT USAGE ON SEQUENCE outbound_subscriptions_id_seq, outbound_deliveries_id_seq
    TO winback_notifier;
