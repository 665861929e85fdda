#!/usr/bin/env python3
"""Write random-weight Llama-family models with real shapes to disk, for the
engine benchmark: an HF folder (config.json + bf16 model.safetensors) and/or a
GGUF file (adjacent-pair RoPE order -- random weights, so no permutation is
needed). Weights are a random block tiled over each tensor, so writing is I/O
bound.

The GGUF is laid out as llama.cpp's convert_hf_to_gguf.py writes a bf16 model,
so that llama.cpp's llama-bench loads the same file (run_bench.py --llama-bench):
  - 2-D tensors BF16, 1-D tensors (the RMSNorm weights) F32 -- ggml-cpu has no
    f32 x bf16 multiply, and the converter always stores 1-D tensors as F32;
  - tokenizer.ggml.model = "none": no vocabulary (llama.cpp requires the key
    and then takes the vocabulary size from llama.vocab_size). Runs on these
    files take token ids (spectra measure --tokens-file), never text.
A GGUF written by an older version of this script (no tokenizer.ggml.model)
is rewritten rather than reused (gguf_is_current). Usage:
  make_models.py OUT_DIR [--models smollm2,1b,8b,8b-mem,8b-mem1] [--formats hf,gguf]
"""
import argparse, json, os, struct, sys
import numpy as np

SHAPES = {
    "smollm2": dict(name="SmolLM2-135M-shape", layers=30, hidden=576, heads=9, kv=3, head_dim=64, ffn=1536,
                    vocab=49152, theta=100000.0, tied=True, ctx=8192),
    "1b": dict(name="Llama-3.2-1B-shape", layers=16, hidden=2048, heads=32, kv=8, head_dim=64, ffn=8192,
               vocab=128256, theta=500000.0, tied=True, ctx=131072),
    "8b": dict(name="Llama-3-8B-shape", layers=32, hidden=4096, heads=32, kv=8, head_dim=128, ffn=14336,
               vocab=128256, theta=500000.0, tied=False, ctx=8192),
    # Memory at long windows (issue #11): the Llama-3.1-8B shape (128K context)
    # with 2 of its 32 layers. Weights are streamed one layer at a time, so a
    # pass's peak memory does not grow with the layer count, while its time
    # does (2 layers at 128K: about an hour here).
    "8b-mem": dict(name="Llama-3.1-8B-shape, 2 of 32 layers", layers=2, hidden=4096, heads=32, kv=8, head_dim=128,
                   ffn=14336, vocab=128256, theta=500000.0, tied=False, ctx=131072),
}
# The same with 1 layer: at 128K a layer's attention alone takes ~20 minutes here.
SHAPES["8b-mem1"] = dict(SHAPES["8b-mem"], name="Llama-3.1-8B-shape, 1 of 32 layers", layers=1)

def tensors(s):
    """(hf_name, gguf_name, shape[out,in] or [n], std) in file order."""
    H, qd, kd, F, V = s["hidden"], s["heads"] * s["head_dim"], s["kv"] * s["head_dim"], s["ffn"], s["vocab"]
    out = [("model.embed_tokens.weight", "token_embd.weight", (V, H), 1.0)]
    for i in range(s["layers"]):
        p, g = f"model.layers.{i}.", f"blk.{i}."
        out += [(p + "input_layernorm.weight", g + "attn_norm.weight", (H,), None),
                (p + "self_attn.q_proj.weight", g + "attn_q.weight", (qd, H), H ** -0.5),
                (p + "self_attn.k_proj.weight", g + "attn_k.weight", (kd, H), H ** -0.5),
                (p + "self_attn.v_proj.weight", g + "attn_v.weight", (kd, H), H ** -0.5),
                (p + "self_attn.o_proj.weight", g + "attn_output.weight", (H, qd), qd ** -0.5),
                (p + "post_attention_layernorm.weight", g + "ffn_norm.weight", (H,), None),
                (p + "mlp.gate_proj.weight", g + "ffn_gate.weight", (F, H), H ** -0.5),
                (p + "mlp.up_proj.weight", g + "ffn_up.weight", (F, H), H ** -0.5),
                (p + "mlp.down_proj.weight", g + "ffn_down.weight", (H, F), F ** -0.5)]
    out.append(("model.norm.weight", "output_norm.weight", (H,), None))
    if not s["tied"]:
        out.append(("lm_head.weight", "output.weight", (V, H), H ** -0.5))
    return out

RNG = np.random.default_rng(0)
BLOCK = RNG.standard_normal(1 << 20).astype(np.float32)

_CACHE = {}

def bf16_bytes(n, std):
    """n bf16 values: a random block tiled (ones for norms), as bytes."""
    key = (n, std)
    if key in _CACHE:
        return _CACHE[key]
    if n <= 1 << 26 and len(_CACHE) < 16:
        _CACHE[key] = _bf16_bytes(n, std)
        return _CACHE[key]
    return _bf16_bytes(n, std)

