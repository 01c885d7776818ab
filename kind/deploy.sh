#!/usr/bin/env bash
# make deploy: rebuilds the controller image, loads it into the kind cluster and rolls the controller
# Deployment onto it (the image tag names the image's content, so an unchanged build rolls nothing).
set -euo pipefail
# shellcheck source=kind/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TARGET="deploy"
require_docker "$TARGET"
require_command "$TARGET" kubectl "it applies the install manifest"
require_cluster "$TARGET"
ensure_setup

image="$(build_image)"
deploy_controller "$image"
log "controller rolled to $image"
