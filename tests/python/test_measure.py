"""m.measure against the golden forward pass of stories260k (fp32, the
tolerances of tests/engine/test_golden.cpp) and against the CLI's
`spectra measure` tuples.npy (the same probe: identical numbers)."""
import json

import numpy as np
import pytest

import spectra
from conftest import GOLDEN, STORIES_GGUF, STORIES_HF, cli, golden_tokens, read_json, require


def golden_probe():
    p = np.loadtxt(require(str(GOLDEN) + ".probe.csv"), delimiter=",", skiprows=1)
    return p[:, 0].astype(int), p[:, 1].astype(int), p[:, 2].astype(int), p[:, 3], p[:, 4]


def golden_nll(tokens):
    logits = np.loadtxt(require(str(GOLDEN) + ".logits.csv"), delimiter=",")[:, 1:]
    mx = logits.max(axis=1, keepdims=True)
    lse = mx[:, 0] + np.log(np.exp(logits - mx).sum(axis=1))
    t = np.asarray(tokens)
    return lse[:-1] - logits[np.arange(len(t) - 1), t[1:]]


@pytest.fixture(scope="module", params=["hf", "gguf"])
def stories(request):
    path = require(STORIES_HF if request.param == "hf" else STORIES_GGUF)
    return spectra.Model(path, precision="fp32", threads=2)


