#!/usr/bin/env bash
# Set up Spectra on a fresh Debian/Ubuntu machine and run the default study:
# install dependencies, build, fetch the default model, build the demo corpus,
# then `spectra study` (default model, demo corpus, runs/<timestamp>/).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/deps.sh"
"$root/scripts/build.sh"            # the spectra program only; scripts/test.sh builds the tests
"$root/scripts/fetch_model.sh"
[[ -f "$root/corpus/demo/manifest.json" ]] || /usr/bin/python3 "$root/scripts/build_demo_corpus.py"
cd "$root"
"$root/build/spectra" inspect --model "$root/models/SmolLM2-135M-Instruct.Q4_1.gguf"
"$root/build/spectra" study
