-- A contact's conversation that a newer one replaced while its run was still finishing its effects at the platform
-- (un-assign, close): the platform acts on the contact's current conversation, so those effects are dropped.
CREATE TABLE superseded_conversations (
  conversation_id text PRIMARY KEY,
  contact_id      text NOT NULL,
  superseded_at   timestamptz NOT NULL DEFAULT now()
);

-- When the run holding an open assignment or a queue entry was last found running: the reconciler looks again
-- after a while, and releases what a run that ended abnormally (terminated, reset, timed out) left held.
ALTER TABLE assignments ADD COLUMN run_checked_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE queue_entries ADD COLUMN run_checked_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX assignments_open_by_run_check ON assignments (run_checked_at) WHERE released_at IS NULL;

-- Effects on the platform (a message, the assignee, the close) given up after their time bound: for the operator.
CREATE TABLE given_up_effects (
  conversation_id text NOT NULL,
  effect_key      text NOT NULL,
  contact_id      text NOT NULL,
  effect          text NOT NULL,
  reason          text NOT NULL,
  given_up_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (conversation_id, effect_key)
);
CREATE INDEX given_up_effects_recent ON given_up_effects (given_up_at DESC);
