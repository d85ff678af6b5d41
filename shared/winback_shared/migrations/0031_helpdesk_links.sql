-- Helpdesk sync (issue 19): which helpdesk ticket stands for which case, per subscription
-- (winback_notifier.outbound.zendesk_sync), and what we last know the ticket shows.
--
-- external_id is the helpdesk's ticket id, url the page an agent opens. synced_seq is the
-- newest case change the ticket reflects (sent by us, or received from the helpdesk);
-- synced_status and synced_assignee are the ticket's status and assignee as last pushed or
-- received. An outbound change the ticket already shows is not sent, and an inbound change
-- equal to what we pushed is ignored: neither side echoes the other.
CREATE TABLE helpdesk_links (
    subscription_id integer NOT NULL REFERENCES outbound_subscriptions (id) ON DELETE CASCADE,
    case_id bigint NOT NULL REFERENCES recovery_cases (id) ON DELETE CASCADE,
    system text NOT NULL,
    external_id text NOT NULL,
    url text NOT NULL,
    synced_seq integer NOT NULL,
    synced_status text NOT NULL,
    synced_assignee text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subscription_id, case_id),
    UNIQUE (subscription_id, external_id)
);
CREATE INDEX helpdesk_links_case_idx ON helpdesk_links (case_id);

-- The outbound process writes links, the notifier reads them for the case panel and applies
-- the helpdesk's changes; reporting may join tickets to cases (ids and links, no customer data).
GRANT SELECT, INSERT, UPDATE, DELETE ON helpdesk_links TO winback_notifier;
GRANT SELECT ON helpdesk_links TO winback_reporting;
