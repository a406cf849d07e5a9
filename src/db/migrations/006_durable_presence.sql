-- Presence changes are durable the way wake-ups are: the change and what it owes the runs commit together, and
-- whoever dispatches next (any API or worker process, or a worker's periodic check) delivers what is still owed.

-- An assignment whose run has not yet been told its agent went offline.
ALTER TABLE assignments ADD COLUMN offline_notice_pending boolean NOT NULL DEFAULT false;
CREATE INDEX assignments_offline_notice_pending ON assignments (id) WHERE offline_notice_pending;

-- A dispatch is owed: an agent came online or gained room, and the queue has not been served since.
CREATE TABLE dispatch_owed (
  id    smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  since timestamptz NOT NULL DEFAULT now()
);
