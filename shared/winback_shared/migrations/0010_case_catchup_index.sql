-- A console that reconnects asks for every case changed since its last sync (the notifier's
-- cases.service.list_changed_cards, by recovery_cases.updated_at): this index keeps that read
-- proportional to what changed, not to every case ever opened.
CREATE INDEX IF NOT EXISTS recovery_cases_updated_idx ON recovery_cases (updated_at);
