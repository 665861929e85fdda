"""Independent recomputation of budget.csv (src/stats/budget.hpp) from the run
folder's tuples.npy and docs.csv (half A = fit, half B = evaluation), numpy
only, with its own pool-adjacent-violators.

  check_budget.py RUN_DIR MIN_POSITION

Checks, per head with a defined budget row: n_fit, n_eval, the fit-half fixed
budget b90, the common mean budget B*, and the held-out coverage of the five
policies (within one token: a budget landing exactly on an integer k could
flip with rounding). Exit 1 on any difference.
"""
import csv
import math
import sys

import numpy as np

POLICIES = ["fixed", "position", "qnorm", "qnorm_position", "prev_k"]


def pav(x, y, increasing):
    """Isotonic least squares of y on x; returns (unique x ascending, fitted values)."""
    sign = 1.0 if increasing else -1.0
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], sign * y[order]
    ux, start = np.unique(xs, return_index=True)
    counts = np.diff(np.append(start, len(xs)))
    means = np.add.reduceat(ys, start) / counts
    blocks = []  # [sum, weight, end]
    for i in range(len(ux)):
        blocks.append([means[i] * counts[i], float(counts[i]), i + 1])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s, w, e = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += w
            blocks[-1][2] = e
    fitted = np.empty(len(ux))
    b = 0
    for s, w, e in blocks:
        fitted[b:e] = sign * s / w
        b = e
    return ux, fitted


def step(f, v):
    ux, fy = f
    i = np.searchsorted(ux, v, side="right") - 1
    return fy[np.maximum(i, 0)]


def best(x, y):
    inc, dec = pav(x, y, True), pav(x, y, False)
    sse_inc = np.sum((y - step(inc, x)) ** 2)
    sse_dec = np.sum((y - step(dec, x)) ** 2)
    return (dec, -1) if sse_dec < sse_inc else (inc, 1)


def mean_budget(g, cap, c):
    return np.mean(np.minimum(cap, np.exp(g + c)))


def match(g, cap, target):
    lo = math.log(1e-9) - g.max()
    hi = math.log(2.0 * cap.max()) - g.min()
    if mean_budget(g, cap, hi) <= target:
        return hi
    for _ in range(100):
        if hi - lo <= 1e-10:
            break
        mid = 0.5 * (lo + hi)
        if mean_budget(g, cap, mid) < target:
            lo = mid
        else:
            hi = mid
    return hi


def main():
    run, min_pos = sys.argv[1], int(sys.argv[2])
    a = np.load(f"{run}/tuples.npy")
    with open(f"{run}/docs.csv") as f:
        half = {int(r["doc"]): r["half"] for r in csv.DictReader(f)}
    with open(f"{run}/budget.csv") as f:
        table = {(int(r["layer"]), int(r["head"])): r for r in csv.DictReader(f)}
    bad = 0
    checked = 0
    for (layer, head), row in sorted(table.items()):
        sel = a[(a["layer"] == layer) & (a["head"] == head)]
        # k_budget of position pos − 1 in the same document (before the cut).
        prev = {(int(d), int(p)): float(k) for d, p, k in zip(sel["doc"], sel["pos"], sel["k_budget"])}
        keep = (sel["pos"] >= min_pos) & np.isfinite(sel["q_norm"]) & np.isfinite(sel["entropy"])
        keep &= np.isfinite(sel["k_budget"]) & (sel["k_budget"] >= 1) & (sel["q_norm"] > 0)
        s = sel[keep]
        order = np.lexsort((s["pos"], s["doc"]))
        s = s[order]
        lq = np.log(s["q_norm"].astype(np.float64))
        lt = np.log(s["pos"].astype(np.float64) + 1.0)
        cap = s["pos"].astype(np.float64) + 1.0
        k = s["k_budget"].astype(np.float64)
        lk = np.log(k)
        kp = np.array([prev.get((int(d), int(p) - 1), np.nan) for d, p in zip(s["doc"], s["pos"])])
        lkp = np.where(np.isfinite(kp) & (kp >= 1), np.log(np.where(kp >= 1, kp, 1.0)), np.nan)
        fit = np.array([half[int(d)] == "A" for d in s["doc"]])
        ev = ~fit
        if int(row["n_fit"]) != fit.sum() or int(row["n_eval"]) != ev.sum():
            print(f"L{layer} H{head}: n_fit/n_eval {row['n_fit']}/{row['n_eval']} vs {fit.sum()}/{ev.sum()}")
            bad += 1
            continue
        if fit.sum() == 0 or ev.sum() == 0:
            continue
        kf = np.sort(k[fit])
        idx = max(int(math.ceil(0.9 * len(kf) - 1e-9)), 1) - 1
        b90 = kf[idx]
        target = np.mean(np.minimum(cap[fit], b90))
        f_pos, dpos = best(lt[fit], lk[fit])
        f_q, dq = best(lq[fit], lk[fit])
        m = np.mean(lk[fit])
        f2 = (np.array([lt[fit][0]]), np.array([0.0]))
        for _ in range(10):
            f1 = pav(lq[fit], lk[fit] - m - step(f2, lt[fit]), dq > 0)
            f1 = (f1[0], f1[1] - np.mean(step(f1, lq[fit])))
            f2 = pav(lt[fit], lk[fit] - m - step(f1, lq[fit]), dpos > 0)
            f2 = (f2[0], f2[1] - np.mean(step(f2, lt[fit])))
        g = {
            "fixed": np.zeros(ev.sum()),
            "position": step(f_pos, lt[ev]),
            "qnorm": step(f_q, lq[ev]),
            "qnorm_position": m + step(f1, lq[ev]) + step(f2, lt[ev]),
            "prev_k": np.where(np.isnan(lkp[ev]), m, lkp[ev]),
        }
        checks = [("fixed_budget_fit", b90, 0.0), ("mean_budget", target, 1e-9 * target)]
        checks.append(("dir_qnorm", dq, 0.0))
        checks.append(("dir_position", dpos, 0.0))
        for p in POLICIES:
            c = match(g[p], cap[ev], target)
            b = np.minimum(cap[ev], np.exp(g[p] + c))
            checks.append(("coverage_" + p, np.mean(b >= k[ev] * (1.0 - 1e-9)), 1.5 / ev.sum()))
        for name, want, tol in checks:
            got = float(row[name])
            if not abs(got - want) <= tol:
                print(f"L{layer} H{head}: {name} = {got}, recomputed {want}")
                bad += 1
        checked += 1
    if checked == 0:
        print("no head with a defined budget row: nothing was checked")
        return 1
    print(f"check_budget: {checked} heads, {bad} differences")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
