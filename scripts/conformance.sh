#!/usr/bin/env bash
# make conformance: runs the upstream Gateway API conformance suite (Go module
# sigs.k8s.io/gateway-api/conformance v1.6.1) against the kind cluster of `make kind-up`, with a
# GatewayClass of our controllerName, and writes the conformance report.
#
#   scripts/conformance.sh [--build-only] [extra flags for the suite, e.g. -run-test=HTTPRouteSimpleSameNamespace]
#
# The suite's test binary is built once with the machine's Go toolchain into
# ${XDG_CACHE_HOME:-$HOME/.cache}/portico/conformance/<version>/ (a throwaway wrapper module that
# requires the conformance module; its own `replace sigs.k8s.io/gateway-api => ../` applies only inside
# the gateway-api repository, so the wrapper points that module at its published twin of the same
# version). `--build-only` builds it and prints its path; that needs no cluster.
#
# Settings (environment):
#   CONFORMANCE_GATEWAY_CLASS     GatewayClass to create and test (default portico)
#   CONFORMANCE_CONTROLLER_NAME   its controllerName (default gateway.envoyproxy.io/gatewayclass-controller)
#   CONFORMANCE_PROFILES          default GATEWAY-HTTP,GATEWAY-GRPC,GATEWAY-TLS
#   CONFORMANCE_EXEMPT_FEATURES   features to leave out of --all-features (comma-separated; default none)
#   CONFORMANCE_REPORT            the report file (default release/conformance-report.yaml; the log goes next to it)
#   KIND_CLUSTER_NAME             the kind cluster (default portico)
set -euo pipefail
# shellcheck source=kind/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../kind/lib.sh"

CONFORMANCE_VERSION="$GATEWAY_API_VERSION"
CONFORMANCE_MODULE="sigs.k8s.io/gateway-api/conformance"
TARGET="conformance"

build_only=false
if [[ "${1:-}" == "--build-only" ]]; then
  build_only=true
  shift
fi

# conformance_binary: prints the path of the suite's test binary, building it on first use.
conformance_binary() {
  local cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/portico/conformance"
  local dir="$cache_root/$CONFORMANCE_VERSION"
  if [[ -x "$dir/conformance.test" ]]; then
    printf '%s\n' "$dir/conformance.test"
    return
  fi
  command -v go >/dev/null 2>&1 ||
    die "no Go toolchain on PATH: make $TARGET builds the Gateway API conformance suite with Go >= 1.26"
  mkdir -p "$cache_root"
  exec 9>"$cache_root/.lock"
  flock 9
  if [[ -x "$dir/conformance.test" ]]; then
    printf '%s\n' "$dir/conformance.test"
    return
  fi
  rm -rf "$cache_root"/.build.*
  local work started=$SECONDS
  work="$(mktemp -d "$cache_root/.build.XXXXXX")"
  # shellcheck disable=SC2064 # expand now: the directory is this call's
  trap "rm -rf '$work'" EXIT
  log "building the Gateway API $CONFORMANCE_VERSION conformance suite from its Go module (first time only, takes a few minutes)"
  cat >"$work/go.mod" <<EOF
module portico.invalid/conformance

go 1.26

require (
	$CONFORMANCE_MODULE $CONFORMANCE_VERSION
	sigs.k8s.io/gateway-api $CONFORMANCE_VERSION
)

replace sigs.k8s.io/gateway-api => sigs.k8s.io/gateway-api $CONFORMANCE_VERSION
EOF
  cat >"$work/conformance_test.go" <<'EOF'
package conformance_test

import (
	"testing"

	"sigs.k8s.io/gateway-api/conformance"
)

// TestConformance runs the upstream suite; its flags (-gateway-class, -report-output, ...) are the suite's own.
func TestConformance(t *testing.T) {
	conformance.RunConformance(t)
}
EOF
  (
    cd "$work"
    export CGO_ENABLED=0 GOFLAGS="-mod=mod" GOWORK=off
    go mod tidy >&2
    go test -c -trimpath -o "$work/conformance.test" . >&2
  ) || die "could not build the conformance suite (is the Go module proxy $(go env GOPROXY) reachable?)"
  mkdir -p "$dir"
  mv "$work/conformance.test" "$dir/conformance.test"
  log "built the conformance suite in $((SECONDS - started))s: $dir/conformance.test"
  printf '%s\n' "$dir/conformance.test"
}

if [[ "$build_only" == true ]]; then
  conformance_binary
  exit 0
fi

require_docker "$TARGET"
require_command "$TARGET" kubectl "it creates the GatewayClass"
require_cluster "$TARGET"
suite="$(conformance_binary)"

gateway_class="${CONFORMANCE_GATEWAY_CLASS:-portico}"
controller_name="${CONFORMANCE_CONTROLLER_NAME:-gateway.envoyproxy.io/gatewayclass-controller}"
report="${CONFORMANCE_REPORT:-$ROOT/release/conformance-report.yaml}"
report="$(mkdir -p "$(dirname "$report")" && cd "$(dirname "$report")" && pwd)/$(basename "$report")"
version="$(sed -n 's/^export const PORTICO_VERSION = "\(.*\)"$/\1/p' "$ROOT/src/Version.ts")"
[[ -n "$version" ]] || die "cannot read PORTICO_VERSION from src/Version.ts"

kctl apply --server-side -f - >&2 <<EOF
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: $gateway_class
spec:
  controllerName: $controller_name
EOF
kctl wait "gatewayclass/$gateway_class" --for=condition=Accepted --timeout=120s >&2 ||
  die "GatewayClass $gateway_class is not Accepted: is the controller running? (make deploy)"

# The suite reads the current context of its kubeconfig: hand it the kind cluster's alone.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$(kind_bin)" get kubeconfig --name "$CLUSTER_NAME" >"$work/kubeconfig"

log "Gateway API $CONFORMANCE_VERSION conformance: GatewayClass $gateway_class, report $report"
status=0
KUBECONFIG="$work/kubeconfig" "$suite" -test.run '^TestConformance$' -test.v -test.timeout 90m \
  -gateway-class="$gateway_class" \
  -all-features \
  -exempt-features="${CONFORMANCE_EXEMPT_FEATURES:-}" \
  -conformance-profiles="${CONFORMANCE_PROFILES:-GATEWAY-HTTP,GATEWAY-GRPC,GATEWAY-TLS}" \
  -organization=portico -project=portico -url=https://github.com/portico/portico \
  -version="v$version" -contact=https://github.com/portico/portico/issues \
  -report-output="$report" \
  "$@" 2>&1 | tee "${report%.*}.log" || status=$?
if ((status != 0)); then
  log "conformance failed (exit $status); log: ${report%.*}.log"
  exit "$status"
fi
log "conformance report: $report"
