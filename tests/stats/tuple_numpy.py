"""numpy side of the tuple file tests.

  tuple_numpy.py check FILE N        np.load FILE and compare it with the pattern
                                     (record version 2, 15 fields)
  tuple_numpy.py write FILE N [v1]   write the pattern with np.save (record
                                     version 2, or the old 10-field version 1)
The pattern (row i) is mirrored in test_tuple_file.cpp.
"""
import sys
import numpy as np

DT1 = np.dtype([('doc', '<i4'), ('layer', '<i4'), ('head', '<i4'), ('kv_head', '<i4'), ('pos', '<i4'),
                ('token', '<i4'), ('q_norm', '<f4'), ('entropy', '<f4'), ('sink_mass', '<f4'), ('max_attn', '<f4')])
DT = np.dtype(DT1.descr + [('entropy_fixed_norm', '<f4'), ('neg_var_score', '<f4'), ('max_score', '<f4'),
                           ('logsumexp', '<f4'), ('k_budget', '<f4')])


def pattern(n, dt=DT):
    i = np.arange(n, dtype=np.int64)
    a = np.zeros(n, dt)
    a['doc'] = i // 100
    a['layer'] = (i // 10) % 3
    a['head'] = i % 10
    a['kv_head'] = (i % 10) // 2
    a['pos'] = i % 7
    a['token'] = (i * 31) % 1000 - 3
    a['q_norm'] = (i * 0.37 + 0.1).astype(np.float32)
    a['entropy'] = ((i % 13) * 0.5 - 1.25).astype(np.float32)
    a['sink_mass'] = (1.0 / (i + 1)).astype(np.float32)
    a['max_attn'] = ((i % 5) * 0.25).astype(np.float32)
    if dt is DT:
        a['entropy_fixed_norm'] = ((i % 11) * 0.3).astype(np.float32)
        a['neg_var_score'] = (-(i % 7) * 0.1).astype(np.float32)
        a['max_score'] = ((i % 9) - 2.5).astype(np.float32)
        a['logsumexp'] = (i * 0.01).astype(np.float32)
        k = ((i % 17) + 1).astype(np.float32)
        k[i % 5 == 4] = np.nan  # not measured
        a['k_budget'] = k
    return a


def main():
    mode, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == 'write':
        np.save(path, pattern(n, DT1 if sys.argv[4:] == ['v1'] else DT))
        return 0
    a = np.load(path)
    if a.dtype != DT:
        print('dtype mismatch', a.dtype)
        return 1
    if a.shape != (n,):
        print('shape mismatch', a.shape)
        return 1
    b = pattern(n)
    for f in DT.names:
        if not np.array_equal(a[f], b[f], equal_nan=a[f].dtype.kind == 'f'):
            print('field differs', f)
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
