#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, into build-fuzz/, with clang and
# ASan+UBSan, no TensorFlow) and fuzzes one target or all of them for a
# bounded time. Fails if a target crashes, leaks, hangs, hits undefined
# behaviour or breaks one of its round-trip properties, naming the saved input.
#
#   scripts/fuzz.sh [TARGET|all] [SECONDS] [libFuzzer flags...]
#     TARGET: request_decoder, metadata_parser, tensor_json, image_upload
#       (default: all)
#     SECONDS: wall-clock bound per target (default 30, what the test suite
#       uses); with "all" the targets run side by side on the cores
#   e.g. scripts/fuzz.sh request_decoder 600
#        scripts/fuzz.sh metadata_parser 3600 -max_len=65536
#
# Seeds are fuzz/corpus/TARGET/ (checked in, never written); what the fuzzer
# finds interesting accumulates in build-fuzz/corpus/TARGET/, so longer and
# repeated runs build on each other. A crashing input is saved as
# build-fuzz/crashes/TARGET-crash-*; replay it with
#   build-fuzz/TARGET_fuzzer build-fuzz/crashes/TARGET-crash-...
# Assumes scripts/setup.sh has run (clang and its fuzzer runtime).
set -euo pipefail
cd "$(dirname "$0")/.."

TARGETS=(request_decoder metadata_parser tensor_json image_upload)
which="${1:-all}"
seconds="${2:-30}"
shift $(($# > 2 ? 2 : $#))
if [ "$which" = all ]; then
  run=("${TARGETS[@]}")
elif [[ " ${TARGETS[*]} " == *" $which "* ]]; then
  run=("$which")
else
  echo "fuzz: unknown target '$which'; targets: ${TARGETS[*]} (or all)" >&2
  exit 2
fi

source scripts/configure_once.sh
configure_once fuzz build-fuzz -DCMAKE_CXX_COMPILER=clang++
cmake --build build-fuzz -j "${XAI_BUILD_JOBS:-2}" >&2

# Leaks fail the run; UBSan already aborts (-fno-sanitize-recover).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
mkdir -p build-fuzz/crashes

# Runs one target for the time bound; its output goes to build-fuzz/TARGET.log.
fuzz_one() {
  local target="$1"; shift
  mkdir -p "build-fuzz/corpus/$target"
  local dict=(-dict=fuzz/json.dict)  # JSON tokens and field names; images have none
  [ "$target" = image_upload ] && dict=()
  # -seed: the same corpus gives the same run (up to the time bound).
  # -timeout: one input taking 10 s is a hang, reported like a crash.
  "build-fuzz/${target}_fuzzer" "build-fuzz/corpus/$target" "fuzz/corpus/$target" \
    "${dict[@]}" -max_total_time="$seconds" -seed=1 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="build-fuzz/crashes/$target-" -print_final_stats=1 "$@" >"build-fuzz/$target.log" 2>&1
}

# The targets run side by side (they share the cores; the time bound is per
# target and wall-clock), then each is reported.
pids=()
for target in "${run[@]}"; do
  fuzz_one "$target" "$@" &
  pids+=($!)
done
failed=0
for i in "${!run[@]}"; do
  target="${run[$i]}"
  log="build-fuzz/$target.log"
  if ! wait "${pids[$i]}"; then
    tail -n 60 "$log" >&2
    echo "fuzz: $target FAILED (full log: $log; reproducer: build-fuzz/crashes/$target-*)" >&2
    failed=1
    continue
  fi
  # "#123456	DONE   cov: 812 ft: 3120 corp: 240/18Kb lim: 4096 exec/s: 6172 rss: 80Mb"
  done_line="$(grep -a -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1 || true)"
  runs="$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$done_line")"
  cov="$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$done_line")"
  ft="$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$done_line")"
  corp="$(sed -nE 's/.* corp: ([0-9]+)\/.*/\1/p' <<<"$done_line")"
  rate="$(sed -nE 's/.* exec\/s: ([0-9]+).*/\1/p' <<<"$done_line")"
  echo "fuzz: $target: ${runs:-?} runs in ${seconds} s (${rate:-?} exec/s), coverage ${cov:-?} edges / ${ft:-?} features, corpus ${corp:-?} inputs, no crash" >&2
done
exit "$failed"
