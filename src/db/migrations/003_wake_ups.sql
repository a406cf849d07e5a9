-- A run the dispatcher served and has not woken yet. The signal follows the commit, so a crash or a failed
-- signal in between would leave the run waiting in the queue for an assignment it already has; the next
-- dispatch, anywhere, sends it again.
ALTER TABLE assignments ADD COLUMN wake_pending boolean NOT NULL DEFAULT false;
CREATE INDEX assignments_wake_pending ON assignments (id) WHERE wake_pending;
