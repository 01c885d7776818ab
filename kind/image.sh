#!/usr/bin/env bash
# make image: builds the controller image from the Dockerfile and prints its content-named tag
# (IMAGE_REPO:dev-<12 hex of the image id>; IMAGE_REPO:dev names the latest build too).
set -euo pipefail
# shellcheck source=kind/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_docker image
build_image
