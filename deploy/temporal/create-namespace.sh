#!/bin/sh
# Registers the app's namespace once the frontend answers (idempotent: an existing one is kept as it is). The same
# script runs in `npm run cluster` and in docker-compose.yml's temporal-namespace job.
#
# Env: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE (default), TEMPORAL_NAMESPACE_RETENTION (72h),
# TEMPORAL_SEARCH_ATTRIBUTES (`Name=Type,…`: registered on the namespace; the same again changes nothing), TEMPORAL_READY_TIMEOUT
# (seconds to wait for the frontend, 180), the Temporal CLI's own
# TLS settings (TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH, TEMPORAL_TLS_SERVER_CA_CERT_PATH,
# TEMPORAL_TLS_SERVER_NAME); TEMPORAL_CLI: the `temporal` binary.
set -eu

cli="${TEMPORAL_CLI:-temporal}"
namespace="${TEMPORAL_NAMESPACE:-default}"

timeout="${TEMPORAL_READY_TIMEOUT:-180}"
waited=0
until "$cli" operator cluster health >/dev/null 2>&1; do
  if [ "$waited" -ge "$timeout" ]; then
    "$cli" operator cluster health >&2 || true
    echo "temporal frontend at ${TEMPORAL_ADDRESS:-localhost:7233} not serving after ${timeout} s" >&2
    exit 1
  fi
  sleep 2
  waited=$((waited + 2))
done

if ! out=$("$cli" operator namespace create --namespace "$namespace" --retention "${TEMPORAL_NAMESPACE_RETENTION:-72h}" 2>&1); then
  case "$out" in
    *"already"*) echo "temporal namespace $namespace: kept" ;;
    *) echo "$out" >&2; exit 1 ;;
  esac
else
  echo "temporal namespace $namespace: registered"
fi

# Registered here by an operator's credentials, so the app needs no operator rights on the cluster (the API still
# checks them at start, and adds what is missing when it may).
for attribute in $(echo "${TEMPORAL_SEARCH_ATTRIBUTES:-}" | tr ',' ' '); do
  name="${attribute%%=*}"
  type="${attribute#*=}"
  # The server answers OK for an attribute it already has with that type: a second run changes nothing.
  "$cli" operator search-attribute create --namespace "$namespace" --name "$name" --type "$type" >/dev/null
  echo "search attribute $name ($type): registered"
done
