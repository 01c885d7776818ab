#!/usr/bin/env bash
# Prints the path of a `helm` binary, for `make chart` and the chart test (test/static/chart.test.ts).
#
#   - HELM set to an executable: that binary, nothing built.
#   - Otherwise helm is built once from its published Go module (helm.sh/helm/v4) with the machine's Go
#     toolchain into ${XDG_CACHE_HOME:-$HOME/.cache}/portico/helm/<version>/helm, outside the clone, so
#     fresh clones (CI) reuse it. The first build takes a few minutes; later calls print the path.
#
# The path is the only thing on stdout; progress goes to stderr. The build writes into a temporary
# directory that is renamed into place once the binary runs, so an interrupted build never leaves a
# half-filled cache, and a lock (flock) keeps concurrent callers from building twice.
#
# helm's go.mod has no replace directives, so `go install module/cmd/helm@version` builds it as
# released (the version stamped with the same -X flag as helm's own Makefile).
set -euo pipefail

HELM_VERSION="v4.3.1"
HELM_MODULE="helm.sh/helm/v4"

log() { printf '%s\n' "$*" >&2; }
die() {
  log "helm: $*"
  exit 1
}

if [[ -n "${HELM:-}" ]]; then
  [[ -x "$HELM" ]] || die "HELM=$HELM is not an executable file"
  printf '%s\n' "$HELM"
  exit 0
fi

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/portico/helm"
dir="$cache_root/$HELM_VERSION"

if [[ -x "$dir/helm" ]]; then
  printf '%s\n' "$dir/helm"
  exit 0
fi

command -v go >/dev/null 2>&1 ||
  die "no Go toolchain on PATH: install Go >= 1.26 to build helm $HELM_VERSION, or set HELM to a helm binary"

mkdir -p "$cache_root"
exec 9>"$cache_root/.lock"
if ! flock -n 9; then
  log "helm: another process is building helm; waiting for it ($cache_root/.lock)"
  flock 9
fi

# Built by whoever held the lock before us.
if [[ -x "$dir/helm" ]]; then
  printf '%s\n' "$dir/helm"
  exit 0
fi

# Holding the lock, any other build directory is a leftover of a killed build.
rm -rf "$cache_root"/.build.*
work="$(mktemp -d "$cache_root/.build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM HUP

started=$SECONDS
log "helm: building helm $HELM_VERSION from its Go module (first time only, takes a few minutes)…"
GOBIN="$work" CGO_ENABLED=0 GOFLAGS="-mod=mod" GOWORK=off \
  go install -trimpath -ldflags="-s -w -X $HELM_MODULE/internal/version.version=$HELM_VERSION" \
  "$HELM_MODULE/cmd/helm@$HELM_VERSION" ||
  die "go install $HELM_MODULE/cmd/helm@$HELM_VERSION failed (is the Go module proxy $(go env GOPROXY) reachable?)"

# It must run here; its version line is the proof (captured, not piped: no SIGPIPE).
version="$("$work/helm" version --short)" || die "the helm just built does not run"
log "helm: built $version in $((SECONDS - started))s"

rm -rf "$dir"
mkdir -p "$dir"
mv "$work/helm" "$dir/helm"
printf '%s\n' "$dir/helm"
