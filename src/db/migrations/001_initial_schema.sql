-- Contacts as the messaging platform knows them; email is what the routing flow asks for.
CREATE TABLE contacts (
  id            text PRIMARY KEY,
  first_name    text,
  last_name     text,
  email         text,
  phone         text,
  channel       text,
  custom_fields jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE teams (
  name       text PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE agents (
  id               text PRIMARY KEY,
  name             text NOT NULL,
  team             text NOT NULL REFERENCES teams (name),
  role             text NOT NULL CHECK (role IN ('agent', 'manager')),
  online           boolean NOT NULL DEFAULT false,
  capacity         integer NOT NULL CHECK (capacity >= 0),
  last_assigned_at timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agents_team ON agents (team);

-- One row per (conversation, agent) assignment; released when the conversation closes.
CREATE TABLE assignments (
  id              bigserial PRIMARY KEY,
  conversation_id text NOT NULL,
  workflow_id     text NOT NULL,
  contact_id      text NOT NULL,
  agent_id        text NOT NULL REFERENCES agents (id),
  strategy        text NOT NULL,
  via             text NOT NULL,
  note            text,
  assigned_at     timestamptz NOT NULL DEFAULT now(),
  released_at     timestamptz
);
-- An open conversation has at most one assignee, whatever the interleaving of retries and workers.
CREATE UNIQUE INDEX assignments_one_open_per_conversation ON assignments (conversation_id) WHERE released_at IS NULL;
CREATE INDEX assignments_open_by_agent ON assignments (agent_id) WHERE released_at IS NULL;

-- Conversations waiting for an agent, served by priority then by age.
CREATE TABLE queue_entries (
  conversation_id text PRIMARY KEY,
  workflow_id     text NOT NULL,
  contact_id      text NOT NULL,
  tier            text NOT NULL,
  priority        integer NOT NULL DEFAULT 0,
  enqueued_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX queue_entries_service_order ON queue_entries (priority DESC, enqueued_at);

-- The transcript. external_id makes inbound (platform message id) and outbound (workflow step key)
-- writes idempotent.
CREATE TABLE messages (
  id              bigserial PRIMARY KEY,
  contact_id      text NOT NULL,
  conversation_id text,
  direction       text NOT NULL CHECK (direction IN ('inbound', 'outbound', 'note')),
  kind            text NOT NULL,
  external_id     text NOT NULL,
  body            text NOT NULL,
  delivery        text NOT NULL DEFAULT 'stored' CHECK (delivery IN ('stored', 'delivered', 'received')),
  -- When this service received or sent it: the transcript's order. The platform's own timestamp
  -- (other clock) is kept beside it.
  occurred_at     timestamptz NOT NULL DEFAULT now(),
  platform_timestamp timestamptz,
  UNIQUE (contact_id, direction, external_id)
);
CREATE INDEX messages_transcript ON messages (contact_id, id);

-- The built-in "data warehouse" the default CRM step queries.
CREATE TABLE directory_customers (
  email           text PRIMARY KEY,
  customer_type   text NOT NULL,
  account_manager text,
  name            text,
  updated_at      timestamptz NOT NULL DEFAULT now()
);
