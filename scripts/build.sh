#!/usr/bin/env bash
# Configures (when needed: scripts/configure_once.sh) and builds xaiserve and its tests into build/.
# The binary lands at build/xaiserve. Assumes scripts/setup.sh has run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/configure_once.sh
configure_once . build -DCMAKE_BUILD_TYPE=Release
# Two jobs: the TensorFlow-header units need ~1 GB each and this is a 2-core box.
cmake --build build -j "${XAI_BUILD_JOBS:-2}" >&2