def test_golden(stories):
    tokens = golden_tokens()
    r = stories.measure(tokens)
    d = stories.desc
    assert r.shape == (d["layers"], d["heads"], len(tokens))
    layer, head, pos, q_norm, entropy = golden_probe()
    assert len(q_norm) == d["layers"] * d["heads"] * len(tokens)
    ours_q = r.q_norm[layer, head, pos]
    ours_h = r.entropy[layer, head, pos]
    assert np.max(np.abs(ours_q - q_norm) / np.maximum(np.abs(q_norm), 1e-12)) <= 1e-4
    assert np.max(np.abs(ours_h - entropy)) <= 1e-4
    t = np.arange(len(tokens))
    assert np.all(r.entropy <= np.log(t + 1.0) + 1e-5)
    assert np.all(r.entropy[:, :, 0] == 0)
    for name in ("sink_mass", "max_attn"):
        a = getattr(r, name)
        assert a.dtype == np.float32 and np.all((a >= 0) & (a <= 1)), name
    np.testing.assert_array_equal(r.tokens, tokens)
    nll = golden_nll(tokens)
    assert r.nll.shape == (len(tokens) - 1,)
    assert np.max(np.abs(r.nll - nll)) <= 1e-3
    gold_ppl = np.exp(nll.mean())
    assert abs(r.perplexity - gold_ppl) <= 1e-3 * gold_ppl
    assert r.kv_head.tolist() == [h // (d["heads"] // d["kv_heads"]) for h in range(d["heads"])]


def test_same_numbers_as_cli_measure(tmp_path):
    """to_pandas / to_records hold exactly the rows of `spectra measure`'s tuples.npy."""
    gguf = require(STORIES_GGUF)
    tokens = golden_tokens()[:100]
    ids = tmp_path / "ids.tokens"
    ids.write_text(" ".join(map(str, tokens)))
    out = tmp_path / "measure"
    cli("measure", "--model", gguf, "--tokens-file", ids, "--out", out, "--precision", "fp32", "--threads", 2)
    ref = np.load(out / "tuples.npy")
    r = spectra.Model(gguf, precision="fp32", threads=2).measure(tokens)
    recs = r.to_records()
    assert recs.dtype == ref.dtype == spectra.tuple_dtype()
    assert recs.tobytes() == ref.tobytes()
    df = r.to_pandas()
    assert list(df.columns) == list(ref.dtype.names)
    assert [df[c].dtype for c in df.columns] == [ref.dtype[c] for c in ref.dtype.names]
    for c in ref.dtype.names:
        np.testing.assert_array_equal(df[c].to_numpy(), ref[c])
    # The arrays are the same numbers in [layer, head, pos] order (every
    # statistic the tuple file carries; it carries a subset of the probe's).
    tuple_floats = [n for n in ref.dtype.names if ref.dtype[n].kind == "f"]
    assert set(tuple_floats) <= set(r.fields)
    for name in tuple_floats:
        np.testing.assert_array_equal(getattr(r, name).ravel(), ref[name])
    summary = read_json(out / "summary.json")
    assert r.perplexity == pytest.approx(summary["perplexity"], rel=1e-12)


PROBE_FIELDS = ("q_norm", "entropy", "sink_mass", "max_attn", "entropy_fixed_norm", "neg_var_score",
                "max_score", "logsumexp", "k_budget")


def test_every_probe_statistic_is_an_array():
    """Every probe statistic is a float column of the tuple file, in the same
    order, and a [layers, heads, T] float32 array, finite for every row of a
    whole window."""
    assert tuple(spectra.probe_fields()) == PROBE_FIELDS
    dt = spectra.tuple_dtype()
    floats = [n for n in dt.names if dt[n].kind == "f"]
    assert floats == list(PROBE_FIELDS)  # the tuple file's columns in probe order
    m = spectra.Model(require(STORIES_GGUF), precision="fp32", threads=2)
    r = m.measure([1, 400, 401, 402])
    assert r.fields == PROBE_FIELDS
    for name in spectra.probe_fields():
        a = r[name]
        assert a.shape == (5, 8, 4) and a.dtype == np.float32
        assert not a.flags.owndata and a.base is not None  # a view of the engine's buffer
        assert np.all(np.isfinite(a)), name


def test_new_statistics_relations(stories):
    """The issue-#14 arrays obey their definitions' relations: H_fix, k_P and
    -Var at position 0 (one key), logsumexp >= max score, -Var <= 0, k_P an
    integer in [1, t+1], H_fix <= log(t+1)."""
    tokens = golden_tokens()[:120]
    r = stories.measure(tokens)
    t = np.arange(len(tokens))
    assert np.all(r.entropy_fixed_norm[:, :, 0] == 0) and np.all(r.neg_var_score[:, :, 0] == 0)
    assert np.all(r.k_budget[:, :, 0] == 1)
    np.testing.assert_allclose(r.logsumexp[:, :, 0], r.max_score[:, :, 0], rtol=1e-6)
    assert np.all(r.logsumexp >= r.max_score - 1e-5)
    assert np.all(r.logsumexp <= r.max_score + np.log(t + 1.0) + 1e-5)
    assert np.all(r.neg_var_score <= 0)
    assert np.all(r.k_budget == np.round(r.k_budget)) and np.all((r.k_budget >= 1) & (r.k_budget <= t + 1))
    assert np.all((r.entropy_fixed_norm >= 0) & (r.entropy_fixed_norm <= np.log(t + 1.0) + 1e-5))
    # The largest weight is e^{max s - logsumexp}.
    np.testing.assert_allclose(r.max_attn, np.exp(r.max_score - r.logsumexp), rtol=1e-4, atol=1e-6)


def test_desc_is_inspect_json():
    gguf = require(STORIES_GGUF)
    ref = json.loads(cli("inspect", "--model", gguf, "--json").stdout)
    d = spectra.Model(gguf).desc
    assert d == ref
    assert {"layers", "heads", "kv_heads", "head_dim", "rope"} <= d.keys()


def test_weights_modes_match_cli_measure(tmp_path):
    """weights= is `spectra measure --weights`: each mode gives the CLI's bytes, also for a window long
    enough (256 rows) that the two modes round differently."""
    gguf = require(STORIES_GGUF)
    tokens = (golden_tokens() * 3)[:256]
    ids = tmp_path / "ids.tokens"
    ids.write_text(" ".join(map(str, tokens)))
    recs = {}
    for mode in ("auto", "resident", "streaming"):
        out = tmp_path / mode
        cli("measure", "--model", gguf, "--tokens-file", ids, "--out", out, "--precision", "fp32", "--threads", 2,
            "--weights", mode)
        ref = np.load(out / "tuples.npy")
        m = spectra.Model(gguf, precision="fp32", threads=2, weights=mode)
        assert m.weights == read_json(out / "summary.json")["weights"]["used"]
        recs[mode] = m.measure(tokens).to_records()
        assert recs[mode].tobytes() == ref.tobytes(), mode
    assert spectra.Model(gguf, precision="fp32").weights == "resident"  # auto: a tiny model fits
    # Whether the two modes differ at all depends on the oneDNN kernels this CPU gets (they do here, at 256
    # rows): not asserted, the test is that each mode gives the CLI's bytes.


def test_errors():
    gguf = require(STORIES_GGUF)
    with pytest.raises(spectra.Error, match="weights"):
        spectra.Model(gguf, weights="sometimes")
    with pytest.raises(spectra.Error, match="nope"):
        spectra.Model(str(gguf) + ".nope")
    with pytest.raises(spectra.Error, match="precision"):
        spectra.Model(gguf, precision="fp8")
    m = spectra.Model(require(STORIES_HF))
    with pytest.raises(ValueError, match="token id 512 at position 1"):
        m.measure([1, 512])
    with pytest.raises(ValueError, match="token id -1"):
        m.measure([1, -1])
    with pytest.raises(ValueError, match="exceed the model's context"):
        m.measure([1] * (m.desc["max_context"] + 1))
    with pytest.raises(spectra.Error, match="tokenizer"):
        m.measure("text needs a tokenizer")
    with pytest.raises(spectra.Error, match="no tokens"):
        m.measure([])
    with pytest.raises(TypeError):
        m.measure(3.5)
