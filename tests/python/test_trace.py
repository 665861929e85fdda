"""m.trace: the step-by-step arrays of one head, checked against numpy (the
scores, softmax and entropy recomputed from q and k), the golden forward
pass and the engine's fused numbers (m.measure at fp32)."""
import numpy as np

import spectra
from conftest import GOLDEN, STORIES_HF, golden_tokens, require


def test_trace_head():
    m = spectra.Model(require(STORIES_HF), precision="fp32", threads=2)
    tokens = golden_tokens()[:48]
    layer, head = 2, 3
    tr = m.trace(tokens, layer, head)
    n, hd = len(tokens), m.desc["head_dim"]
    assert (tr.layer, tr.head, tr.kv_head) == (layer, head, head // (m.desc["heads"] // m.desc["kv_heads"]))
    assert tr.q.shape == tr.k.shape == (n, hd) and tr.q.dtype == np.float64
    assert tr.scores.shape == tr.probs.shape == (n, n)
    np.testing.assert_array_equal(tr.tokens, tokens)
    # numpy from q and k.
    s = tr.q @ tr.k.T / np.sqrt(hd)
    mask = np.tril(np.ones((n, n), bool))
    np.testing.assert_allclose(tr.scores[mask], s[mask], rtol=1e-12, atol=1e-12)
    assert np.all(np.isnan(tr.scores[~mask]))
    e = np.where(mask, np.exp(s - np.where(mask, s, -np.inf).max(axis=1, keepdims=True)), 0)
    p = e / e.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(tr.probs, p, atol=1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        H = -np.where(p > 0, p * np.log(p), 0).sum(axis=1)
    np.testing.assert_allclose(tr.entropy, H, atol=1e-9)
    np.testing.assert_allclose(tr.q_norm, np.linalg.norm(tr.q, axis=1), rtol=1e-12)
    np.testing.assert_allclose(tr.sink_mass, p[:, 0], atol=1e-12)
    np.testing.assert_allclose(tr.max_attn, p.max(axis=1), atol=1e-12)
    np.testing.assert_array_equal(tr.argmax, p.argmax(axis=1))
    # The golden forward pass (llama2.c) for this head.
    g = np.loadtxt(require(str(GOLDEN) + ".probe.csv"), delimiter=",", skiprows=1)
    g = g[(g[:, 0] == layer) & (g[:, 1] == head) & (g[:, 2] < n)]
    g = g[np.argsort(g[:, 2])]
    np.testing.assert_allclose(tr.q_norm, g[:, 3], rtol=1e-4)
    np.testing.assert_allclose(tr.entropy, g[:, 4], atol=1e-4)
    # The engine's fused numbers, as m.measure gives them.
    assert tr.check["ran"] and tr.check["passed"]
    r = m.measure(tokens)
    np.testing.assert_allclose(tr.engine_q_norm, r.q_norm[layer], rtol=1e-6)
    np.testing.assert_allclose(tr.engine_entropy, r.entropy[layer], atol=1e-6)
    # The issue-#14 statistics: the engine's as m.measure gives them, and the
    # reference's within the cross-check tolerance.
    for name in ("entropy_fixed_norm", "neg_var_score", "max_score", "logsumexp", "k_budget"):
        np.testing.assert_array_equal(getattr(tr, "engine_" + name), r[name][layer])
        ref = getattr(tr, "layer_" + name)
        np.testing.assert_allclose(getattr(tr, "engine_" + name), ref, rtol=1e-4, atol=1e-4, err_msg=name)
        np.testing.assert_array_equal(ref[head], getattr(tr, name))
    assert tr.check["k_budget_rows_differing"] == 0
    np.testing.assert_allclose(tr.max_score, np.where(mask, s, -np.inf).max(axis=1), rtol=1e-12)
    np.testing.assert_allclose(tr.ref_norm, np.mean(tr.q_norm[4:]), rtol=1e-12)
    assert tr.layer_q_norm.shape == tr.layer_entropy.shape == (m.desc["heads"], n)
    np.testing.assert_allclose(tr.layer_q_norm[head], tr.q_norm, rtol=1e-12)
