-- Two narrower scopes: metrics (GET /metrics only, for a Prometheus scraper) and decode (Temporal UI's codec key:
-- it decodes payloads and never encodes them).
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scope_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scope_check
  CHECK (scope IN ('admin', 'integration', 'read', 'codec', 'decode', 'metrics'));
UPDATE api_keys SET scope = 'decode'
 WHERE scope = 'codec' AND name IN ('Temporal UI codec (VIP_ROUTER_UI_CODEC_KEY)', 'npm start: Temporal UI codec');

-- Erasure finds a contact's rows, and retention the old ones, without reading whole tables.
CREATE INDEX webhook_events_by_contact ON webhook_events (contact_id);
CREATE INDEX platform_calls_by_contact ON platform_calls (contact_id);
CREATE INDEX assignee_echoes_by_contact ON assignee_echoes (contact_id);
CREATE INDEX messages_by_time ON messages (occurred_at);
