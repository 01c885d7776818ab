#!/usr/bin/env bash
# make quickstart: applies examples/quickstart.yaml to the kind cluster (namespace default, or
# QUICKSTART_NAMESPACE), waits for the Gateway to be Programmed with its MetalLB address, and curls the
# echo backend through Envoy with `Host: www.example.com`, as Envoy Gateway's quickstart does.
set -euo pipefail
# shellcheck source=kind/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TARGET="quickstart"
NAMESPACE="${QUICKSTART_NAMESPACE:-default}"
require_docker "$TARGET"
require_command "$TARGET" kubectl "it applies the quickstart"
require_command "$TARGET" curl "it sends the request through the Gateway"
require_cluster "$TARGET"

log "kubectl apply --server-side -n $NAMESPACE -f examples/quickstart.yaml"
kctl get namespace "$NAMESPACE" >/dev/null 2>&1 || kctl create namespace "$NAMESPACE" >&2
kctl apply --server-side -n "$NAMESPACE" -f "$ROOT/examples/quickstart.yaml" >&2
kctl -n "$NAMESPACE" rollout status deployment/backend --timeout=300s >&2
kctl -n "$NAMESPACE" wait gateway/eg --for=condition=Programmed --timeout=300s >&2 ||
  die "Gateway $NAMESPACE/eg is not Programmed: kubectl --context $CONTEXT -n $NAMESPACE describe gateway eg"

address="$(kctl -n "$NAMESPACE" get gateway/eg -o jsonpath='{.status.addresses[0].value}')"
[[ -n "$address" ]] || die "Gateway $NAMESPACE/eg has no address in its status (is MetalLB running?)"

# The route reaches Envoy shortly after the Gateway is Programmed: retry for up to a minute.
log "curl --header 'Host: www.example.com' http://$address/get"
for attempt in $(seq 1 60); do
  if body="$(curl -fsS --max-time 5 --header "Host: www.example.com" "http://$address/get" 2>/dev/null)"; then
    printf '%s\n' "$body"
    log "the quickstart answers through Gateway $NAMESPACE/eg at $address"
    exit 0
  fi
  ((attempt < 60)) || break
  sleep 1
done
die "no 200 from http://$address/get with Host www.example.com within 60s: kubectl --context $CONTEXT -n $NAMESPACE describe httproute backend"
