"""m.tokenize / m.decode against `spectra tokenize` on the default model, and
m.measure(text) tokenizing as `spectra measure --text-file` does."""
import numpy as np
import pytest

import spectra
from conftest import cli

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "  leading spaces, tabs\tand\nnew lines\n\n",
    "Numbers 1234567 and 3.14159; unicode: café, naïve, 日本語, emoji 🦊!",
    "def f(x):\n    return x ** 2  # code\n",
    "<|im_start|> is ordinary text here",
]


@pytest.fixture(scope="module")
def smollm(smollm_path):
    return spectra.Model(smollm_path, threads=2)


def cli_ids(model, text, *flags):
    return [int(t) for t in cli("tokenize", "--model", model, "--text", text, *flags).stdout.split()]


@pytest.mark.parametrize("text", TEXTS)
def test_tokenize_is_the_cli(smollm, smollm_path, text):
    plain = cli_ids(smollm_path, text, "--no-bos")
    assert smollm.tokenize(text, bos=False) == plain
    bos = smollm.desc["bos_id"]
    assert bos >= 0
    assert smollm.tokenize(text) == [bos] + plain
    default = cli_ids(smollm_path, text)
    assert default in (plain, [bos] + plain)
    assert smollm.decode(plain) == text


def test_measure_text_tokenizes_as_cli(smollm, smollm_path, tmp_path):
    text = TEXTS[0]
    f = tmp_path / "t.txt"
    f.write_text(text)
    cli("measure", "--model", smollm_path, "--text-file", f, "--out", tmp_path / "m", "--threads", 2)
    ref = np.load(tmp_path / "m" / "tuples.npy")
    d = smollm.desc
    r = smollm.measure(text)
    T = len(r.tokens)
    np.testing.assert_array_equal(ref["token"][:T], r.tokens)
    assert len(ref) == d["layers"] * d["heads"] * T
    expected = [d["bos_id"]] if d["add_bos"] else []
    assert list(r.tokens) == expected + smollm.tokenize(text, bos=False)
