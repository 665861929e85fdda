#!/usr/bin/env python3
"""Independent check of `spectra analyze`'s tables: recompute, with numpy,
scipy.stats and statsmodels straight from RUN_DIR/tuples.npy, the pooled
per-head statistics in heads.csv and the per-layer means in layers.csv, and
compare them to what Spectra wrote (relative 1e-9).

  check_run_tables.py RUN_DIR [MIN_POSITION] [MIN_DOC_POSITIONS]

Exit 0 when everything agrees; otherwise prints each disagreement and exits 1."""
import csv, math, sys
import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests

run = sys.argv[1]
min_pos = int(sys.argv[2]) if len(sys.argv) > 2 else 16
min_doc = int(sys.argv[3]) if len(sys.argv) > 3 else 10
a = np.load(f"{run}/tuples.npy")
heads = list(csv.DictReader(open(f"{run}/heads.csv")))
layers = list(csv.DictReader(open(f"{run}/layers.csv")))
bad = []

def close(name, ours, ref, rel=1e-9, abs_=1e-12):
    ours = float(ours)
    if math.isnan(ref) and math.isnan(ours):
        return
    if not (abs(ours - ref) <= abs_ + rel * abs(ref)):
        bad.append(f"{name}: spectra {ours!r} reference {ref!r}")

def pearson_or_nan(x, y, **kw):
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan"), float("nan")
    res = stats.pearsonr(x, y, **kw)
    return float(res.statistic), float(res.pvalue)

p_less = {}
for h in heads:
    L, Hd = int(h["layer"]), int(h["head"])
    sel = a[(a["layer"] == L) & (a["head"] == Hd) & (a["pos"] >= min_pos)]
    q = sel["q_norm"].astype(np.float64)
    e = sel["entropy"].astype(np.float64)
    lt = np.log(sel["pos"].astype(np.float64) + 1.0)
    tag = f"L{L} H{Hd}"
    close(f"{tag} n", h["n"], float(len(sel)), 0, 0)
    r, p2 = pearson_or_nan(q, e)
    close(f"{tag} r", h["r"], r)
    close(f"{tag} r_p_two_sided", h["r_p_two_sided"], p2, 1e-7, 1e-300)
    if not math.isnan(r):
        _, pl = pearson_or_nan(q, e, alternative="less")
        close(f"{tag} r_p_less", h["r_p_less"], pl, 1e-7, 1e-300)
        p_less[(L, Hd)] = pl
        z, se = math.atanh(r), 1.0 / math.sqrt(len(q) - 3)
        zc = stats.norm.ppf(0.975)
        close(f"{tag} r_ci_low", h["r_ci_low"], math.tanh(z - zc * se))
        close(f"{tag} r_ci_high", h["r_ci_high"], math.tanh(z + zc * se))
        rho = stats.spearmanr(q, e)
        close(f"{tag} rho", h["rho"], float(rho.statistic))
        close(f"{tag} rho_p_two_sided", h["rho_p_two_sided"], float(rho.pvalue), 1e-7, 1e-300)
        rn, _ = pearson_or_nan(q, e / lt)
        close(f"{tag} r_norm_entropy", h["r_norm_entropy"], rn)
        X = np.column_stack([np.ones_like(lt), lt])
        res = lambda y: y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
        pr, _ = pearson_or_nan(res(q), res(e))
        close(f"{tag} partial_r", h["partial_r"], pr, 1e-8)
        per_doc = []
        for d in np.unique(sel["doc"]):
            s = sel[sel["doc"] == d]
            if len(s) >= min_doc:
                rd, _ = pearson_or_nan(s["q_norm"].astype(np.float64), s["entropy"].astype(np.float64))
                if not math.isnan(rd):
                    per_doc.append(rd)
        close(f"{tag} doc_r_mean", h["doc_r_mean"], float(np.mean(per_doc)))
        close(f"{tag} doc_r_sd", h["doc_r_sd"], float(np.std(per_doc, ddof=1)))

# The head test's p (p_primary) is the one-sided document-level p of the
# within-document statistic (criteria direction negative, one-sided, the
# defaults); p_bh / p_by / p_bonferroni adjust it across the heads with one.
prim = [(h, float(h["within_p_less"])) for h in heads if not math.isnan(float(h["within_p_less"]))]
for method, col in (("fdr_bh", "p_bh"), ("fdr_by", "p_by"), ("bonferroni", "p_bonferroni")):
    adj = multipletests([p for _, p in prim], method=method)[1] if prim else []
    for (h, p), v in zip(prim, adj):
        close(f"L{h['layer']} H{h['head']} p_primary", h["p_primary"], p, 0, 0)
        close(f"L{h['layer']} H{h['head']} {col}", h[col], float(v), 1e-9, 1e-300)

for row in layers:
    rs = [float(h["r"]) for h in heads if h["layer"] == row["layer"] and not math.isnan(float(h["r"]))]
    close(f"layer {row['layer']} mean_r", row["mean_r"], float(np.mean(rs)))
    close(f"layer {row['layer']} mean_abs_r", row["mean_abs_r"], float(np.mean(np.abs(rs))))

if bad:
    print("\n".join(bad))
    sys.exit(1)
print(f"check_run_tables: {len(heads)} heads and {len(layers)} layers agree with scipy/statsmodels")
