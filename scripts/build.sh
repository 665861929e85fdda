#!/usr/bin/env bash
# Configure and build Spectra (Release) into build/.
#   scripts/build.sh           the spectra program only (what a study needs)
#   scripts/build.sh --tests   also the test executables (needs scripts/deps.sh --test)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
jobs="$(nproc)"
tests=OFF
[[ "${1:-}" == "--tests" ]] && tests=ON
export CCACHE_BASEDIR="$root"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release -DSPECTRA_TESTS=$tests >/dev/null
if [[ $tests == ON ]]; then
  cmake --build "$root/build" -j "$jobs"
else
  cmake --build "$root/build" -j "$jobs" --target spectra
fi
