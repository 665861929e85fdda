#!/usr/bin/env python3
"""Reference dequantizations from the PyPI `gguf` package, for test_dequantize.

usage: make_dequant_reference.py OUTDIR [MODEL.gguf]

For every case writes OUTDIR/NAME.q (the raw block bytes) and OUTDIR/NAME.ref
(float32 values from gguf.quants.dequantize), and lists "NAME TYPE N" in
OUTDIR/manifest.txt. Cases: quantize() output where gguf supports the type,
random-but-valid blocks (finite f16 scales, random payload) for every type,
and, when MODEL is given, the first rows of each quantized type found in it.
"""
import os
import sys

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGUFReader, quants
from gguf.constants import GGML_QUANT_SIZES

TYPES = ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K"]
# Byte offsets of the f16 scale fields within one block, per type.
F16_FIELDS = {
    "Q8_0": [0], "Q4_0": [0], "Q4_1": [0, 2], "Q5_0": [0], "Q5_1": [0, 2],
    "Q4_K": [0, 2], "Q5_K": [0, 2], "Q6_K": [208],
}

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
manifest = []
rng = np.random.default_rng(1234)


def emit(name, tname, raw, ref):
    raw = np.ascontiguousarray(raw).view(np.uint8).ravel()
    ref = np.ascontiguousarray(ref, dtype=np.float32).ravel()
    raw.tofile(os.path.join(out, name + ".q"))
    ref.tofile(os.path.join(out, name + ".ref"))
    manifest.append(f"{name} {tname} {ref.size}")


n = 8 * 256  # whole blocks for every type
for tname in TYPES:
    t = T[tname]
    # 1. quantize() output, where the package implements it.
    x = (rng.standard_normal(n) * rng.uniform(0.01, 3.0)).astype(np.float32)
    x[:7] = [0.0, -0.0, 1e-8, -65000.0, 65000.0, 3.0e-5, -1.0]
    try:
        q = quants.quantize(x.reshape(1, n), t)
        emit(f"quantized_{tname}", tname, q, quants.dequantize(q, t))
    except NotImplementedError:
        pass
    # 2. Random but valid blocks: random payload, finite f16 scales.
    block_elems, block_bytes = GGML_QUANT_SIZES[t]
    nblocks = n // block_elems
    raw = rng.integers(0, 256, size=(nblocks, block_bytes), dtype=np.uint8)
    if tname == "F32":
        raw = rng.standard_normal(n).astype(np.float32).view(np.uint8).reshape(nblocks, block_bytes)
    elif tname == "F16":
        raw = rng.standard_normal(n).astype(np.float16).view(np.uint8).reshape(nblocks, block_bytes)
    elif tname == "BF16":
        raw = (rng.standard_normal(n).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
        raw = raw.view(np.uint8).reshape(nblocks, block_bytes)
    for off in F16_FIELDS.get(tname, []):
        scales = (rng.uniform(-0.1, 0.1, size=nblocks)).astype(np.float16)
        scales[:2] = [np.float16(6.1e-5), np.float16(-3.0e-7)]  # a normal and a subnormal
        raw[:, off:off + 2] = scales.view(np.uint8).reshape(nblocks, 2)
    emit(f"random_{tname}", tname, raw, quants.dequantize(raw.reshape(1, -1), t))

# 3. Real tensors from a model file: the first rows of one tensor per type.
if len(sys.argv) > 2:
    seen = set()
    for tensor in GGUFReader(sys.argv[2]).tensors:
        tname = tensor.tensor_type.name
        if tname not in TYPES or tname in seen or tname == "F32":
            continue
        seen.add(tname)
        rows = np.asarray(tensor.data)[:16]
        ref = quants.dequantize(rows, tensor.tensor_type)
        emit(f"model_{tname}_{tensor.name}", tname, rows, ref)

with open(os.path.join(out, "manifest.txt"), "w") as f:
    f.write("\n".join(manifest) + "\n")
