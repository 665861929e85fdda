#!/usr/bin/env python3
"""Independent check of the PRIMARY statistic in heads.csv / head_docs.csv /
docs.csv: recomputed from RUN_DIR/tuples.npy with numpy (least squares on the
position basis), scipy.stats (Pearson r, normal p-values) and statsmodels
(combine_effects(method_re="dl") for DerSimonian-Laird), for both the entropy
H and the content entropy H_c = (H - h_b(p0)) / (1 - p0).

  check_within.py RUN_DIR [MIN_POSITION] [MIN_DOC_POSITIONS] [KNOTS] [CONFIDENCE]

Compares (relative 1e-9): per document within_r / within_n_eff / content_r /
content_n_eff; per head within_r, CI, z, SE, tau2, I2, Q, docs, p (two-sided,
less, greater), the same content_* columns, and the split halves half_a_r /
half_b_r (halves read from docs.csv). Exit 0 when all agree."""
import csv, math, sys
import numpy as np
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects

run = sys.argv[1]
min_pos = int(sys.argv[2]) if len(sys.argv) > 2 else 16
min_doc = int(sys.argv[3]) if len(sys.argv) > 3 else 10
K = int(sys.argv[4]) if len(sys.argv) > 4 else 5
conf = float(sys.argv[5]) if len(sys.argv) > 5 else 0.95
a = np.load(f"{run}/tuples.npy")
heads = list(csv.DictReader(open(f"{run}/heads.csv")))
hdocs = {(int(r["layer"]), int(r["head"]), int(r["doc"])): r for r in csv.DictReader(open(f"{run}/head_docs.csv"))}
half = {int(r["doc"]): r["half"] for r in csv.DictReader(open(f"{run}/docs.csv"))}
bad = []
checked = 0


def close(name, ours, ref, rel=1e-9, abs_=1e-12):
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
    cols = [np.ones_like(s), np.log(t + 1.0), s] + [d(k) - d(K - 2) for k in range(K - 2)]
    return np.column_stack(cols)


def resid(X, y):
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    return y - X @ beta


def lag1(e):
    return float(np.sum(e[1:] * e[:-1]) / np.sum(e * e))


def doc_stat(t, x, y):
    """(r, n_eff) or (nan, nan)"""
    X = basis(t)
    ex, ey = resid(X, x), resid(X, y)
    if not (np.sum(ex * ex) > 1e-12 * np.sum(x * x)) or not (np.sum(ey * ey) > 1e-12 * np.sum(y * y)):
        return float("nan"), float("nan")
    r = float(stats.pearsonr(ex, ey).statistic)
    rr = lag1(ex) * lag1(ey)
    ne = min(len(t), len(t) * (1 - rr) / (1 + rr))
    return r, ne


def dl_from_statsmodels(res):
    """(z*, SE, tau2, I2) of DerSimonian-Laird. statsmodels' moment estimate of
    tau2 is not truncated at 0; DerSimonian-Laird (and Spectra) truncate it, and
    with tau2 = 0 the random-effects estimate is the fixed-effect one, which
    statsmodels also gives (mean_effect_fe, sd_eff_w_fe)."""
    if float(res.tau2) >= 0:
        return float(res.mean_effect_re), float(res.sd_eff_w_re), float(res.tau2), max(0.0, float(res.i2))
    return float(res.mean_effect_fe), float(res.sd_eff_w_fe), 0.0, max(0.0, float(res.i2))


