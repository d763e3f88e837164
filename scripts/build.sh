#!/usr/bin/env bash
# Configures (once) and builds xaiserve and its tests into build/.
# The binary lands at build/xaiserve. Assumes scripts/setup.sh has run.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
fi
# Two jobs: the TensorFlow-header units need ~1 GB each and this is a 2-core box.
cmake --build build -j "${XAI_BUILD_JOBS:-2}" >&2
