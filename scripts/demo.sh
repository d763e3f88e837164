#!/usr/bin/env bash
# The main job: set up, build, make the demo models, and explain the bundled
# demo instances of the tabular classifier with Integrated Gradients.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
scripts/fixtures.sh
model=build/fixtures/tabular_mlp
echo "== xaiserve inspect $model" >&2
build/xaiserve inspect "$model"
echo "== xaiserve explain $model --instances $model/instances.jsonl" >&2
build/xaiserve explain "$model" --instances "$model/instances.jsonl"
