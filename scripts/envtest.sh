#!/usr/bin/env bash
# Prints a directory holding `kube-apiserver` and `etcd`, for the integration tests that run against a
# real Kubernetes API server (test/support/kube/EnvTest.ts).
#
#   - KUBEBUILDER_ASSETS set and holding both binaries: that directory, nothing built.
#   - Otherwise both are built once from their published Go modules with the machine's Go toolchain
#     into ${XDG_CACHE_HOME:-$HOME/.cache}/portico/envtest/<kubernetes>-etcd<etcd>/, outside the clone,
#     so fresh clones (CI) reuse them. The first build takes minutes; later calls print the directory.
#
# The directory is the only thing on stdout; progress goes to stderr. Builds happen in a temporary
# directory that is renamed into place when both binaries exist, so an interrupted build never leaves a
# half-filled cache, and a lock (flock) keeps concurrent callers from building twice.
#
# kube-apiserver cannot be `go install`ed: k8s.io/kubernetes points its k8s.io/* staging modules at
# ./staging with replace directives, which only apply inside its own repository. So it is built from a
# throwaway wrapper module that requires k8s.io/kubernetes and replaces each staging module with its
# published twin (k8s.io/api v0.35.8 for Kubernetes v1.35.8, ...). etcd's server module does the same for
# its sibling modules, but requires them at the same published version, so requiring it is enough.
set -euo pipefail

KUBERNETES_VERSION="v1.35.8"
ETCD_VERSION="v3.6.16"

log() { printf '%s\n' "$*" >&2; }
die() {
  log "envtest: $*"
  exit 1
}

has_binaries() { [[ -x "$1/kube-apiserver" && -x "$1/etcd" ]]; }

if [[ -n "${KUBEBUILDER_ASSETS:-}" ]]; then
  if has_binaries "$KUBEBUILDER_ASSETS"; then
    printf '%s\n' "$KUBEBUILDER_ASSETS"
    exit 0
  fi
  log "envtest: KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS has no executable kube-apiserver and etcd; using the Go-built cache instead"
fi

cache_root="${XDG_CACHE_HOME:-$HOME/.cache}/portico/envtest"
assets="$cache_root/${KUBERNETES_VERSION#v}-etcd${ETCD_VERSION#v}"

if has_binaries "$assets"; then
  printf '%s\n' "$assets"
  exit 0
fi

command -v go >/dev/null 2>&1 ||
  die "no Go toolchain on PATH: install Go >= 1.26 to build kube-apiserver and etcd, or set KUBEBUILDER_ASSETS to a directory holding both"

mkdir -p "$cache_root"
exec 9>"$cache_root/.lock"
if ! flock -n 9; then
  log "envtest: another process is building the envtest binaries; waiting for it ($cache_root/.lock)"
  flock 9
fi

# Built by whoever held the lock before us.
if has_binaries "$assets"; then
  printf '%s\n' "$assets"
  exit 0
fi

# Holding the lock, any other build directory is a leftover of a killed build.
rm -rf "$cache_root"/.build.*
work="$(mktemp -d "$cache_root/.build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM HUP
mkdir -p "$work/out"

export CGO_ENABLED=0 GOFLAGS="-mod=mod" GOWORK=off
build_flags=(-trimpath)

# The `go` directive of a module's go.mod ($1), for the wrapper module to match.
go_directive() { awk '$1 == "go" { print $2; exit }' "$1"; }

# The go.mod of a module version ($1@$2), fetched into the module cache (the .mod only, not the zip).
module_gomod() {
  local gomod
  gomod="$(go mod download -json "$1@$2" | awk -F'"' '$2 == "GoMod" { print $4 }')"
  [[ -n "$gomod" && -f "$gomod" ]] || die "could not download $1@$2 through $(go env GOPROXY)"
  printf '%s\n' "$gomod"
}

build_kube_apiserver() {
  local module="$work/kube-apiserver" gomod staging_version="v0.${KUBERNETES_VERSION#v1.}" started=$SECONDS
  log "envtest: building kube-apiserver $KUBERNETES_VERSION from Go modules (first time only, takes a few minutes)…"
  gomod="$(module_gomod k8s.io/kubernetes "$KUBERNETES_VERSION")"
  mkdir -p "$module"
  {
    printf 'module portico.invalid/envtest/kube-apiserver\n\ngo %s\n\n' "$(go_directive "$gomod")"
    # Keep the GODEBUG defaults Kubernetes is built and tested with.
    awk '$1 == "godebug" { print } END { print "" }' "$gomod"
    printf 'require k8s.io/kubernetes %s\n\nreplace (\n' "$KUBERNETES_VERSION"
    # Every staging module that k8s.io/kubernetes both requires and replaces with ./staging/src/...
    awk -v version="$staging_version" '
      /^require[ \t]*\(/ { inRequire = 1; next }
      /^replace[ \t]*\(/ { inReplace = 1; next }
      /^\)/ { inRequire = 0; inReplace = 0; next }
      inRequire && $1 ~ /^k8s\.io\// { required[$1] = 1 }
      inReplace && $2 == "=>" && $3 ~ /^\.\/staging\// { staging[$1] = 1 }
      END { for (m in staging) if (m in required) printf "\t%s => %s %s\n", m, m, version }
    ' "$gomod" | sort
    printf ')\n'
  } >"$module/go.mod"
  (
    cd "$module"
    local minor="${KUBERNETES_VERSION#v1.}"
    minor="${minor%%.*}"
    local pkg=k8s.io/component-base/version
    go build "${build_flags[@]}" -o "$work/out/kube-apiserver" -ldflags="-s -w \
      -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor \
      -X $pkg.gitTreeState=clean -X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
      k8s.io/kubernetes/cmd/kube-apiserver
  )
  log "envtest: built kube-apiserver $KUBERNETES_VERSION in $((SECONDS - started))s"
}

build_etcd() {
  local module="$work/etcd" gomod started=$SECONDS
  log "envtest: building etcd $ETCD_VERSION from Go modules (first time only, takes a minute or two)…"
  gomod="$(module_gomod go.etcd.io/etcd/server/v3 "$ETCD_VERSION")"
  mkdir -p "$module"
  printf 'module portico.invalid/envtest/etcd\n\ngo %s\n\nrequire go.etcd.io/etcd/server/v3 %s\n' \
    "$(go_directive "$gomod")" "$ETCD_VERSION" >"$module/go.mod"
  (
    cd "$module"
    go build "${build_flags[@]}" -o "$work/out/etcd" -ldflags="-s -w" go.etcd.io/etcd/server/v3
  )
  log "envtest: built etcd $ETCD_VERSION in $((SECONDS - started))s"
}

started=$SECONDS
build_etcd
build_kube_apiserver
# Both must run here; their first line of --version is the proof (captured, not piped: no SIGPIPE).
versions="$("$work/out/kube-apiserver" --version)" || die "the kube-apiserver just built does not run"
log "envtest: ${versions%%$'\n'*}"
versions="$("$work/out/etcd" --version)" || die "the etcd just built does not run"
log "envtest: ${versions%%$'\n'*}"

# A leftover directory without both binaries (not ours: we only ever rename complete ones) is replaced.
rm -rf "$assets"
mv "$work/out" "$assets"
log "envtest: kube-apiserver and etcd ready in $assets (built in $((SECONDS - started))s)"
printf '%s\n' "$assets"
