-- Every routing config that started runs, by the sha256 of its canonical JSON: a run carries only that version, and
-- the worker reads the run's CRM endpoint, headers and mapping from here, never from the run's input.
-- crm_version (the hash of the crm section alone) recognises the CRM section of runs started before versions.
CREATE TABLE routing_rule_versions (
  version text PRIMARY KEY,
  crm_version text NOT NULL,
  rules jsonb NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX routing_rule_versions_crm ON routing_rule_versions (crm_version);
