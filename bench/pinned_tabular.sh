#!/usr/bin/env bash
# By hand, what RESULTS.md's noisy rounds blur: tabular IG per explanation,
# pinned to one CPU, in three processes each of `xaiserve explain` (20,000
# explanations of the first instance), the floor and the lean IG (3000 runs),
# medians after the first 200. Prints microseconds and xaiserve / floor.
# Needs scripts/build.sh and scripts/fixtures.sh first; takes about a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
model=build/fixtures/tabular_mlp
cpu="${XAI_PIN_CPU:-1}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
head -1 "$model/instances.jsonl" > "$work/one.jsonl"
for _ in $(seq 20000); do cat "$work/one.jsonl"; done > "$work/instances.jsonl"
median_after_200() { .venv/bin/python -c "import statistics,sys; v=[float(x) for x in open(sys.argv[1]).read().split()][200:]; print('%.1f' % (1e6 * statistics.median(v)))" "$1"; }
median_ms() { .venv/bin/python -c "import json,sys; print('%.1f' % (1000 * json.load(open(sys.argv[1]))['median_ms']))" "$1"; }
for round in 1 2 3; do
  taskset -c "$cpu" build/xaiserve explain "$model" --instances "$work/instances.jsonl" --timings "$work/t.txt" > /dev/null 2>&1
  taskset -c "$cpu" build/xaiserve_bench_floor "$model" --instances "$model/instances.jsonl" --points 51 --repeats 3000 --warmup 200 > "$work/floor.json" 2>/dev/null
  taskset -c "$cpu" build/xaiserve_bench_floor "$model" --instances "$model/instances.jsonl" --points 51 --repeats 3000 --warmup 200 --lean-ig > "$work/lean.json" 2>/dev/null
  x="$(median_after_200 "$work/t.txt")"; f="$(median_ms "$work/floor.json")"; l="$(median_ms "$work/lean.json")"
  echo "round $round: xaiserve $x us, floor $f us, lean IG $l us, xaiserve / floor $(.venv/bin/python -c "print('%.2f' % ($x / $f))")"
done
