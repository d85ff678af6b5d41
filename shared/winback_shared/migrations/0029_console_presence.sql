-- Paging when nobody watches (issue 19): "no console connected while P1 cases wait".
--
-- Consoles live in each notifier's memory; console_presence is how many each notifier instance
-- has per queue, written every WINBACK_FLOOR_GAUGES_INTERVAL_SECONDS (a row not refreshed for a
-- while belongs to a notifier that is gone, and counts for nothing). unwatched_queues holds the
-- queues the outbound process has raised a page for, so it sends one trigger when a queue goes
-- unwatched and one resolve when it is watched again, across restarts and instances.
CREATE TABLE console_presence (
    instance text NOT NULL,
    queue text NOT NULL,
    consoles integer NOT NULL CHECK (consoles >= 0),
    seen_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (instance, queue)
);

CREATE TABLE unwatched_queues (
    queue text PRIMARY KEY,
    since timestamptz NOT NULL DEFAULT now(),
    waiting integer NOT NULL
);

GRANT SELECT, INSERT, UPDATE, DELETE ON console_presence, unwatched_queues TO winback_notifier;
