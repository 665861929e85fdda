"""Shared fixtures of the Python module's tests. ctest sets the environment:
PYTHONPATH (the built module), SPECTRA_EXE (the CLI the numbers are compared
with), SPECTRA_SHARED_DIR (../shared: stories260k and its golden forward
pass), SPECTRA_SOURCE_DIR (the default model under models/)."""
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(os.environ.get("SPECTRA_SHARED_DIR", Path(__file__).resolve().parents[2] / ".." / "shared"))
SOURCE = Path(os.environ.get("SPECTRA_SOURCE_DIR", Path(__file__).resolve().parents[2]))
EXE = os.environ.get("SPECTRA_EXE", str(SOURCE / "build" / "spectra"))
STORIES_HF = SHARED / "models" / "stories260k"
STORIES_GGUF = SHARED / "models" / "stories260k.gguf"
GOLDEN = SHARED / "golden" / "stories260k" / "greedy"
SMOLLM = SOURCE / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"


def require(path):
    """A reference the test cannot do without: fail (never skip) when absent."""
    assert Path(path).exists(), f"missing test reference {path}"
    return str(path)


def cli(*args, check=True):
    """Run the spectra CLI; returns the completed process (text mode)."""
    p = subprocess.run([EXE, *map(str, args)], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"spectra {' '.join(map(str, args))} exited {p.returncode}:\n{p.stderr}")
    return p


def golden_tokens():
    return [int(t) for t in Path(require(str(GOLDEN) + ".tokens.txt")).read_text().split()]


def make_token_corpus(folder):
    """Three token-id documents for stories260k (as the C++ end-to-end test)."""
    ids = golden_tokens()
    corpus = Path(folder) / "corpus"
    corpus.mkdir(parents=True)
    (corpus / "a_golden.tokens").write_text(" ".join(map(str, ids)) + "\n")
    rev = [ids[0]] + ids[1:][::-1]
    (corpus / "b_reversed.tokens").write_text(" ".join(map(str, rev)) + "\n")
    rng = np.random.default_rng(7)
    rnd = [1] + [int(x) for x in rng.integers(3, 512, 199)]
    (corpus / "c_random.tokens").write_text(" ".join(map(str, rnd)) + "\n")
    return corpus


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A small study on stories260k (a few seconds), made with the CLI."""
    root = tmp_path_factory.mktemp("tiny_run")
    corpus = make_token_corpus(root)
    run = root / "run"
    cli("study", "--model", require(STORIES_GGUF), "--corpus", corpus, "--out", run, "--context", 256,
        "--permutations", 20, "--precision", "fp32", "--threads", 2, "--no-report", "--progress", "none")
    assert (run / "summary.json").exists()
    return run


@pytest.fixture(scope="session")
def smollm_path():
    return require(SMOLLM)


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)
