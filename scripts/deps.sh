#!/usr/bin/env bash
# Install what Spectra needs from Debian (and, with --test, the Python
# references the tests compare against). Idempotent; needs root or sudo.
set -euo pipefail
want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

# Build and run time: compiler, CMake, oneDNN, JSON, regexes, CLI, TOML,
# Boost.Math, plotting; demo-corpus sources.
APT_RUNTIME=(
  build-essential cmake pkg-config git python3 python3-pip unzip
  libdnnl-dev nlohmann-json3-dev libpcre2-dev libcli11-dev libtomlplusplus-dev libboost-math-dev
  libgtest-dev libssl-dev gnuplot-nox fonts-dejavu-core libjs-vega
  bible-kjv bible-kjv-text fortunes-min
)
# Tests only: a headless browser for the HTML report.
APT_TEST=(chromium)

missing=()
for p in "${APT_RUNTIME[@]}" $([[ $want_test == 1 ]] && echo "${APT_TEST[@]}"); do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ $want_test == 1 ]]; then
  # Independent references: scipy/statsmodels for statistics, gguf for
  # dequantization, tokenizers for tokenizer.json, playwright (driving Debian's
  # chromium) for the HTML report.
  python3 -m pip install -q --disable-pip-version-check numpy scipy statsmodels gguf tokenizers playwright 2>&1 \
    | grep -v -E "WARNING: Running pip as the 'root' user|^$" || true
fi
