-- When the conversation an assignment serves was opened, and its tier: time to assignment by tier, for metrics and
-- the operator page, without asking Temporal.
ALTER TABLE assignments ADD COLUMN tier text;
ALTER TABLE assignments ADD COLUMN opened_at timestamptz;
CREATE INDEX assignments_recent ON assignments (assigned_at DESC);
