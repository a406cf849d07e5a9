-- The assignee's first message to the contact, or that it did not come within the tier's first-response time: first
-- response by tier for the operator page, without asking Temporal.
ALTER TABLE assignments ADD COLUMN first_response_at timestamptz;
-- The conversation's tier (the assignment's own is 'transfer' for a transfer).
ALTER TABLE assignments ADD COLUMN first_response_tier text;
ALTER TABLE assignments ADD COLUMN first_response_seconds double precision;
ALTER TABLE assignments ADD COLUMN first_response_missed boolean;
CREATE INDEX assignments_first_response ON assignments (first_response_at DESC) WHERE first_response_at IS NOT NULL;
