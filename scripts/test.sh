#!/usr/bin/env bash
# Every test: set up, build, make the fixtures, run the C++ unit tests
# (ctest), the same tests without TensorFlow under ASan+UBSan, a bounded fuzz
# run, and the end-to-end tests against real SavedModels (pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
scripts/fixtures.sh
echo "== C++ tests (ctest)" >&2
(cd build && ctest --output-on-failure -j 2)
echo "== C++ tests under AddressSanitizer + UBSan, without TensorFlow (build-sanitize/)" >&2
scripts/sanitize.sh
echo "== fuzzing: request decoder, metadata parser, tensor JSON, image uploads, 30 s (build-fuzz/)" >&2
scripts/fuzz.sh all 30
echo "== end-to-end tests (pytest)" >&2
TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python -m pytest -q tests/e2e "$@"
