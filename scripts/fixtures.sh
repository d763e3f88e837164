#!/usr/bin/env bash
# Builds the test and demo SavedModels into build/fixtures with the fixture
# generator, again only when the generator changed (a stamp holds its hash).
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/fixtures
want="$(cat fixtures/generate_fixtures.py requirements.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$out/.stamp" 2>/dev/null)" != "$want" ]; then
  echo "fixtures: generating SavedModels into $out (about a minute)" >&2
  rm -rf "$out.tmp"
  TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python fixtures/generate_fixtures.py "$out.tmp" >&2
  rm -rf "$out"
  mv "$out.tmp" "$out"
  echo "$want" > "$out/.stamp"
fi
