#!/usr/bin/env python3
"""Write a synthetic, finished study run folder for the report tests.

tuples.npy holds (doc, layer, head, kv_head, pos, token, q_norm, entropy,
sink_mass, max_attn) rows; heads.csv, layers.csv, docs.csv and summary.json
are computed from them with numpy/scipy, in the column layout of the
statistics code. One strong negative head and one moderate positive head are
planted; every other head is noise plus a position trend.

usage: make_run.py OUT_DIR [--layers 4] [--heads 6] [--docs 3] [--len 256]
                           [--strong L,H] [--positive L,H] [--seed 1]
"""
import argparse, json, os, sys
import numpy as np
from scipy import stats

DTYPE = np.dtype([("doc", "<i4"), ("layer", "<i4"), ("head", "<i4"), ("kv_head", "<i4"), ("pos", "<i4"),
                  ("token", "<i4"), ("q_norm", "<f4"), ("entropy", "<f4"), ("sink_mass", "<f4"),
                  ("max_attn", "<f4")])
MIN_POS = 4


def parse_pair(s):
    a, b = s.split(",")
    return int(a), int(b)


def bh(p):
    p = np.asarray(p, float); m = len(p); order = np.argsort(p)
    adj = np.empty(m); prev = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]; prev = min(prev, min(1.0, m * p[i] / rank)); adj[i] = prev
    return adj


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=6)
    ap.add_argument("--docs", type=int, default=3)
    ap.add_argument("--len", type=int, default=256)
    ap.add_argument("--strong", default="2,4")
    ap.add_argument("--positive", default="1,1")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-head-docs", action="store_true", help="omit head_docs.csv (the report then computes it)")
    a = ap.parse_args()
    L, H, D, T = a.layers, a.heads, a.docs, a.len
    strong, positive = parse_pair(a.strong), parse_pair(a.positive)
    rng = np.random.default_rng(a.seed)
    os.makedirs(a.out, exist_ok=True)

    rows = np.zeros(D * L * H * T, dtype=DTYPE)
    i = 0
    t = np.arange(T)
    logt = np.log(t + 1.0)
    for d in range(D):
        tokens = rng.integers(0, 1000, T)
        for l in range(L):
            for h in range(H):
                z = rng.standard_normal(T)
                q = 8.0 + 0.3 * l + 1.5 * z + 0.2 * logt
                if (l, h) == strong:
                    frac = 1 / (1 + np.exp(1.6 * z + 0.35 * rng.standard_normal(T)))
                elif (l, h) == positive:
                    frac = 1 / (1 + np.exp(-0.6 * z + 0.8 * rng.standard_normal(T)))
                else:
                    frac = 1 / (1 + np.exp(-(0.1 * h - 0.2) + 0.9 * rng.standard_normal(T)))
                ent = frac * logt
                sink = np.clip(rng.beta(2, 5, T), 0, 1); sink[0] = 1.0
                sl = slice(i, i + T)
                rows["doc"][sl] = d; rows["layer"][sl] = l; rows["head"][sl] = h; rows["kv_head"][sl] = h // 2
                rows["pos"][sl] = t; rows["token"][sl] = tokens
                rows["q_norm"][sl] = q; rows["entropy"][sl] = ent
                rows["sink_mass"][sl] = sink; rows["max_attn"][sl] = np.maximum(sink, 0.1)
                i += T
    np.save(os.path.join(a.out, "tuples.npy"), rows)

    keep = rows[rows["pos"] >= MIN_POS]
    heads, docs = [], []
    for l in range(L):
        for h in range(H):
            sel = keep[(keep["layer"] == l) & (keep["head"] == h)]
            x = sel["q_norm"].astype(float); y = sel["entropy"].astype(float); pos = sel["pos"].astype(float)
            n = len(x)
            r, p_two = stats.pearsonr(x, y)
            p = stats.pearsonr(x, y, alternative="less").pvalue
            rho, rho_p = stats.spearmanr(x, y)
            zf = np.arctanh(r); se = 1 / np.sqrt(n - 3)
            Z = np.column_stack([np.ones(n), np.log(pos + 1)])
            rx = x - Z @ np.linalg.lstsq(Z, x, rcond=None)[0]
            ry = y - Z @ np.linalg.lstsq(Z, y, rcond=None)[0]
            pr = np.corrcoef(rx, ry)[0, 1]
            tt = pr * np.sqrt((n - 3) / (1 - pr * pr))
            pp = stats.t.cdf(tt, n - 3)
            rn = stats.pearsonr(x, y / np.log(pos + 1))[0]
            shuf = [abs(np.corrcoef(rng.permutation(x), y)[0, 1]) for _ in range(50)]
            circ = np.corrcoef(np.roll(x, n // 3), y)[0, 1]
            drs = []
            for d in range(D):
                s2 = sel[sel["doc"] == d]
                dr = np.corrcoef(s2["q_norm"], s2["entropy"])[0, 1]
                drs.append(dr)
                docs.append(dict(doc=d, layer=l, head=h, n=len(s2), r=dr))
            drs = np.array(drs)
            sign = np.mean(np.sign(drs) == np.sign(r))
            frac_meeting = np.mean(drs <= -0.5)
            heads.append(dict(layer=l, head=h, n=n, pearson_r=r, pearson_p=p, spearman_rho=rho, spearman_p=rho_p,
                              r_ci_low=np.tanh(zf - 1.96 * se), r_ci_high=np.tanh(zf + 1.96 * se),
                              partial_r=pr, partial_p=pp, r_norm_entropy=rn,
                              shuffle_mean_abs_r=np.mean(shuf), shuffle_p95_abs_r=np.percentile(shuf, 95),
                              circular_r=circ, circular_q95=abs(circ) + 0.02, frac_meeting=frac_meeting,
                              kv_head=h // 2, mean_sink_mass=0.3, dropped_nonfinite=0, doc_mean_r=drs.mean(), doc_sd_r=drs.std(ddof=1) if D > 1 else 0.0,
                              sign_agreement=sign, n_docs=D))
    pbh = bh([hd["pearson_p"] for hd in heads])
    cm = np.sum(1.0 / np.arange(1, len(heads) + 1))
    for hd, b in zip(heads, pbh):
        hd["p_bh"] = b
        hd["p_by"] = min(1.0, b * cm)
        hd["crit_n"] = hd["n"] >= 30
        hd["crit_r"] = hd["pearson_r"] <= -0.5
        hd["crit_p"] = hd["p_bh"] < 0.01
        hd["crit_null"] = hd["shuffle_mean_abs_r"] <= 0.05 and abs(hd["pearson_r"]) > hd["shuffle_p95_abs_r"]
        hd["crit_docs"] = hd["frac_meeting"] >= 0.8
        hd["passes"] = all(hd[k] for k in ["crit_n", "crit_r", "crit_p", "crit_null", "crit_docs"])
        hd["strong_opposite"] = hd["pearson_r"] >= 0.5 and hd["p_bh"] < 0.01

    # Columns of src/stats/run_tables.cpp (heads.csv), filled where the
    # generator computes the value, nan elsewhere.
    cols = ["layer", "head", "kv_head", "n", "docs",
            "r", "r_p_two_sided", "r_p_less", "r_p_greater", "r_ci_low", "r_ci_high",
            "rho", "rho_p_two_sided", "rho_p_less",
            "r_norm_entropy", "r_norm_entropy_p_two_sided", "r_norm_entropy_p_less",
            "partial_r", "partial_p_two_sided", "partial_p_less",
            "shuffle_mean_r", "shuffle_mean_abs_r", "shuffle_q95_abs_r", "shuffle_p_two_sided", "shuffle_p_less",
            "circular_mean_r", "circular_mean_abs_r", "circular_q95_abs_r", "circular_p_two_sided", "circular_p_less",
            "p_primary", "p_bh", "p_by", "p_bonferroni", "p_adjusted", "bonferroni_significant",
            "doc_r_mean", "doc_r_sd", "doc_sign_agreement", "doc_frac_meeting",
            "doc_fisher_z_mean", "doc_fisher_t", "doc_fisher_p_two_sided", "doc_fisher_p_less",
            "mean_q_norm", "mean_entropy", "mean_sink_mass",
            "crit_n", "crit_r", "crit_p", "crit_null", "crit_docs", "passes", "strong_opposite",
            "dropped_nonfinite", "note"]
    alias = {"docs": "n_docs", "r": "pearson_r", "r_p_less": "pearson_p", "rho": "spearman_rho",
             "rho_p_two_sided": "spearman_p", "partial_p_less": "partial_p", "shuffle_q95_abs_r": "shuffle_p95_abs_r",
             "circular_mean_r": "circular_r", "circular_q95_abs_r": "circular_q95", "p_primary": "pearson_p",
             "p_adjusted": "p_bh", "doc_r_mean": "doc_mean_r", "doc_r_sd": "doc_sd_r",
             "doc_sign_agreement": "sign_agreement", "doc_frac_meeting": "frac_meeting"}

    def fmt(v):
        if isinstance(v, (bool, np.bool_)): return "1" if v else "0"
        if isinstance(v, (int, np.integer)): return str(int(v))
        if isinstance(v, str): return v
        return repr(float(v)) if np.isfinite(v) else "nan"

    with open(os.path.join(a.out, "heads.csv"), "w") as f:
        f.write(",".join(cols) + "\n")
        for hd in heads:
            f.write(",".join(fmt(hd.get(alias.get(c, c), float("nan") if c != "note" else "")) for c in cols) + "\n")
    if not a.no_head_docs:
        with open(os.path.join(a.out, "head_docs.csv"), "w") as f:
            f.write("layer,head,doc,n,r\n")
            for dd in sorted(docs, key=lambda x: (x["layer"], x["head"], x["doc"])):
                f.write(",".join(fmt(dd[c]) for c in ["layer", "head", "doc", "n", "r"]) + "\n")
    with open(os.path.join(a.out, "layers.csv"), "w") as f:
        f.write("layer,heads,mean_r,mean_abs_r,mean_partial_r,mean_abs_partial_r,heads_passing,frac_passing,strong_opposite\n")
        for l in range(L):
            hs = [hd for hd in heads if hd["layer"] == l]
            f.write(",".join(fmt(v) for v in [l, len(hs), np.mean([x["pearson_r"] for x in hs]),
                                             np.mean([abs(x["pearson_r"]) for x in hs]),
                                             np.mean([x["partial_r"] for x in hs]),
                                             np.mean([abs(x["partial_r"]) for x in hs]),
                                             sum(x["passes"] for x in hs), np.mean([x["passes"] for x in hs]),
                                             sum(x["strong_opposite"] for x in hs)]) + "\n")
    with open(os.path.join(a.out, "docs.csv"), "w") as f:
        f.write("doc,source,tokens,perplexity,positions,heads,mean_r,mean_abs_r,frac_heads_meeting,passing_heads_agreeing\n")
        for d in range(D):
            rs = [x["r"] for x in docs if x["doc"] == d]
            f.write(",".join(fmt(v) for v in [d, "synthetic/doc%d.txt" % d, T, float("nan"), T - MIN_POS, len(rs),
                                             np.mean(rs), np.mean(np.abs(rs)), np.mean(np.array(rs) <= -0.5),
                                             float("nan")]) + "\n")
    n_pass = sum(hd["passes"] for hd in heads)
    N = len(heads)
    required = max(1, int(np.ceil(0.05 * N)))

    def crit(name, rule, thr, key):
        k = sum(bool(hd[key]) for hd in heads)
        return {"name": name, "scope": "head", "rule": rule, "threshold": thr, "measured": k / N,
                "heads_meeting": k, "verdict": "pass" if k >= required else "fail"}

    summary = {
        "decision": "GO" if n_pass >= required else "NO-GO",
        "hypothesis": "H1: per (layer, head), the query norm ||q|| and the attention entropy H are negatively correlated",
        "heads": N, "tests": N, "heads_passing": n_pass, "required_heads": required,
        "criteria": [
            crit("min_n", "n >= 30 pooled pairs and r defined", 30, "crit_n"),
            crit("r_threshold", "r <= -0.5", 0.5, "crit_r"),
            crit("alpha", "BH-adjusted one-sided 'less' Pearson p < 0.01", 0.01, "crit_p"),
            crit("null_control", "mean |r*| of the within-document shuffle null <= 0.05", 0.05, "crit_null"),
            crit("document_agreement", "fraction of documents with r_d <= -0.5 is >= 0.8", 0.8, "crit_docs"),
            {"name": "meaningful_subset", "scope": "study",
             "rule": "heads passing all head criteria >= max(1, ceil(0.05 * heads)) = %d" % required,
             "threshold": 0.05, "measured": n_pass / N, "heads_meeting": n_pass,
             "verdict": "pass" if n_pass >= required else "fail"},
        ],
        "passing_heads": [{"layer": hd["layer"], "head": hd["head"], "r": hd["pearson_r"]} for hd in heads if hd["passes"]],
        "config": {"analysis": {"min_position": MIN_POS, "permutations": 50, "seed": a.seed,
                                "min_doc_positions": 10},
                   "criteria": {"direction": "negative", "r_threshold": 0.5, "alpha": 0.01}},
        "provenance": {
            "model": {"path": "synthetic.gguf", "format": "gguf",
                      "files": [{"name": "synthetic.gguf", "bytes": 1234, "sha256": "0" * 64}]},
            "precision": "fp32", "context": T,
            "corpus": {"name": "synthetic", "documents": D},
            "tool": {"version": "0.1.0", "git_commit": "test"},
        },
        "timings": {"measure_s": 1.5, "analysis_s": 0.25},
    }
    with open(os.path.join(a.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    with open(os.path.join(a.out, "config.toml"), "w") as f:
        f.write('[analysis]\nmin_position = %d\npermutations = 50\nmin_doc_positions = 10\n\n'
                '[criteria]\ndirection = "negative"\n' % MIN_POS)


if __name__ == "__main__":
    main()
