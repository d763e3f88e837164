# Sourced by build.sh, sanitize.sh and fuzz.sh: configure_once SOURCE BUILD
# [CMAKE ARGS...] runs CMake's configure step into BUILD when it is needed,
# and only then:
#   - BUILD has no build.ninja yet;
#   - BUILD was configured for another source directory (the repository was
#     moved or copied): its cache is dropped, or CMake refuses it;
#   - .venv was made again (scripts/setup.sh) after BUILD was configured:
#     the TensorFlow library paths taken at configure time may be gone.
configure_once() {
  local source="$1" build="$2"
  shift 2
  local cache="$build/CMakeCache.txt"
  if [ -f "$cache" ]; then
    local configured_for
    configured_for="$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$cache")"
    if [ "$(realpath -m "$configured_for")" != "$(realpath -m "$source")" ]; then
      echo "configure: $build was configured for $configured_for, not $(realpath "$source"): configuring afresh" >&2
      rm -rf "$cache" "$build/CMakeFiles" "$build/build.ninja"
    elif [ .venv/.requirements-stamp -nt "$cache" ]; then
      echo "configure: .venv was made again since $build was configured: configuring again" >&2
      rm -f "$build/build.ninja"
    fi
  fi
  if [ ! -f "$build/build.ninja" ]; then
    cmake -S "$source" -B "$build" -G Ninja "$@" >&2
  fi
}
