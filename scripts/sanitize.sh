#!/usr/bin/env bash
# Builds the TensorFlow-free libraries and their unit tests with
# AddressSanitizer and UndefinedBehaviorSanitizer (CMake option XAI_SANITIZE,
# g++ like the regular build, into build-sanitize/) and runs every test. Any
# memory error, leak or undefined behaviour fails the run. runtime_test and
# the xaiserve binary need TensorFlow, whose libraries are not instrumented:
# they are left out (the regular build tests them).
#
# Each test binary runs once, all its tests in one process (ctest would start
# one sanitized process per test: ten times slower). Extra arguments go to
# every binary, e.g. scripts/sanitize.sh --gtest_filter='*Metadata*'; for one
# binary: build-sanitize/api_test. Assumes scripts/setup.sh has run.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/configure_once.sh
configure_once . build-sanitize -DCMAKE_BUILD_TYPE=Release -DXAI_SANITIZE=ON
cmake --build build-sanitize -j "${XAI_BUILD_JOBS:-2}" >&2

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1:strict_init_order=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
# The test binaries, as ctest knows them (every xai_test target of the build).
mapfile -t binaries < <(cd build-sanitize && ctest --show-only=json-v1 | python3 -c '
import json, sys
print("\n".join(sorted({t["command"][0] for t in json.load(sys.stdin)["tests"] if t.get("command")})))')
if ((${#binaries[@]} == 0)); then
  echo "sanitize: no test binaries found in build-sanitize/" >&2
  exit 1
fi
passed=0
for binary in "${binaries[@]}"; do
  name="$(basename "$binary")"
  log="build-sanitize/$name.log"
  if ! "$binary" --gtest_brief=1 "$@" >"$log" 2>&1; then
    tail -n 80 "$log" >&2
    echo "sanitize: $name FAILED under ASan+UBSan (full log: $log)" >&2
    exit 1
  fi
  count="$(grep -a -E '^\[  PASSED  \] [0-9]+ test' "$log" | grep -oE '[0-9]+' | head -n 1 || true)"
  passed=$((passed + ${count:-0}))
done
echo "sanitize: $passed tests passed in ${#binaries[@]} binaries under ASan+UBSan (build-sanitize/)" >&2
