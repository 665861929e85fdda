#!/usr/bin/env python3
"""GGUF variants of stories260k for test_open_model, written with the PyPI
`gguf` package's GGUFWriter (an independent writer).

usage: make_gguf_variants.py STORIES.gguf OUTDIR

OUTDIR/quantized.gguf: the same model with the 2-D layer weights stored as
  Q8_0, F16 or BF16 (by layer) plus a `rope_freqs.weight` tensor; the expected
  dequantized values are written as OUTDIR/<tensor name>.ref (float32).
"""
import os
import sys

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGUFReader, GGUFValueType, GGUFWriter, quants

src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
reader = GGUFReader(src)
writer = GGUFWriter(os.path.join(out, "quantized.gguf"), "llama")

for field in reader.fields.values():
    name = field.name
    if name.startswith("GGUF.") or name == "general.architecture":
        continue
    vtype = field.types[0]
    if vtype == GGUFValueType.ARRAY:
        etype = field.types[-1]
        if etype == GGUFValueType.STRING:
            vals = [bytes(field.parts[i]).decode("utf-8") for i in field.data]
        else:
            vals = [field.parts[i].tolist()[0] for i in field.data]
        writer.add_array(name, vals)
    elif vtype == GGUFValueType.STRING:
        writer.add_string(name, bytes(field.parts[field.data[0]]).decode("utf-8"))
    else:
        writer.add_key_value(name, field.parts[field.data[0]].tolist()[0], vtype)

for t in reader.tensors:
    data = np.asarray(t.data).astype(np.float32)
    rows_shape = tuple(int(x) for x in reversed(t.shape))  # outermost first
    data = data.reshape(rows_shape)
    if data.ndim == 2 and t.name.startswith("blk."):
        layer = int(t.name.split(".")[1])
        qt = [T.Q8_0, T.F16, T.BF16][layer % 3]
        if qt == T.Q8_0 and data.shape[-1] % 32 != 0:
            qt = T.F16
        q = quants.quantize(data, qt)
        ref = quants.dequantize(q, qt)
        writer.add_tensor(t.name, q, raw_shape=q.shape if qt not in (T.F16,) else None, raw_dtype=qt)
    else:
        ref = data
        writer.add_tensor(t.name, data)
    ref.astype(np.float32).tofile(os.path.join(out, t.name + ".ref"))

divisors = np.array([1.0, 2.0, 4.0, 8.0], dtype=np.float32)  # head_dim 8 -> 4 frequencies
writer.add_tensor("rope_freqs.weight", divisors)
divisors.tofile(os.path.join(out, "rope_freqs.weight.ref"))

writer.write_header_to_file()
writer.write_kv_data_to_file()
writer.write_tensors_to_file()
writer.close()
