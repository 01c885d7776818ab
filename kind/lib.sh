#!/usr/bin/env bash
# Shared by kind/*.sh (sourced, not run): versions, preflight checks that fail fast with one clear
# line, the kind binary, the MetalLB address pool, and building/loading/installing the controller.
#
# Every versioned thing a kind cluster pulls is pinned here. Settings come from the environment:
#   KIND_CLUSTER_NAME    cluster name (default portico; the kubectl context is kind-<name>)
#   IMAGE_REPO           controller image repository (default ghcr.io/portico/portico)
#   GATEWAY_API_CHANNEL  standard | experimental (default experimental: the superset)
#   KIND                 a kind binary to use instead of the one on PATH / built from its Go module

# The settings below are read by the scripts that source this file.
# shellcheck disable=SC2034

KIND_VERSION="v0.33.0"
# kind v0.33.0's default node image (sigs.k8s.io/kind/pkg/apis/config/defaults), pinned by digest;
# kind/cluster.yaml names the same (test/static/kind.test.ts holds them together).
KIND_NODE_IMAGE="kindest/node:v1.37.0@sha256:a1ed56cfb0e7b93589bdf97c8cd566405a265939e3620fc4f5de89adff580ae5"
METALLB_VERSION="v0.16.2"
GATEWAY_API_VERSION="v1.6.1"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLUSTER_NAME="${KIND_CLUSTER_NAME:-portico}"
CONTEXT="kind-$CLUSTER_NAME"
IMAGE_REPO="${IMAGE_REPO:-ghcr.io/portico/portico}"
GATEWAY_API_CHANNEL="${GATEWAY_API_CHANNEL:-experimental}"
CONTROLLER_NAMESPACE="envoy-gateway-system"
CONTROLLER_DEPLOYMENT="envoy-gateway"
METALLB_POOL="portico"

METALLB_MANIFEST_URL="https://raw.githubusercontent.com/metallb/metallb/$METALLB_VERSION/config/manifests/metallb-native.yaml"
GATEWAY_API_MANIFEST_URL="https://github.com/kubernetes-sigs/gateway-api/releases/download/$GATEWAY_API_VERSION/$GATEWAY_API_CHANNEL-install.yaml"

log() { printf '>> %s\n' "$*" >&2; }
die() {
  printf '%s\n' "$*" >&2
  exit 1
}

# --- preflight: each check is one line on failure --------------------------------------------------

# require_docker TARGET: the docker CLI is installed and its engine answers.
require_docker() {
  command -v docker >/dev/null 2>&1 || die "docker is not installed: make $1 needs a Docker engine"
  timeout 20 docker info >/dev/null 2>&1 || die "docker is not running: make $1 needs a Docker engine"
}

# require_command TARGET COMMAND WHY
require_command() {
  command -v "$2" >/dev/null 2>&1 || die "$2 is not installed: make $1 needs it ($3)"
}

# require_internet TARGET: what kind-up downloads is reachable (the release files on github.com; the
# images come from registry.k8s.io, quay.io and docker.io through the Docker engine).
require_internet() {
  curl -fsS -o /dev/null --head --max-time 10 "https://github.com/" 2>/dev/null ||
    die "no internet access (https://github.com/ does not answer): make $1 downloads MetalLB $METALLB_VERSION, the Gateway API $GATEWAY_API_VERSION CRDs and container images"
}

# kind_bin: prints a kind binary: $KIND, the one on PATH, or one built once from its Go module into
# ${XDG_CACHE_HOME:-$HOME/.cache}/portico/kind/<version>/ (like scripts/helm.sh does for helm).
kind_bin() {
  if [[ -n "${KIND:-}" ]]; then
    [[ -x "$KIND" ]] || die "KIND=$KIND is not an executable file"
    printf '%s\n' "$KIND"
    return
  fi
  if command -v kind >/dev/null 2>&1; then
    command -v kind
    return
  fi
  local dir="${XDG_CACHE_HOME:-$HOME/.cache}/portico/kind/$KIND_VERSION"
  if [[ ! -x "$dir/kind" ]]; then
    command -v go >/dev/null 2>&1 ||
      die "kind is not installed and there is no Go toolchain to build it: install kind $KIND_VERSION or Go >= 1.26"
    log "building kind $KIND_VERSION from its Go module into $dir (first time only)"
    mkdir -p "$dir"
    GOBIN="$dir" CGO_ENABLED=0 GOFLAGS="-mod=mod" GOWORK=off go install -trimpath "sigs.k8s.io/kind@$KIND_VERSION" >&2 ||
      die "could not build kind $KIND_VERSION (go install sigs.k8s.io/kind@$KIND_VERSION failed)"
  fi
  printf '%s\n' "$dir/kind"
}

