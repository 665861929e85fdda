#!/usr/bin/env python3
"""Adversarial synthetic runs for the GO / NO-GO / INCONCLUSIVE decision.

  adversarial_tuples.py OUT_ROOT

Writes one run folder per (scenario, seed) under OUT_ROOT (tuples.npy,
config.toml, and docs.csv when the scenario needs sources) and OUT_ROOT/
expected.txt with lines "FOLDER EXPECTED_DECISION". Every run has 1 layer x 4
heads; all four heads carry the scenario's structure. Parameters (drift shape,
autocorrelation, effect size, offsets, lengths) vary with the seed.

Scenarios (what is true -> the right decision):
  drift      ||q|| and H both drift with position (log(t+1) and a smooth
             non-log shape), independent noise, no token-level link -> NO-GO
  offsets    a real within-document effect (r ~ -0.75) under document level
             offsets: documents with higher mean ||q|| have higher mean H -> GO
  flips      strong within-document effects whose sign flips between
             documents -> NO-GO
  single     one document with a strong effect -> INCONCLUSIVE
  windows    8 windows of ONE source file (docs.csv "a.txt", "a.txt#w1", ...)
             with a strong effect -> INCONCLUSIVE
  autocorr   strongly autocorrelated (AR(1), phi 0.97-0.995) independent noise
             in both series, with r_threshold lowered to 0.1 so that only the
             document-level test and the null guard -> NO-GO
  real       a real within-document effect under position drift and mild
             autocorrelation -> GO
"""
import os, sys
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tuple_numpy import DT  # noqa: E402

HEADS = 4


def ar1(rng, n, phi):
    e = rng.standard_normal(n)
    out = np.empty(n)
    out[0] = e[0] / np.sqrt(max(1e-12, 1 - phi * phi))
    for i in range(1, n):
        out[i] = phi * out[i - 1] + e[i]
    return out / np.std(out)


def drift_shape(rng, t):
    lt = np.log(t + 1.0)
    kind = rng.integers(3)
    if kind == 0:
        return lt
    if kind == 1:
        return np.sqrt(t / t[-1]) * lt[-1]
    return lt + 0.8 * np.sin(2 * np.pi * t / t[-1])


def rows_for(doc, head, t, q, h, p0):
    a = np.zeros(len(t), DT)
    a["doc"], a["layer"], a["head"], a["kv_head"] = doc, 0, head, head // 2
    a["pos"] = t
    a["token"] = 100 + t
    a["q_norm"] = q
    a["entropy"] = np.maximum(h, 0.0)
    a["sink_mass"] = p0
    a["max_attn"] = 0.5
    return a


def linked(rng, n, rho, phi):
    """x, y standardised noise with within-series AR(phi) and corr(x, y) ~ rho."""
    x = ar1(rng, n, phi)
    y = rho * x + np.sqrt(1 - rho * rho) * ar1(rng, n, phi)
    return x, y


def scenario(name, seed):
    rng = np.random.default_rng(seed)
    T = int(rng.choice([512, 768, 1024]))
    ndocs = {"single": 1}.get(name, 8)
    t = np.arange(T, dtype=np.int32)
    lt = np.log(t + 1.0)
    out, sources = [], None
    for d in range(ndocs):
        for hd in range(HEADS):
            p0 = np.clip(0.2 + 0.3 * rng.random() + 0.02 * rng.standard_normal(T), 0, 0.95)
            if name == "drift":
                s = drift_shape(rng, t)
                q = 20 - (1.0 + rng.random()) * s + 0.5 * ar1(rng, T, 0.5)
                h = 1 + (0.4 + 0.3 * rng.random()) * s + 0.3 * ar1(rng, T, 0.5)
            elif name in ("offsets", "real", "single", "windows", "flips"):
                rho = -0.75 - 0.1 * rng.random()
                if name == "flips":
                    rho = -rho if d % 2 else rho
                x, y = linked(rng, T, rho, 0.3 if name != "real" else 0.6)
                u = 0.0
                if name == "offsets":
                    u = 3.0 * (d - ndocs / 2) / ndocs + 0.5 * rng.standard_normal()
                q = 20 + 4 * u + 2 * x - 0.5 * lt
                h = 3 + 2 * u + 0.5 * y + 0.3 * lt
            elif name == "autocorr":
                phi = 0.97 + 0.025 * rng.random()
                q = 20 + 2 * ar1(rng, T, phi)
                h = 3 + 0.5 * ar1(rng, T, phi) + 0.2 * lt
            else:
                raise ValueError(name)
            out.append(rows_for(d, hd, t, q, h, p0))
    if name == "windows":
        sources = ["a.txt"] + [f"a.txt#w{i}" for i in range(1, ndocs)]
    return np.concatenate(out), sources


EXPECTED = {"drift": "NO-GO", "offsets": "GO", "flips": "NO-GO", "single": "INCONCLUSIVE",
            "windows": "INCONCLUSIVE", "autocorr": "NO-GO", "real": "GO"}


def main():
    root = sys.argv[1]
    os.makedirs(root, exist_ok=True)
    lines = []
    for name, expected in EXPECTED.items():
        for seed in (11, 12, 13):
            folder = os.path.join(root, f"{name}_{seed}")
            os.makedirs(folder, exist_ok=True)
            a, sources = scenario(name, seed * 1000 + len(name))
            np.save(os.path.join(folder, "tuples.npy"), a)
            cfg = "[analysis]\npermutations = 40\n"
            if name == "autocorr":
                cfg += "[criteria]\nr_threshold = 0.1\n"
            with open(os.path.join(folder, "config.toml"), "w") as f:
                f.write(cfg)
            if sources:
                with open(os.path.join(folder, "docs.csv"), "w") as f:
                    f.write("doc,source,tokens,perplexity\n")
                    for i, s in enumerate(sources):
                        f.write(f"{i},{s},{int(a['pos'].max()) + 1},nan\n")
            lines.append(f"{folder} {expected}")
    with open(os.path.join(root, "expected.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
