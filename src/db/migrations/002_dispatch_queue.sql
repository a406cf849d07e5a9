-- Capacity may come from the agent's team (routing config) when the agent has none of their own.
ALTER TABLE agents ALTER COLUMN capacity DROP NOT NULL;

-- What the dispatcher needs to serve a waiting conversation: its chain of targets and capacity rules.
ALTER TABLE queue_entries ADD COLUMN request jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE queue_entries ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- Round robin: the last agent each team gave a conversation to. Persisted, so fairness survives restarts.
CREATE TABLE team_cursors (
  team          text PRIMARY KEY,
  last_agent_id text NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX assignments_by_contact ON assignments (contact_id, assigned_at DESC);
