#!/usr/bin/env bash
# Builds the test and demo SavedModels into build/fixtures with the fixture
# generator, again only when the generator changed or the models on disk are
# not the ones it made (a stamp holds the generator's hash and a hash of every
# file's name and size). Two runs at once take turns (a lock), and each
# generates into a directory of its own before it replaces build/fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/fixtures
mkdir -p build
exec 9> build/.fixtures.lock
flock 9
manifest() { (cd "$out" && find . -type f ! -name .stamp -printf '%P %s\n' | LC_ALL=C sort | sha256sum | cut -d' ' -f1); }
want="$(cat fixtures/generate_fixtures.py requirements.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$out/.stamp" 2>/dev/null)" != "$want $(manifest 2>/dev/null)" ]; then
  echo "fixtures: generating SavedModels into $out (about a minute)" >&2
  work="$(mktemp -d "$out.tmp.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python fixtures/generate_fixtures.py "$work" >&2
  rm -rf "$out"
  mv "$work" "$out"
  echo "$want $(manifest)" > "$out/.stamp"
fi
