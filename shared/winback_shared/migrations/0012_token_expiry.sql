-- Agent tokens expire: a token that leaks (a shared screen, a laptop left behind) stops working
-- on its own. The issuer stamps the moment (WINBACK_TOKEN_LIFETIME_DAYS, see agents.issue_token);
-- NULL means the token never expires, which only an explicit lifetime of 0 asks for.
ALTER TABLE agents ADD COLUMN token_expires_at timestamptz;

-- Tokens issued before expiry existed get the default lifetime from the upgrade on, rather than
-- living forever. Not announced to consoles: the trigger of 0006 ignores this column.
UPDATE agents SET token_expires_at = now() + interval '30 days' WHERE disabled_at IS NULL;
