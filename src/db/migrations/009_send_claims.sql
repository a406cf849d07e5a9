-- A claim on a send to respond.io, committed before the request: the attempt holding a live lease is the only one
-- that may send; a later attempt that finds an earlier claim never confirmed looks at respond.io before sending.
-- send_claimed_at is when the earliest unconfirmed attempt began (what went out since then may be ours).
ALTER TABLE messages ADD COLUMN send_attempt text;
ALTER TABLE messages ADD COLUMN send_claimed_at timestamptz;
ALTER TABLE messages ADD COLUMN send_lease_until timestamptz;

ALTER TABLE platform_calls ADD COLUMN send_attempt text;
ALTER TABLE platform_calls ADD COLUMN send_claimed_at timestamptz;
ALTER TABLE platform_calls ADD COLUMN send_lease_until timestamptz;

-- A message id respond.io gave is recorded for one row only: the look-up after an unconfirmed send skips ids taken.
CREATE INDEX messages_platform_message_id ON messages (contact_id, platform_message_id) WHERE platform_message_id IS NOT NULL;
