#!/usr/bin/env bash
# Set up Spectra on a fresh Debian/Ubuntu machine and run the default job:
# install dependencies, build, fetch the default model, run it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/deps.sh"
"$root/scripts/build.sh"
"$root/scripts/fetch_model.sh"
"$root/build/spectra" inspect --model "$root/models/SmolLM2-135M-Instruct.Q4_1.gguf"
