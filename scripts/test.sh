#!/usr/bin/env bash
# Run the whole test suite: the Release build's tests (ctest), then the file
# parsers' tests again under AddressSanitizer and UBSan.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
jobs="$(nproc)"
"$root/scripts/fetch_model.sh"
"$root/scripts/build.sh"
(cd "$root/build" && ctest --output-on-failure -j "$jobs")

# Parsers of untrusted files, rebuilt with sanitizers.
SANITIZED=(test_util)
for t in test_formats test_tokenizer; do
  [[ -f "$root/tests/${t#test_}/CMakeLists.txt" ]] && SANITIZED+=("$t")
done
echo "test: sanitizer run of ${SANITIZED[*]}"
cmake -S "$root" -B "$root/build-asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSPECTRA_SANITIZE=ON >/dev/null
cmake --build "$root/build-asan" -j "$jobs" --target "${SANITIZED[@]}"
for t in "${SANITIZED[@]}"; do
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$root/build-asan/tests/bin/$t" --gtest_brief=1
done
