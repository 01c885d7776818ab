#!/usr/bin/env bash
# make kind-up: a kind cluster with MetalLB, the Gateway API CRDs and the Portico controller, ready to
# serve Gateways with LoadBalancer addresses reachable from this machine (Linux: docker's kind network
# is routed to the host). Idempotent: rerunning it keeps the cluster and re-applies everything.
#
#   1. kind cluster `portico` from kind/cluster.yaml (created unless it exists)
#   2. MetalLB (native manifests, pinned) and an IPAddressPool + L2Advertisement carved from the
#      subnet of docker's `kind` network
#   3. Gateway API CRDs from the upstream release (pinned)
#   4. the controller image built from the Dockerfile, loaded into the nodes, the install manifest
#      (portico synth) applied with it, and the rollout awaited
#
# Needs Docker and internet access; without them it stops at once with one line saying what is missing.
set -euo pipefail
# shellcheck source=kind/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TARGET="kind-up"
require_docker "$TARGET"
require_command "$TARGET" kubectl "it applies the manifests"
require_command "$TARGET" curl "it checks internet access"
require_internet "$TARGET"
KIND_BIN="$(kind_bin)"
ensure_setup

started=$SECONDS

# 1. The cluster.
if cluster_exists; then
  log "kind cluster '$CLUSTER_NAME' exists; reusing it"
else
  log "kind create cluster --name $CLUSTER_NAME ($KIND_NODE_IMAGE)"
  "$KIND_BIN" create cluster --name "$CLUSTER_NAME" --config "$ROOT/kind/cluster.yaml" --wait 180s >&2
fi
kctl cluster-info >/dev/null || die "the kind cluster '$CLUSTER_NAME' does not answer on context $CONTEXT"

# 2. MetalLB and its pool.
log "MetalLB $METALLB_VERSION ($METALLB_MANIFEST_URL)"
kctl apply --server-side --force-conflicts -f "$METALLB_MANIFEST_URL" >&2
kctl -n metallb-system rollout status deployment/controller --timeout=300s >&2
kctl -n metallb-system rollout status daemonset/speaker --timeout=300s >&2

subnet="$(kind_subnet)"
range="$(pool_range "$subnet")"
log "MetalLB pool $METALLB_POOL: $range (docker network kind: $subnet)"
pool_manifest="$(
  cat <<EOF
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: $METALLB_POOL
  namespace: metallb-system
spec:
  addresses:
    - $range
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata:
  name: $METALLB_POOL
  namespace: metallb-system
spec:
  ipAddressPools:
    - $METALLB_POOL
EOF
)"
# MetalLB's validating webhook answers a little after its controller reports ready.
for attempt in $(seq 1 30); do
  if printf '%s\n' "$pool_manifest" | kctl apply --server-side --force-conflicts -f - >&2; then
    break
  fi
  ((attempt < 30)) || die "MetalLB's webhook did not accept the address pool in time"
  sleep 5
done

# 3. Gateway API CRDs.
log "Gateway API $GATEWAY_API_VERSION CRDs, $GATEWAY_API_CHANNEL channel ($GATEWAY_API_MANIFEST_URL)"
kctl apply --server-side --force-conflicts -f "$GATEWAY_API_MANIFEST_URL" >&2
kctl wait --for=condition=Established --timeout=120s \
  crd/gatewayclasses.gateway.networking.k8s.io crd/gateways.gateway.networking.k8s.io \
  crd/httproutes.gateway.networking.k8s.io crd/grpcroutes.gateway.networking.k8s.io >&2

# 4. The controller.
image="$(build_image)"
deploy_controller "$image"

log "ready in $((SECONDS - started))s: kubectl context $CONTEXT, controller $image, LoadBalancer pool $range"
log "next: make quickstart (the quickstart Gateway and a curl through it), make e2e, make conformance"
