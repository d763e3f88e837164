#!/usr/bin/env bash
# Installs what building and testing xaiserve needs, and nothing twice:
#   - Debian packages (compiler, CMake/Ninja, JSON, HTTP server and test libraries),
#   - the Python environment in .venv/ (the pinned TensorFlow wheel, which
#     also ships the C++ libraries and headers we link, plus fixture tools).
# Fast when everything is already there (a stamp records what .venv holds).
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(g++ cmake ninja-build pkg-config python3-venv nlohmann-json3-dev libgtest-dev libcpp-httplib-dev)
# Headless Chromium and its WebDriver, for the web page's browser test (tests/e2e/test_web_browser.py).
APT_PACKAGES+=(chromium chromium-driver)
APT_PACKAGES+=(libpng-dev libjpeg62-turbo-dev)  # PNG/JPEG codecs of the pictures and image uploads (src/render)
APT_PACKAGES+=(libtcmalloc-minimal4)  # the allocator xaiserve links (CMakeLists.txt: xai_use_tcmalloc)
APT_PACKAGES+=(iproute2)  # ss, which tests/e2e/test_server_http.py reads the listen backlog with
APT_PACKAGES+=(clang libclang-rt-14-dev)  # libFuzzer and clang's sanitizer runtimes, for fuzz/ (scripts/fuzz.sh)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}" >&2
fi

PYTHON=${PYTHON:-python3}
want="$(cat requirements.txt requirements-no-deps.txt | sha256sum | cut -d' ' -f1)"
# A .venv whose Python no longer runs (the system's was upgraded or removed),
# or that a stopped first run left without pip, is made again from scratch.
if [ -e .venv ] && ! { .venv/bin/python -c "" 2>/dev/null && [ -x .venv/bin/pip ]; }; then
  echo "setup: .venv is broken (its python does not run, or it has no pip): making it again" >&2
  rm -rf .venv
fi
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.requirements-stamp 2>/dev/null)" != "$want" ]; then
  echo "setup: creating .venv with the pinned requirements (TensorFlow wheel, ~1-2 min)" >&2
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  .venv/bin/pip install -q --upgrade pip >&2
  .venv/bin/pip install -q -r requirements.txt >&2
  .venv/bin/pip install -q --no-deps -r requirements-no-deps.txt >&2
  echo "$want" > .venv/.requirements-stamp
fi
