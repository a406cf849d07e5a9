#!/bin/sh
# Runs once, when the postgres volume is first initialised (docker-entrypoint-initdb.d), as the superuser.
# Creates the application's own role and database, separate from Temporal's `temporal`/`temporal_visibility`.
# The password comes from the environment (VIP_ROUTER_DB_PASSWORD); nothing secret is stored in this file.
# Changing VIP_ROUTER_DB_PASSWORD later has no effect on an existing volume: use ALTER ROLE for that.
set -eu

: "${VIP_ROUTER_DB_PASSWORD:?VIP_ROUTER_DB_PASSWORD must be set}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-$POSTGRES_USER}" \
  -v app_password="$VIP_ROUTER_DB_PASSWORD" <<'SQL'
CREATE ROLE vip_router LOGIN PASSWORD :'app_password';
CREATE DATABASE vip_router OWNER vip_router;
REVOKE ALL ON DATABASE vip_router FROM PUBLIC;
SQL