def meta(zs, vs, prefix, h, tag):
    k = len(zs)
    close(f"{tag} {prefix}docs", h[f"{prefix}docs"], float(k), 0, 0)
    if k < 2:
        return
    res = combine_effects(np.array(zs), np.array(vs), method_re="dl")
    z, se, tau2, i2 = dl_from_statsmodels(res)
    close(f"{tag} {prefix}z", h[f"{prefix}z"], z)
    close(f"{tag} {prefix}se", h[f"{prefix}se"], se)
    close(f"{tag} {prefix}r", h[f"{prefix}r"], math.tanh(z))
    close(f"{tag} {prefix}tau2", h[f"{prefix}tau2"], tau2, 1e-9, 1e-15)
    close(f"{tag} {prefix}i2", h[f"{prefix}i2"], i2, 1e-9, 1e-12)
    close(f"{tag} {prefix}q", h[f"{prefix}q"], float(res.q), 1e-9, 1e-12)
    zc = stats.norm.ppf(0.5 + conf / 2)
    close(f"{tag} {prefix}ci_low", h[f"{prefix}ci_low"], math.tanh(z - zc * se))
    close(f"{tag} {prefix}ci_high", h[f"{prefix}ci_high"], math.tanh(z + zc * se))
    zs_ = z / se
    close(f"{tag} {prefix}p_two_sided", h[f"{prefix}p_two_sided"], float(2 * stats.norm.sf(abs(zs_))), 1e-7, 1e-300)
    close(f"{tag} {prefix}p_less", h[f"{prefix}p_less"], float(stats.norm.cdf(zs_)), 1e-7, 1e-300)
    close(f"{tag} {prefix}p_greater", h[f"{prefix}p_greater"], float(stats.norm.sf(zs_)), 1e-7, 1e-300)
    return res


def hb(p):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p > 0, -p * np.log(p), 0.0) - (1 - p) * np.log1p(-p)


for h in heads:
    L, Hd = int(h["layer"]), int(h["head"])
    sel = a[(a["layer"] == L) & (a["head"] == Hd) & (a["pos"] >= min_pos)]
    sel = sel[np.isfinite(sel["q_norm"]) & np.isfinite(sel["entropy"])]
    tag = f"L{L} H{Hd}"
    for which, prefix, col in (("H", "within_", "within"), ("Hc", "content_", "content")):
        zs, vs, za, va, zb, vb = [], [], [], [], [], []
        for doc in sorted(set(sel["doc"].tolist())):
            s = np.sort(sel[sel["doc"] == doc], order="pos")
            x = s["q_norm"].astype(np.float64)
            y = s["entropy"].astype(np.float64)
            t = s["pos"]
            if which == "Hc":
                p0 = s["sink_mass"].astype(np.float64)
                ok = (p0 >= 0) & (p0 < 1 - 1e-6)
                with np.errstate(divide="ignore", invalid="ignore"):
                    y = (y - hb(p0)) / (1 - p0)
                x, y, t = x[ok], y[ok], t[ok]
            r, ne = float("nan"), float("nan")
            if len(t) >= min_doc:
                r, ne = doc_stat(t, x, y)
                if not (ne >= 4):
                    r, ne = float("nan"), float("nan")
            hd = hdocs[(L, Hd, int(doc))]
            close(f"{tag} doc {doc} {col}_r", hd[f"{col}_r"], r)
            close(f"{tag} doc {doc} {col}_n_eff", hd[f"{col}_n_eff"], ne)
            if math.isnan(r):
                continue
            z = math.atanh(min(max(r, -1 + 1e-12), 1 - 1e-12))
            v = 1.0 / (ne - 3.0)
            zs.append(z), vs.append(v)
            (za if half[int(doc)] == "A" else zb).append(z)
            (va if half[int(doc)] == "A" else vb).append(v)
        meta(zs, vs, prefix, h, tag)
        if which == "H":  # halves of the decision entropy (default: total)
            for nm, zz, vv in (("half_a_r", za, va), ("half_b_r", zb, vb)):
                if len(zz) >= 2:
                    zh = dl_from_statsmodels(combine_effects(np.array(zz), np.array(vv), method_re="dl"))[0]
                    close(f"{tag} {nm}", h[nm], math.tanh(zh))

if bad:
    print(f"{len(bad)} disagreements of {checked} values:")
    for b in bad[:50]:
        print("  " + b)
    sys.exit(1)
print(f"check_within: {checked} values agree")
