#!/usr/bin/env bash
# make kind-down: deletes the kind cluster of make kind-up (and with it everything in it).
set -euo pipefail
# shellcheck source=kind/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TARGET="kind-down"
require_docker "$TARGET"
if cluster_exists; then
  log "kind delete cluster --name $CLUSTER_NAME"
  "$(kind_bin)" delete cluster --name "$CLUSTER_NAME" >&2
else
  log "there is no kind cluster '$CLUSTER_NAME'; nothing to delete"
fi
