#!/usr/bin/env bash
# The benchmark (issue #6): builds xaiserve and the bench helpers, makes the
# test fixtures and the benchmark models (build/bench-fixtures: a 224x224
# MobileNetV2, again only when the generator changed), then runs bench/run.py,
# which writes bench/results.json and bench/RESULTS.md from its measurements.
# Flags go to bench/run.py (e.g. --quick, --models tabular_mlp,cnn).
# Assumes scripts/setup.sh has run (scripts/demo.sh and scripts/test.sh run it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
scripts/fixtures.sh
out=build/bench-fixtures
want="$(cat fixtures/generate_fixtures.py requirements.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$out/.stamp" 2>/dev/null)" != "$want" ]; then
  echo "bench: generating the benchmark models into $out (about a minute)" >&2
  rm -rf "$out.tmp"
  TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python fixtures/generate_fixtures.py "$out.tmp" --bench >&2
  rm -rf "$out"
  mv "$out.tmp" "$out"
  echo "$want" > "$out/.stamp"
fi
exec .venv/bin/python bench/run.py "$@"
