-- Outbound hardening (issue 19): subscription secrets sealed at rest.
--
-- A stored value that begins with 'fernet:' is sealed: a Fernet token under one of the keys in
-- WINBACK_OUTBOUND_SECRET_KEYS (winback_notifier.outbound.sealing), which the database never
-- sees. Values without the prefix are rows from before sealing, still read as they are until
-- `python -m winback_notifier.outbound rotate-secrets` seals them. url is sealed too: a Slack
-- or Teams webhook URL is itself the credential. url_shown is what admins are shown instead
-- (for Slack and Teams only the host); NULL on rows not sealed yet, shown from url.
ALTER TABLE outbound_subscriptions ADD COLUMN url_shown text;

COMMENT ON COLUMN outbound_subscriptions.url IS
    'the endpoint; sealed when it begins with fernet: (WINBACK_OUTBOUND_SECRET_KEYS)';
COMMENT ON COLUMN outbound_subscriptions.secrets IS
    'signing secrets, routing key or SMTP password, newest first; each sealed when it begins '
    'with fernet: (WINBACK_OUTBOUND_SECRET_KEYS)';
COMMENT ON COLUMN outbound_subscriptions.url_shown IS
    'the endpoint as admins see it (Slack and Teams: the host only); NULL: shown from url';
