#!/usr/bin/env bash
# The main job: set up, build, make the demo models, and serve them over HTTP
# (a tabular, an image and a text classifier). The server prints its URL and
# a curl command to try; Ctrl-C stops it once requests in flight finish.
# Flags go to `xaiserve serve`, e.g. scripts/demo.sh --port 9000.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
scripts/fixtures.sh
echo "== xaiserve serve $* (the demo models in build/fixtures)" >&2
# TensorFlow's log level (xaiserve sets 2 itself when it is unset, hiding its
# start-up INFO lines; TF_CPP_MIN_LOG_LEVEL=0 scripts/demo.sh shows them).
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
exec build/xaiserve serve "$@"
