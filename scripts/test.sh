#!/usr/bin/env bash
# Run the whole test suite: the Release build's tests (ctest), then the file
# parsers' tests again under AddressSanitizer and UBSan. Ends with one line
# "N passed, N failed" over both runs; exits non-zero on any failure.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
jobs="$(nproc)"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
"$root/scripts/fetch_model.sh"
"$root/scripts/build.sh"
(cd "$root/build" && ctest --output-on-failure -j "$jobs") | tee "$log"
total=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\2/p' "$log" | tail -n1)
failed=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -n1)
passed=$((${total:-0} - ${failed:-0}))

# Parsers of untrusted files (and the small utilities), rebuilt with sanitizers.
SANITIZED=(test_util test_formats test_tokenizer)
echo "test: sanitizer run of ${SANITIZED[*]}"
cmake -S "$root" -B "$root/build-asan" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSPECTRA_SANITIZE=ON >/dev/null
cmake --build "$root/build-asan" -j "$jobs" --target "${SANITIZED[@]}"
for t in "${SANITIZED[@]}"; do
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$root/build-asan/tests/bin/$t" --gtest_brief=1 | tee "$log"
  n=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
  passed=$((passed + ${n:-0}))
done
echo "test: ${passed} passed, ${failed:-0} failed"
