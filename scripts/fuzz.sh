#!/usr/bin/env bash
# Coverage-guided fuzzing of the parsers of untrusted input (fuzz/).
#
# usage: scripts/fuzz.sh [TARGET|all] [SECONDS]     (default: all, 60 s each)
#
# Builds the libFuzzer harnesses into build-fuzz/ (clang-14, ASan + UBSan),
# builds seed corpora from real files once (scripts/fuzz_seeds.py: ../shared
# models and vocabularies, cut down), then runs each harness for SECONDS, one
# process, with a 2 GB RSS limit and a 10 s per-input timeout, so that an
# absurd count or length that is not refused cheaply is a finding. The inputs
# libFuzzer finds interesting accumulate in build-fuzz/fuzz-corpus/TARGET;
# a finding is written to build-fuzz/fuzz-findings/TARGET/ and makes the
# script exit non-zero. Prints, per harness: run time, executions per second,
# libFuzzer's cov: and ft: figures.
#
# A finding: minimise it (build-fuzz/fuzz/fuzz_TARGET -minimize_crash=1
# -runs=20000 FILE), fix the parser, and commit the small input under
# tests/fuzz_regressions/TARGET/ (the test suite replays those).
#
# Environment: CC/CXX (default clang-14/clang++-14), SPECTRA_PYTHON (python
# with numpy and gguf; default .venv/bin/python), SPECTRA_SHARED_DIR (default
# ../shared), FUZZ_BUILD (default build-fuzz).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${1:-all}"
seconds="${2:-60}"
build="${FUZZ_BUILD:-$root/build-fuzz}"
shared="${SPECTRA_SHARED_DIR:-$root/../shared}"
python="${SPECTRA_PYTHON:-$root/.venv/bin/python}"
[ -x "$python" ] || python=python3

all=(safetensors gguf hf_config tokenizer_json study_config npy corpus tokenizer)
declare -A max_len=(
  [safetensors]=16384 [gguf]=65536 [hf_config]=4096 [tokenizer_json]=32768
  [study_config]=4096 [npy]=4096 [corpus]=8192 [tokenizer]=4096
)
if [ "$target" = all ]; then
  targets=("${all[@]}")
elif [ -n "${max_len[$target]:-}" ]; then
  targets=("$target")
else
  echo "fuzz: unknown target '$target' (targets: all ${all[*]})" >&2
  exit 2
fi

# --- build ------------------------------------------------------------------
start=$(date +%s)
if [ ! -f "$build/CMakeCache.txt" ]; then
  CC="${CC:-clang-14}" CXX="${CXX:-clang++-14}" cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSPECTRA_FUZZ=ON -DSPECTRA_TESTS=OFF >/dev/null
fi
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/fuzz_}"
echo "fuzz: build took $(($(date +%s) - start)) s"

# --- seeds ------------------------------------------------------------------
seeds="$build/fuzz-seeds"
if [ ! -f "$seeds/.done" ] || [ "$root/scripts/fuzz_seeds.py" -nt "$seeds/.done" ]; then
  rm -rf "$seeds"
  extra=()
  [ -f "$root/models/SmolLM2-135M-Instruct.Q4_1.gguf" ] && extra+=("$root/models/SmolLM2-135M-Instruct.Q4_1.gguf")
  "$python" "$root/scripts/fuzz_seeds.py" "$seeds" "$shared" "${extra[@]}"
  touch "$seeds/.done"
fi

# The tokenizer target also runs the real vocabularies.
toks=()
for f in "$shared"/vocab/ggml-vocab-*.gguf "$root/models/SmolLM2-135M-Instruct.Q4_1.gguf"; do
  [ -f "$f" ] && toks+=("$f")
done
toklist="$(IFS=:; echo "${toks[*]}")"

# --- run --------------------------------------------------------------------
# Targets whose entry points take a path write each input to a scratch file:
# on tmpfs that costs microseconds, on a disk milliseconds.
# A private folder, removed at the end (a crashed harness leaves its scratch).
shm=/dev/shm
[ -d "$shm" ] && [ -w "$shm" ] || shm="${TMPDIR:-/tmp}"
TMPDIR="$(mktemp -d "$shm/spectra-fuzz-run.XXXXXX")"
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
status=0
summary=()
for t in "${targets[@]}"; do
  corpus="$build/fuzz-corpus/$t"
  findings="$build/fuzz-findings/$t"
  log="$build/fuzz-logs/$t.log"
  mkdir -p "$corpus" "$findings" "$(dirname "$log")" "$seeds/$t"
  dirs=("$corpus" "$seeds/$t")
  [ -d "$root/tests/fuzz_regressions/$t" ] && dirs+=("$root/tests/fuzz_regressions/$t")
  echo "fuzz: $t for ${seconds} s (log: $log)"
  t0=$(date +%s)
  rc=0
  tokenizers=""
  [ "$t" = tokenizer ] && tokenizers="$toklist"
  SPECTRA_FUZZ_TOKENIZERS="$tokenizers" \
  ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=0" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 \
    -max_len="${max_len[$t]}" -print_final_stats=1 -artifact_prefix="$findings/" "${dirs[@]}" >"$log" 2>&1 || rc=$?
  elapsed=$(($(date +%s) - t0))
  last=$(grep -E '^#[0-9]+' "$log" | tail -n1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *\([0-9]*\).*/\1/p' "$log" | tail -n1)
  if [ "$rc" -ne 0 ]; then
    status=1
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n1)
    result="FINDING (exit $rc): ${artifact:-see $log}"
    grep -E 'ERROR: |SUMMARY: |broken invariant|uncaught exception|what\(\)' "$log" | head -n 5 | sed 's/^/    /' || true
  else
    result="no finding"
  fi
  summary+=("$(printf '%-15s %5s s  %8s execs  %6s exec/s  cov: %-6s ft: %-6s %s' \
    "$t" "$elapsed" "${execs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "$result")")
done

echo "fuzz: summary"
printf '  %s\n' "${summary[@]}"
exit "$status"
