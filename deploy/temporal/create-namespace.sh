#!/bin/sh
# Registers the app's namespace once the frontend answers (idempotent: an existing one is kept as it is). The same
# script runs in `npm run cluster` and in docker-compose.yml's temporal-namespace job.
#
# Env: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE (default), TEMPORAL_NAMESPACE_RETENTION (72h), the Temporal CLI's own
# TLS settings (TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH, TEMPORAL_TLS_SERVER_CA_CERT_PATH,
# TEMPORAL_TLS_SERVER_NAME); TEMPORAL_CLI: the `temporal` binary.
set -eu

cli="${TEMPORAL_CLI:-temporal}"
namespace="${TEMPORAL_NAMESPACE:-default}"

tries=0
until "$cli" operator cluster health >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge 90 ]; then
    "$cli" operator cluster health >&2 || true
    echo "temporal frontend at ${TEMPORAL_ADDRESS:-localhost:7233} not serving after 180 s" >&2
    exit 1
  fi
  sleep 2
done

if ! out=$("$cli" operator namespace create --namespace "$namespace" --retention "${TEMPORAL_NAMESPACE_RETENTION:-72h}" 2>&1); then
  case "$out" in
    *"already"*) echo "temporal namespace $namespace: kept" ;;
    *) echo "$out" >&2; exit 1 ;;
  esac
else
  echo "temporal namespace $namespace: registered"
fi
