-- The step of the run that made an assignment by transfer (or shift hand-over): a transfer activity retried after
-- a crash finds its own row and answers it, instead of moving the conversation again.
ALTER TABLE assignments ADD COLUMN transfer_key text;
CREATE UNIQUE INDEX assignments_transfer_key ON assignments (conversation_id, transfer_key) WHERE transfer_key IS NOT NULL;
