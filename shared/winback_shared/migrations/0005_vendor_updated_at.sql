-- When the vendor last changed each response, as its newest delivery said: revisions that
-- arrive out of order are merged by this clock, so an old delivery never undoes a newer one.
ALTER TABLE survey_responses ADD COLUMN vendor_updated_at timestamptz;
