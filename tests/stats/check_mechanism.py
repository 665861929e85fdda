#!/usr/bin/env python3
"""Independent check of mechanism.csv (src/stats/mechanism.hpp), recomputed
from RUN_DIR/tuples.npy with numpy (least squares on the position basis),
scipy.stats (Pearson r) and statsmodels (combine_effects(method_re="dl")).

  check_mechanism.py RUN_DIR [MIN_POSITION] [MIN_DOC_POSITIONS] [KNOTS]

Per head with H_fix / -Var_p(s): r, r_fix (pooled within-document r with
H and H_fix), fraction_norm, var_ratio_norm, docs, neg_var_median and the
pooled temperature slope with its CI. Exit 0 when all agree (relative 1e-7)."""
import csv
import math
import sys

import numpy as np
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects

run = sys.argv[1]
min_pos = int(sys.argv[2]) if len(sys.argv) > 2 else 16
min_doc = int(sys.argv[3]) if len(sys.argv) > 3 else 10
K = int(sys.argv[4]) if len(sys.argv) > 4 else 5
a = np.load(f"{run}/tuples.npy")
table = list(csv.DictReader(open(f"{run}/mechanism.csv")))
bad, checked = [], 0


def close(name, ours, ref, rel=1e-7, abs_=1e-10):
    global checked
    ours = float(ours)
    checked += 1
    if math.isnan(ref) and math.isnan(ours):
        return
    if not (abs(ours - ref) <= abs_ + rel * abs(ref)):
        bad.append(f"{name}: spectra {ours!r} reference {ref!r}")


def basis(t):
    t = t.astype(np.float64)
    s = (t - t[0]) / (t[-1] - t[0] if t[-1] > t[0] else 1.0)
    xi = np.arange(K) / (K - 1)
    cube = lambda v: np.where(v > 0, v, 0.0) ** 3
    d = lambda k: (cube(s - xi[k]) - cube(s - xi[K - 1])) / (xi[K - 1] - xi[k])
    return np.column_stack([np.ones_like(s), np.log(t + 1.0), s] + [d(k) - d(K - 2) for k in range(K - 2)])


def resid(X, y):
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    return y - X @ beta


def flat(e, y):
    return not (np.sum(e * e) > 1e-12 * np.sum(y * y))


def lag1(e):
    return float(np.sum(e[1:] * e[:-1]) / np.sum(e * e))


def n_eff(n, e1, e2):
    rr = lag1(e1) * lag1(e2)
    return min(n, n * (1 - rr) / (1 + rr))


def dl(z, v):
    """(z*, SE) of DerSimonian-Laird with tau2 truncated at 0 (see check_within.py)."""
    res = combine_effects(np.array(z), np.array(v), method_re="dl")
    if float(res.tau2) >= 0:
        return float(res.mean_effect_re), float(res.sd_eff_w_re)
    return float(res.mean_effect_fe), float(res.sd_eff_w_fe)


fz = lambda r: math.atanh(min(max(r, -1 + 1e-12), 1 - 1e-12))

for row in table:
    L, Hd = int(row["layer"]), int(row["head"])
    s = a[(a["layer"] == L) & (a["head"] == Hd) & (a["pos"] >= min_pos)]
    s = s[np.isfinite(s["q_norm"]) & np.isfinite(s["entropy"])]
    s = s[np.lexsort((s["pos"], s["doc"]))]
    name = f"L{L} H{Hd}"
    # Decomposition.
    fx = s[np.isfinite(s["entropy_fixed_norm"])]
    close(name + " n", row["n"], float(len(fx)))
    z, v, zf, vf, ssd, ssh = [], [], [], [], 0.0, 0.0
    for d in np.unique(fx["doc"]):
        g = fx[fx["doc"] == d]
        if len(g) < min_doc:
            continue
        x, y, f = (g[c].astype(np.float64) for c in ("q_norm", "entropy", "entropy_fixed_norm"))
        X = basis(g["pos"])
        ex, ey, ef = resid(X, x), resid(X, y), resid(X, f)
        if flat(ex, x) or flat(ey, y):
            continue
        r = float(stats.pearsonr(ex, ey).statistic)
        ne = n_eff(len(g), ex, ey)
        if not ne >= 4:
            continue
        if flat(ef, f):
            rf, nf = 0.0, ne
        else:
            rf = float(stats.pearsonr(ex, ef).statistic)
            nf = max(4.0, n_eff(len(g), ex, ef))
        z.append(fz(r)), v.append(1 / (ne - 3)), zf.append(fz(rf)), vf.append(1 / (nf - 3))
        ssd += float(np.sum((ey - ef) ** 2))
        ssh += float(np.sum(ey * ey))
    close(name + " docs", row["docs"], float(len(z)))
    if z:
        r, rf = math.tanh(dl(z, v)[0]), math.tanh(dl(zf, vf)[0])
        close(name + " r", row["r"], r)
        close(name + " r_fix", row["r_fix"], rf)
        frac = 1 - rf / r if abs(r) >= 0.05 and r * rf >= 0 else float("nan")
        close(name + " fraction_norm", row["fraction_norm"], frac, abs_=1e-7)
        close(name + " var_ratio_norm", row["var_ratio_norm"], ssd / ssh, abs_=1e-7)
    # Temperature slope.
    sv = s[np.isfinite(s["neg_var_score"]) & (s["q_norm"] > 0)]
    close(name + " slope_n", row["slope_n"], float(len(sv)))
    if len(sv):
        close(name + " neg_var_median", row["neg_var_median"], float(np.median(sv["neg_var_score"].astype(np.float64))))
    b, vb = [], []
    for d in np.unique(sv["doc"]):
        g = sv[sv["doc"] == d]
        if len(g) < min_doc:
            continue
        x, y = np.log(g["q_norm"].astype(np.float64)), g["entropy"].astype(np.float64)
        X = basis(g["pos"])
        ex, ey = resid(X, x), resid(X, y)
        if flat(ex, x):
            continue
        slope = float(np.sum(ex * ey) / np.sum(ex * ex))
        res = ey - slope * ex
        df = len(g) - (K + 1) - 1
        if df < 1:
            continue
        ne = n_eff(len(g), ex, res)
        if not ne >= 4:
            continue
        b.append(slope)
        vb.append(max(1e-20, float(np.sum(res * res)) / df / float(np.sum(ex * ex)) * len(g) / ne))
    if b:
        zs, se = dl(b, vb)
        close(name + " slope", row["slope"], zs, rel=1e-6, abs_=1e-9)
        close(name + " slope_ci_low", row["slope_ci_low"], zs - 1.959963984540054 * se, rel=1e-6, abs_=1e-9)

print(f"check_mechanism: {checked} values, {len(bad)} differences")
for m in bad[:30]:
    print("  " + m)
sys.exit(1 if bad or checked == 0 else 0)
