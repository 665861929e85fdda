"""numpy side of the tuple file tests.

  tuple_numpy.py check FILE N   np.load FILE and compare it with the pattern
  tuple_numpy.py write FILE N   write the pattern with np.save
The pattern (row i) is mirrored in test_tuple_file.cpp.
"""
import sys
import numpy as np

DT = np.dtype([('doc', '<i4'), ('layer', '<i4'), ('head', '<i4'), ('kv_head', '<i4'), ('pos', '<i4'),
               ('token', '<i4'), ('q_norm', '<f4'), ('entropy', '<f4'), ('sink_mass', '<f4'), ('max_attn', '<f4')])


def pattern(n):
    i = np.arange(n, dtype=np.int64)
    a = np.zeros(n, DT)
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
    return a


def main():
    mode, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == 'write':
        np.save(path, pattern(n))
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
        if not np.array_equal(a[f], b[f]):
            print('field differs', f)
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
