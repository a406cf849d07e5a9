#!/bin/sh
# Creates Temporal's two PostgreSQL databases and brings their schema to the server's version: run before the
# services start, on every deploy (idempotent: an existing schema is only updated). The same script runs in
# `npm run cluster` and in docker-compose.yml's temporal-schema job.
#
# Env, as the Temporal server reads it: POSTGRES_SEEDS (host), DB_PORT (5432), POSTGRES_USER, POSTGRES_PWD,
# DBNAME (temporal), VISIBILITY_DBNAME (temporal_visibility); SQL_TOOL: the temporal-sql-tool binary of the
# server's version (its schema is built in).
set -eu

tool="${SQL_TOOL:-temporal-sql-tool}"
export SQL_PLUGIN=postgres12
export SQL_HOST="${POSTGRES_SEEDS:?set POSTGRES_SEEDS}"
export SQL_PORT="${DB_PORT:-5432}"
export SQL_USER="${POSTGRES_USER:?set POSTGRES_USER}"
export SQL_PASSWORD="${POSTGRES_PWD:?set POSTGRES_PWD}"

for pair in "${DBNAME:-temporal}:temporal" "${VISIBILITY_DBNAME:-temporal_visibility}:visibility"; do
  db="${pair%%:*}"
  schema="postgresql/v12/${pair##*:}"
  if ! out=$("$tool" --db "$db" create-database 2>&1); then
    case "$out" in
      *"already exists"*) ;;
      *) echo "$out" >&2; exit 1 ;;
    esac
  fi
  # Version 0.0 makes the schema's version table on a new database; an existing one refuses it, and that is fine.
  "$tool" --db "$db" setup-schema -v 0.0 >/dev/null 2>&1 || true
  "$tool" --db "$db" update-schema --schema-name "$schema"
  echo "temporal schema: $db at the latest $schema"
done
