-- The outcome report reads the cases resolved in a window (winback_notifier.outcomes.service)
-- and the staffing forecast the cases opened in one (winback_notifier.staffing.service): these
-- two indexes keep both reads proportional to the window, not to every case ever opened. The
-- existing (priority, opened_at) index covers open cases only.
CREATE INDEX IF NOT EXISTS recovery_cases_resolved_at_idx ON recovery_cases (resolved_at)
    WHERE resolved_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS recovery_cases_opened_at_idx ON recovery_cases (opened_at);