# cluster_exists: the kind cluster is there (docker must be running).
cluster_exists() {
  local kind
  kind="$(kind_bin)" || exit 1
  "$kind" get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"
}

# require_cluster TARGET: the kind cluster exists and its API server answers.
require_cluster() {
  cluster_exists || die "there is no kind cluster '$CLUSTER_NAME': make $1 needs one, run make kind-up first"
  kctl get --raw /readyz >/dev/null 2>&1 ||
    die "the API server of kind cluster '$CLUSTER_NAME' (context $CONTEXT) does not answer: restart its containers or run make kind-down kind-up"
}

# kubectl, always against the kind cluster's context.
kctl() { kubectl --context "$CONTEXT" "$@"; }

# The project's CLI (bin/portico runs src/main.ts on the toolchain's Node); `make setup` first.
portico() { "$ROOT/bin/portico" "$@"; }

ensure_setup() {
  make -C "$ROOT" --no-print-directory setup >&2
}

# --- MetalLB address pool --------------------------------------------------------------------------

ip_to_int() {
  local a b c d
  IFS=. read -r a b c d <<<"$1"
  printf '%s\n' "$(((a << 24) | (b << 16) | (c << 8) | d))"
}

int_to_ip() {
  local n=$1
  printf '%s.%s.%s.%s\n' $(((n >> 24) & 255)) $(((n >> 16) & 255)) $(((n >> 8) & 255)) $((n & 255))
}

# pool_range CIDR: the last 51 addresses of an IPv4 subnet but its top 5 (docker hands addresses out
# from the bottom), as "first-last"; e.g. 172.18.0.0/16 -> 172.18.255.200-172.18.255.250.
pool_range() {
  local cidr=$1 address prefix
  address="${cidr%/*}"
  prefix="${cidr#*/}"
  [[ "$address" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ && "$prefix" =~ ^[0-9]+$ ]] || die "not an IPv4 subnet: $cidr"
  ((prefix <= 24)) || die "the docker network's subnet $cidr is too small for a MetalLB pool (needs /24 or larger)"
  local size=$((1 << (32 - prefix)))
  local network=$(($(ip_to_int "$address") & ~(size - 1) & 0xFFFFFFFF))
  printf '%s-%s\n' "$(int_to_ip $((network + size - 56)))" "$(int_to_ip $((network + size - 6)))"
}

# kind_subnet: the IPv4 subnet of docker's `kind` network (created by kind for its nodes).
kind_subnet() {
  local subnet
  subnet="$(docker network inspect kind --format '{{range .IPAM.Config}}{{println .Subnet}}{{end}}' | grep -m1 -E '^[0-9]+\.')" ||
    die "docker's kind network has no IPv4 subnet"
  printf '%s\n' "$subnet"
}

# --- the controller --------------------------------------------------------------------------------

# build_image: builds the controller image from the Dockerfile and prints a tag naming its content
# (dev-<12 hex of the image id>), so a rebuild with changes rolls the Deployment and one without does not.
build_image() {
  log "docker build -t $IMAGE_REPO:dev ($ROOT)"
  docker build --tag "$IMAGE_REPO:dev" "$ROOT" >&2 || die "docker build failed (see above)"
  local id
  id="$(docker image inspect --format '{{.Id}}' "$IMAGE_REPO:dev")"
  id="${id#sha256:}"
  local tag="$IMAGE_REPO:dev-${id:0:12}"
  docker tag "$IMAGE_REPO:dev" "$tag"
  printf '%s\n' "$tag"
}

# deploy_controller IMAGE: loads the image into the kind nodes, applies the install manifest with that
# image (server-side) and waits for the rollout.
deploy_controller() {
  local image=$1 out
  log "kind load docker-image $image"
  local kind
  kind="$(kind_bin)" || exit 1
  "$kind" load docker-image "$image" --name "$CLUSTER_NAME" >&2
  out="$(mktemp -d)"
  portico synth -o "$out" --image "$image" >&2
  log "kubectl apply --server-side -f install.yaml (image $image)"
  kctl apply --server-side --force-conflicts --field-manager=portico-kind -f "$out/install.yaml" >&2
  rm -rf "$out"
  kctl -n "$CONTROLLER_NAMESPACE" rollout status "deployment/$CONTROLLER_DEPLOYMENT" --timeout=300s >&2 ||
    die "the controller did not become ready: kubectl --context $CONTEXT -n $CONTROLLER_NAMESPACE logs deployment/$CONTROLLER_DEPLOYMENT"
}
