-- Migrations 0012 (token expiry) and 0016 (service roles) were written side by side: 0016's
-- column grants on agents predate agents.token_expires_at. Signing in reads it (router and
-- notifier), issuing a token sets it (notifier); reports may show when tokens expire.
GRANT SELECT (token_expires_at) ON agents TO winback_router;
GRANT UPDATE (token_expires_at) ON agents TO winback_notifier;
GRANT SELECT (token_expires_at) ON agents TO winback_reporting;
