"""Reference values for the statistics tests, from scipy / statsmodels / numpy.

  stats_reference.py OUT.json

Writes synthetic cases (ties, outliers, n = 3, constant input, large offsets)
with the reference values the C++ code must reproduce to 1e-9. NaN is written
as null. Consumed by test_statistics.cpp.
"""
import json
import math
import sys
import warnings

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests

warnings.simplefilter('ignore')


def f(v):
    v = float(v)
    return None if math.isnan(v) else v


def pearson_ref(x, y):
    out = {}
    for alt, key in (('two-sided', 'p_two'), ('less', 'p_less'), ('greater', 'p_greater')):
        res = stats.pearsonr(x, y, alternative=alt)
        out['r'] = f(res.statistic)
        out[key] = f(res.pvalue)
    res = stats.pearsonr(x, y)
    n = len(x)
    if n > 3 and not math.isnan(res.statistic):
        ci = res.confidence_interval(0.95)
        out['ci_low'], out['ci_high'] = f(ci.low), f(ci.high)
        # the textbook formula, for the record
        h = stats.norm.ppf(0.975)
        z = math.atanh(res.statistic)
        out['ci_low_formula'] = math.tanh(z - h / math.sqrt(n - 3))
        out['ci_high_formula'] = math.tanh(z + h / math.sqrt(n - 3))
    else:
        out['ci_low'] = out['ci_high'] = None
    return out


def spearman_ref(x, y):
    out = {}
    for alt, key in (('two-sided', 'p_two'), ('less', 'p_less')):
        res = stats.spearmanr(x, y, alternative=alt)
        out['r'] = f(res.statistic)
        out[key] = f(res.pvalue)
    return out


def partial_ref(x, y, z):
    x, y, z = map(np.asarray, (x, y, z))
    n = len(x)
    if np.all(x == x[0]) or np.all(y == y[0]) or np.all(z == z[0]) or n < 3:
        return {'r': None, 'p_two': None, 'p_less': None}
    A = np.column_stack([np.ones(n), z])
    ex = x - A @ np.linalg.lstsq(A, x, rcond=None)[0]
    ey = y - A @ np.linalg.lstsq(A, y, rcond=None)[0]
    ex = ex - ex.mean()
    ey = ey - ey.mean()
    r = float(np.dot(ex, ey) / math.sqrt(np.dot(ex, ex) * np.dot(ey, ey)))
    df = n - 3
    if df <= 0:
        return {'r': r, 'p_two': 1.0, 'p_less': 1.0}
    if abs(r) >= 1:
        return {'r': r, 'p_two': 0.0, 'p_less': 0.0 if r < 0 else 1.0}
    t = r * math.sqrt(df / ((1 - r) * (1 + r)))
    return {'r': r, 'p_two': float(2 * stats.t.sf(abs(t), df)), 'p_less': float(stats.t.cdf(t, df))}


def case(name, x, y, z=None):
    x = [float(v) for v in x]
    y = [float(v) for v in y]
    if z is None:
        z = list(np.log(np.arange(len(x)) + 17.0))
    z = [float(v) for v in z]
    return {'name': name, 'x': x, 'y': y, 'z': z, 'pearson': pearson_ref(x, y), 'spearman': spearman_ref(x, y),
            'partial': partial_ref(x, y, z)}


def main():
    rng = np.random.default_rng(12345)
    cases = []
    x = rng.normal(size=50)
    cases.append(case('normal50', x, -0.4 * x + rng.normal(size=50)))
    cases.append(case('n3', [1.0, 2.5, 2.0], [3.0, 1.0, 2.5], [0.1, 0.7, 0.2]))
    cases.append(case('n3_ties', [1.0, 2.0, 2.0], [3.0, 1.0, 2.5], [0.0, 1.0, 3.0]))
    cases.append(case('ties', rng.integers(0, 5, 40), rng.integers(0, 4, 40)))
    x = rng.normal(size=30)
    y = 0.3 * x + rng.normal(size=30)
    x[3], y[17] = 1e6, -5e5
    cases.append(case('outliers', x, y))
    cases.append(case('constant_x', [2.0] * 12, rng.normal(size=12)))
    cases.append(case('constant_y', rng.normal(size=12), [0.5] * 12))
    x = 1e6 + rng.normal(size=5000)
    cases.append(case('large_offset', x, 1e-3 * (x - 1e6) + 3e4 + 0.001 * rng.normal(size=5000)))
    x = rng.normal(size=200)
    cases.append(case('negative_strong', x, -2.0 * x + 0.3 * rng.normal(size=200), x + rng.normal(size=200)))
    t = np.arange(16, 400)
    q = 5 + 0.002 * t + rng.normal(size=t.size)
    h = np.log(t + 1) * (0.8 - 0.05 * q) + 0.1 * rng.normal(size=t.size)
    cases.append(case('position', q, h, np.log(t + 1.0)))
    cases.append(case('perfect', np.arange(10), 2 * np.arange(10) + 1))

    # multiple testing: ties, zeros, ones
    p = np.concatenate([rng.uniform(size=40) ** 3, [0.0, 1.0, 0.01, 0.01, 0.01, 0.5, 0.5]])
    mt = {'p': [float(v) for v in p]}
    for method, key in (('fdr_bh', 'bh'), ('fdr_by', 'by'), ('bonferroni', 'bonferroni')):
        mt[key] = [float(v) for v in multipletests(p, method=method)[1]]
    mt['bh_scipy'] = [float(v) for v in stats.false_discovery_control(p, method='bh')]
    mt['by_scipy'] = [float(v) for v in stats.false_discovery_control(p, method='by')]

    # percentile (numpy default, linear)
    v = rng.normal(size=101)
    pct = {'v': [float(a) for a in v], 'q95': float(np.percentile(np.abs(v), 95)), 'abs': True}

    # Fisher-z t test across documents
    rd = np.clip(rng.normal(-0.4, 0.15, size=9), -0.99, 0.99)
    z = np.arctanh(rd)
    fz = {'r_d': [float(a) for a in rd], 'mean': float(rd.mean()), 'sd': float(rd.std(ddof=1)),
          'z_mean': float(z.mean())}
    for alt, key in (('two-sided', 'p_two'), ('less', 'p_less')):
        res = stats.ttest_1samp(z, 0.0, alternative=alt)
        fz['t'] = float(res.statistic)
        fz[key] = float(res.pvalue)

    ranks = {'v': [3.0, 1.0, 2.0, 2.0, 5.0, 1.0, 2.0], 'ranks': [float(a) for a in stats.rankdata([3, 1, 2, 2, 5, 1, 2])]}
    with open(sys.argv[1], 'w') as fh:
        json.dump({'cases': cases, 'multiple_testing': mt, 'percentile': pct, 'fisher': fz, 'ranks': ranks}, fh)


if __name__ == '__main__':
    main()
