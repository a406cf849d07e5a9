-- API keys: only a hash of each key is stored; the key itself is shown once, when it is made.
CREATE TABLE api_keys (
  id           text PRIMARY KEY,
  name         text NOT NULL,
  scope        text NOT NULL CHECK (scope IN ('admin', 'integration', 'read', 'codec')),
  -- sha256 of the whole key, hex. Keys are 256-bit random, so a plain hash is enough to look them up by.
  key_hash     text NOT NULL UNIQUE,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at   timestamptz
);

-- respond.io webhook events, kept by event_id: a redelivery (concurrent or hours later) finds its row and has no
-- second effect. The row is written before the answer, so an accepted event survives a crash of the API.
CREATE TABLE webhook_events (
  seq          bigserial PRIMARY KEY,
  event_id     text NOT NULL UNIQUE,
  event_type   text NOT NULL,
  contact_id   text,
  -- Dropped once the event is applied: personal data stays no longer than it is needed.
  payload      jsonb,
  status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
  outcome      text,
  attempts     integer NOT NULL DEFAULT 0,
  available_at timestamptz NOT NULL DEFAULT now(),
  locked_until timestamptz,
  last_error   text,
  received_at  timestamptz NOT NULL DEFAULT now(),
  processed_at timestamptz
);
-- Events are applied per contact in the order they arrived.
CREATE INDEX webhook_events_pending ON webhook_events (contact_id, seq) WHERE status = 'pending';
CREATE INDEX webhook_events_processed ON webhook_events (processed_at) WHERE status <> 'pending';

-- Agents as respond.io knows them: assignments there name a user id (or an email).
ALTER TABLE agents ADD COLUMN email text;
ALTER TABLE agents ADD COLUMN respondio_user_id text UNIQUE;
-- Set when an agent sync no longer finds the user in the workspace; the agent is then offline.
ALTER TABLE agents ADD COLUMN removed_at timestamptz;
CREATE UNIQUE INDEX agents_email ON agents (lower(email)) WHERE email IS NOT NULL;

ALTER TABLE contacts ADD COLUMN language text;

-- Delivery to respond.io: its message id is the record that a message was sent, so a retry never sends it twice.
ALTER TABLE messages ADD COLUMN platform_message_id text;
ALTER TABLE messages ADD COLUMN delivery_error text;
ALTER TABLE messages DROP CONSTRAINT messages_delivery_check;
ALTER TABLE messages ADD CONSTRAINT messages_delivery_check CHECK (delivery IN ('stored', 'delivered', 'received', 'failed'));

-- Effects sent to respond.io other than messages, one row per (conversation, step key): a retried activity whose
-- call went through finds its row and does not call again (comments are not idempotent at respond.io).
CREATE TABLE platform_calls (
  conversation_id text NOT NULL,
  call_key        text NOT NULL,
  contact_id      text NOT NULL,
  kind            text NOT NULL,
  request         jsonb NOT NULL,
  status          integer,
  completed_at    timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (conversation_id, call_key)
);

-- The assignee changes this service sent to respond.io. respond.io echoes each one back as a
-- contact.assignee.updated webhook; an event that matches a recent send is that echo, not a person's decision.
CREATE TABLE assignee_echoes (
  id           bigserial PRIMARY KEY,
  contact_id   text NOT NULL,
  user_id      text,
  email        text,
  sent_at      timestamptz NOT NULL DEFAULT now(),
  seen_at      timestamptz
);
CREATE INDEX assignee_echoes_open ON assignee_echoes (contact_id, id) WHERE seen_at IS NULL;
