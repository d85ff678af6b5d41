-- Authority to fix it (issue 17): what an agent may give a customer on the call, and the offers
-- made, granted, asked for, approved and declined.
--
-- offer_limits: the company's limits, per role and optionally per queue, in a currency. A row
-- with a queue applies to that queue's cases and wins over the role's row without one; no row
-- at all means a limit of 0 (every offer asks a supervisor). The limit caps the total a case's
-- offers reach in that currency (granted, approved and still pending), so an offer cannot be
-- split into several small ones to slip under it. Admins set them through
-- PUT /api/admin/offer-limits; nothing caches them (each offer reads them under the case lock).
CREATE TABLE offer_limits (
    id         bigserial     PRIMARY KEY,
    role       text          NOT NULL CHECK (role IN ('agent', 'supervisor', 'admin')),
    queue      text          REFERENCES queues (name) ON DELETE CASCADE,
    currency   char(3)       NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    max_amount numeric(12,2) NOT NULL CHECK (max_amount >= 0),
    updated_at timestamptz   NOT NULL DEFAULT now(),
    updated_by text          NOT NULL
);

CREATE UNIQUE INDEX offer_limits_rule_key ON offer_limits (role, coalesce(queue, ''), currency);

-- case_offers: one row per offer, its answer written on it; each step is also a case_history
-- entry (offer_granted, offer_requested, offer_approved, offer_declined, offer_overdue), which
-- is the audit trail. Kept as rows too so reports and BI read amounts, currencies, statuses and
-- times without parsing history: the queue is the case's when the offer was made.
CREATE TABLE case_offers (
    id            bigserial     PRIMARY KEY,
    case_id       bigint        NOT NULL REFERENCES recovery_cases (id),
    queue         text          NOT NULL,
    kind          text          NOT NULL,
    amount        numeric(12,2) NOT NULL CHECK (amount > 0),
    currency      char(3)       NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    note          text          NOT NULL DEFAULT '',
    status        text          NOT NULL
                  CHECK (status IN ('granted', 'pending', 'approved', 'declined')),
    limit_amount  numeric(12,2) NOT NULL,
    requested_by  bigint        NOT NULL REFERENCES agents (id),
    requested_at  timestamptz   NOT NULL DEFAULT now(),
    answered_by   bigint        REFERENCES agents (id),
    answered_at   timestamptz,
    answer_reason text,
    overdue_at    timestamptz,
    CHECK ((status IN ('approved', 'declined')) = (answered_at IS NOT NULL))
);

CREATE INDEX case_offers_case_idx ON case_offers (case_id, id);
CREATE INDEX case_offers_pending_idx ON case_offers (requested_at) WHERE status = 'pending';
CREATE INDEX case_offers_requested_at_idx ON case_offers (requested_at);

-- Grants (see 0016): the notifier reads and writes both; an offer's facts never change once
-- made, only its answer and overdue flag. Reporting reads both. The router has no business here.
GRANT SELECT, INSERT, DELETE ON offer_limits TO winback_notifier;
GRANT UPDATE (max_amount, updated_at, updated_by) ON offer_limits TO winback_notifier;
GRANT SELECT, INSERT ON case_offers TO winback_notifier;
GRANT UPDATE (status, answered_by, answered_at, answer_reason, overdue_at) ON case_offers
    TO winback_notifier;
GRANT USAGE ON SEQUENCE offer_limits_id_seq, case_offers_id_seq TO winback_notifier;
GRANT SELECT ON offer_limits, case_offers TO winback_reporting;
