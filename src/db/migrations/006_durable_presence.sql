-- Presence changes are durable the way wake-ups are: the change and what it owes the runs commit together, and
-- whoever dispatches next (any API or worker process, or a worker's periodic check) delivers what is still owed.

-- An assignment whose run has not yet been told its agent went offline.
ALTER TABLE assignments ADD COLUMN offline_notice_pending boolean NOT NULL DEFAULT false;
CREATE INDEX assignments_offline_notice_pending ON assignments (id) WHERE offline_notice_pending;

-- A dispatch is owed: an agent came online or gained room, and the queue has not been served since. One row per
-- change, never updated: an agent change never waits on a dispatch's lock on this table (nor a dispatch on it).
CREATE TABLE dispatch_owed (
  id    bigserial PRIMARY KEY,
  since timestamptz NOT NULL DEFAULT now()
);
