#!/usr/bin/env bash
# Create (or update) the project's virtual environment .venv/ with the Python
# references the tests compare against: scipy/statsmodels (statistics), gguf
# (dequantization), tokenizers (tokenizer.json), playwright (drives Debian's
# chromium for the HTML report), pandas/pytest/nbclient/matplotlib (the Python
# module and its notebook). Built on Debian's /usr/bin/python3, never
# installing into it. Idempotent: a stamp file records what was installed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="$root/.venv"
reqs="$root/scripts/test-requirements.txt"
py=/usr/bin/python3
[[ -x "$py" ]] || py="$(command -v python3)"
if [[ ! -x "$venv/bin/python" ]]; then
  echo "venv: creating $venv"
  "$py" -m venv "$venv" || { echo "venv: '$py -m venv' failed (install the Debian package python3-venv)" >&2; exit 1; }
fi
stamp="$venv/.spectra-requirements"
if ! cmp -s "$reqs" "$stamp"; then
  echo "venv: installing the test references into $venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$reqs" \
    || { echo "venv: pip install -r $reqs failed" >&2; exit 1; }
  cp "$reqs" "$stamp"
fi
# Fail now, not later as 36 test lines with no hint why.
"$venv/bin/python" -c "import numpy, scipy, statsmodels, gguf, tokenizers, playwright, pandas, pytest" \
  || { echo "venv: the test references do not import from $venv" >&2; exit 1; }