def _bf16_bytes(n, std):
    if std is None:
        v = np.ones(n, np.float32)
    else:
        reps = -(-n // BLOCK.size)
        v = np.tile(BLOCK * std, reps)[:n] if reps > 1 else (BLOCK[:n] * std)
    u = v.view(np.uint32)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u.astype(np.uint16).tobytes()

def f32_bytes(n, std):
    """n f32 values: the same values as bf16_bytes, before rounding (1-D tensors only)."""
    v = np.ones(n, np.float32) if std is None else np.tile(BLOCK * std, -(-n // BLOCK.size))[:n]
    return v.astype("<f4").tobytes()

def write_chunks(f, n, std, chunk=1 << 26):
    done = 0
    while done < n:
        m = min(chunk, n - done)
        f.write(bf16_bytes(m, std))
        done += m

def write_hf(s, out):
    os.makedirs(out, exist_ok=True)
    cfg = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": s["hidden"],
           "intermediate_size": s["ffn"], "num_hidden_layers": s["layers"], "num_attention_heads": s["heads"],
           "num_key_value_heads": s["kv"], "head_dim": s["head_dim"], "vocab_size": s["vocab"],
           "max_position_embeddings": s["ctx"], "rms_norm_eps": 1e-5, "rope_theta": s["theta"],
           "hidden_act": "silu", "tie_word_embeddings": s["tied"], "bos_token_id": 1, "eos_token_id": 2,
           "torch_dtype": "bfloat16"}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    header, off = {}, 0
    ts = tensors(s)
    for hf, _, shape, _ in ts:
        n = int(np.prod(shape))
        header[hf] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [off, off + 2 * n]}
        off += 2 * n
    hb = json.dumps(header).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    with open(os.path.join(out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(hb)))
        f.write(hb)
        for _, _, shape, std in ts:
            write_chunks(f, int(np.prod(shape)), std)

def gguf_str(b):
    b = b.encode()
    return struct.pack("<Q", len(b)) + b

def write_gguf(s, path):
    kv = [("general.architecture", 8, gguf_str("llama")), ("general.name", 8, gguf_str(s["name"])),
          ("llama.block_count", 4, struct.pack("<I", s["layers"])),
          ("llama.context_length", 4, struct.pack("<I", s["ctx"])),
          ("llama.embedding_length", 4, struct.pack("<I", s["hidden"])),
          ("llama.feed_forward_length", 4, struct.pack("<I", s["ffn"])),
          ("llama.attention.head_count", 4, struct.pack("<I", s["heads"])),
          ("llama.attention.head_count_kv", 4, struct.pack("<I", s["kv"])),
          ("llama.rope.freq_base", 6, struct.pack("<f", s["theta"])),
          ("llama.rope.dimension_count", 4, struct.pack("<I", s["head_dim"])),
          ("llama.attention.key_length", 4, struct.pack("<I", s["head_dim"])),
          ("llama.attention.layer_norm_rms_epsilon", 6, struct.pack("<f", 1e-5)),
          ("llama.vocab_size", 4, struct.pack("<I", s["vocab"])),
          ("tokenizer.ggml.model", 8, gguf_str("none")),
          ("general.alignment", 4, struct.pack("<I", 32))]
    ts = tensors(s)
    GGML_F32, GGML_BF16 = 0, 30
    infos, off = b"", 0
    for _, name, shape, _ in ts:
        dims = list(reversed(shape))  # innermost first
        f32 = len(shape) == 1
        infos += gguf_str(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        infos += struct.pack("<I", GGML_F32 if f32 else GGML_BF16) + struct.pack("<Q", off)
        n = (4 if f32 else 2) * int(np.prod(shape))
        off += (n + 31) // 32 * 32
    with open(path, "wb") as f:
        f.write(b"GGUF" + struct.pack("<IQQ", 3, len(ts), len(kv)))
        for k, t, v in kv:
            f.write(gguf_str(k) + struct.pack("<I", t) + v)
        f.write(infos)
        f.write(b"\0" * ((32 - f.tell() % 32) % 32))
        for _, _, shape, std in ts:
            n = int(np.prod(shape))
            if len(shape) == 1:
                f.write(f32_bytes(n, std))
                nbytes = 4 * n
            else:
                write_chunks(f, n, std)
                nbytes = 2 * n
            f.write(b"\0" * ((32 - nbytes % 32) % 32))

def gguf_is_current(path):
    """True if path is a GGUF this version writes (it has tokenizer.ggml.model, i.e. F32 norms too).
    The metadata is the first kilobyte or so of the file."""
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
    except OSError:
        return False
    return head[:4] == b"GGUF" and b"tokenizer.ggml.model" in head

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--models", default="smollm2,1b,8b")
    ap.add_argument("--formats", default="hf,gguf")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for m in a.models.split(","):
        s = SHAPES[m]
        if "hf" in a.formats:
            d = os.path.join(a.out, f"{m}-hf")
            if not os.path.exists(os.path.join(d, "model.safetensors")):
                print(f"writing {d}", file=sys.stderr); write_hf(s, d)
        if "gguf" in a.formats:
            p = os.path.join(a.out, f"{m}.gguf")
            if not gguf_is_current(p):
                print(f"writing {p}", file=sys.stderr); write_gguf(s, p)

if __name__ == "__main__":
    main()
