#!/usr/bin/env python3
"""Seed corpora for the fuzz targets (scripts/fuzz.sh), built from real files.

usage: fuzz_seeds.py OUT_DIR [SHARED_DIR] [EXTRA_GGUF ...]

Writes OUT_DIR/<target>/<seed> for every target of fuzz/targets.hpp. Large
real files are cut down to a few kilobytes that keep their structure (the
fuzzer mutates small inputs far faster): vocab GGUFs keep their first 512
tokens and the merges among them, tokenizer.json files are built from those
(with tests/tokenizer/make_hf_reference.py's layouts), a tiny llama/qwen2
model GGUF and safetensors file are written with the real tensor names, and
the first kilobytes of the real model files are kept as they are. Nothing is
copied from SHARED_DIR into the repository: OUT_DIR belongs in a build folder.
Needs numpy and the `gguf` package (the test venv).
"""
import glob
import json
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "tokenizer"))
import make_hf_reference as hf  # noqa: E402  (read_vocab, byte_level, sentencepiece, EXTRA_TEXTS)

KEEP_TOKENS = 512


def put(out, target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def head(path, n):
    with open(path, "rb") as f:
        return f.read(n)


# --------------------------------------------------------------- vocabularies

def gguf_scalar(r, key):
    f = r.fields.get(key)
    if f is None:
        return None
    v = f.parts[f.data[0]]
    return bytes(v).decode("utf-8") if f.types and f.types[0].name == "STRING" else v[0].item()


def shrink_vocab(v, n=KEEP_TOKENS):
    kept = v["tokens"][:n]
    known = set(kept)
    out = {"tokens": kept, "types": v["types"][:n]}
    if "scores" in v:
        out["scores"] = v["scores"][:n]
    if "merges" in v:
        ms = []
        for m in v["merges"]:
            l, _, r = m.partition(" ")
            if l in known and r in known and l + r in known:
                ms.append(m)
        out["merges"] = ms
    bos = v.get("bos")
    if bos is None or bos >= n:  # make the last kept token the control BOS
        bos = n - 1
        out["types"] = out["types"][:-1] + [3]
    out["bos"] = bos
    return out


def vocab_gguf(path, v):
    """A vocab-only GGUF with the same tokenizer metadata as PATH, cut to v."""
    import gguf

    r = gguf.GGUFReader(path)
    w = gguf.GGUFWriter(None, "llama")
    model = gguf_scalar(r, "tokenizer.ggml.model")
    w.add_tokenizer_model(model)
    pre = gguf_scalar(r, "tokenizer.ggml.pre")
    if pre is not None:
        w.add_tokenizer_pre(pre)
    w.add_token_list(v["tokens"])
    w.add_token_types(v["types"])
    if "scores" in v:
        w.add_token_scores(v["scores"])
    if "merges" in v:
        w.add_token_merges(v["merges"])
    w.add_bos_token_id(v["bos"])
    for key, add in (("tokenizer.ggml.eos_token_id", w.add_eos_token_id),
                     ("tokenizer.ggml.unknown_token_id", w.add_unk_token_id)):
        x = gguf_scalar(r, key)
        if x is not None and x < len(v["tokens"]):
            add(x)
    x = gguf_scalar(r, "tokenizer.ggml.add_bos_token")
    if x is not None:
        w.add_add_bos_token(bool(x))
    return gguf_bytes(w)


def gguf_bytes(w):
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "x.gguf")
        w.outfile = None
        w.path = p
        w.write_header_to_file(path=p)
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        with open(p, "rb") as f:
            return f.read()


# --------------------------------------------------------------------- models

def tiny_gguf(arch, quant=False):
    """A tiny but complete model: 1 layer, hidden 32, 2 heads (1 KV), ffn 64, vocab 32."""
    import gguf

    rng = np.random.default_rng(1)
    hidden, ffn, heads, kv, vocab, hd = 32, 64, 2, 1, 32, 16
    w = gguf.GGUFWriter(None, arch)
    w.add_block_count(1)
    w.add_embedding_length(hidden)
    w.add_feed_forward_length(ffn)
    w.add_head_count(heads)
    w.add_head_count_kv(kv)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0)
    w.add_context_length(128)
    w.add_tokenizer_model("gpt2" if arch == "qwen2" else "llama")
    toks = [f"t{i}" for i in range(vocab)]
    w.add_token_list(toks)
    w.add_token_types([1] * vocab)
    if arch == "qwen2":
        w.add_tokenizer_pre("qwen2")
        w.add_token_merges(["t 1"])
    else:
        w.add_token_scores([0.0] * vocab)

    def t(name, *shape):
        a = rng.standard_normal(shape).astype(np.float32)
        if quant and len(shape) == 2 and shape[-1] % 32 == 0:
            q = gguf.quants.quantize(a, gguf.GGMLQuantizationType.Q8_0)
            w.add_tensor(name, q, raw_shape=q.shape, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        else:
            w.add_tensor(name, a if len(shape) != 2 or not quant else a.astype(np.float16))

    t("token_embd.weight", vocab, hidden)
    t("blk.0.attn_norm.weight", hidden)
    t("blk.0.attn_q.weight", heads * hd, hidden)
    t("blk.0.attn_k.weight", kv * hd, hidden)
    t("blk.0.attn_v.weight", kv * hd, hidden)
    t("blk.0.attn_output.weight", hidden, heads * hd)
    if arch == "qwen2":
        t("blk.0.attn_q.bias", heads * hd)
        t("blk.0.attn_k.bias", kv * hd)
        t("blk.0.attn_v.bias", kv * hd)
    t("blk.0.ffn_norm.weight", hidden)
    t("blk.0.ffn_gate.weight", ffn, hidden)
    t("blk.0.ffn_up.weight", ffn, hidden)
    t("blk.0.ffn_down.weight", hidden, ffn)
    t("output_norm.weight", hidden)
    return gguf_bytes(w)


def safetensors_bytes(tensors, metadata=None):
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def tiny_safetensors():
    rng = np.random.default_rng(2)
    f32 = lambda *s: rng.standard_normal(s).astype(np.float32).tobytes()  # noqa: E731
    f16 = lambda *s: rng.standard_normal(s).astype(np.float16).tobytes()  # noqa: E731
    bf16 = lambda *s: (rng.standard_normal(s).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16).tobytes()  # noqa: E731
    return safetensors_bytes({
        "model.embed_tokens.weight": ("F32", (8, 4), f32(8, 4)),
        "model.layers.0.self_attn.q_proj.weight": ("BF16", (4, 4), bf16(4, 4)),
        "model.layers.0.mlp.up_proj.weight": ("F16", (2, 4), f16(2, 4)),
        "model.norm.weight": ("F32", (4,), f32(4)),
        "position_ids": ("I64", (3,), np.arange(3, dtype=np.int64).tobytes()),
        "scalar": ("F32", (), f32(1)),
    }, {"format": "pt"})


# ------------------------------------------------------------------- configs

HF_CONFIGS = {
    "llama31": {"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
                "num_attention_heads": 4, "num_key_value_heads": 2, "num_hidden_layers": 2, "vocab_size": 100,
                "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "max_position_embeddings": 1024,
                "bos_token_id": 1, "eos_token_id": [2, 3], "tie_word_embeddings": True,
                "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                 "high_freq_factor": 4.0, "original_max_position_embeddings": 256}},
    "qwen2": {"architectures": ["Qwen2ForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
              "num_attention_heads": 4, "num_key_value_heads": 4, "num_hidden_layers": 1, "vocab_size": 100,
              "use_sliding_window": False, "head_dim": 16, "rope_theta": 1000000.0},
    "mistral_v5": {"model_type": "mistral", "hidden_size": 64, "intermediate_size": 128,
                   "num_attention_heads": 4, "num_hidden_layers": 1, "vocab_size": 100, "sliding_window": None,
                   "rope_parameters": {"rope_type": "linear", "factor": 2.0, "rope_theta": 10000.0}},
}

STUDY_TOML = '''model = "models/SmolLM2-135M-Instruct.Q4_1.gguf"
corpus = ["corpus/demo", "more.txt"]
out = "runs/demo"
context = 4096
windows = "first"
min_tokens = 0
precision = "auto"
threads = 0
raw_format = "npy"

[analysis]
min_position = 16
permutations = 100
seed = 20240601
confidence = 0.95
min_doc_positions = 10

[criteria]
direction = "negative"
one_sided = true
adjust = "bh"
r_threshold = 0.5
alpha = 0.01
meaningful_fraction = 0.05
null_abs_r_ceiling = 0.05
require_null_percentile = true
doc_r_threshold = 0.5
doc_agree_fraction = 0.8
min_n = 30
'''

TUPLE_DTYPE = np.dtype([("doc", "<i4"), ("layer", "<i4"), ("head", "<i4"), ("kv_head", "<i4"), ("pos", "<i4"),
                        ("token", "<i4"), ("q_norm", "<f4"), ("entropy", "<f4"), ("sink_mass", "<f4"),
                        ("max_attn", "<f4")])


def tuples():
    a = np.zeros(4, dtype=TUPLE_DTYPE)
    a["pos"] = np.arange(4)
    a["q_norm"] = [1.5, 2.0, 0.25, 3.0]
    a["entropy"] = [0.0, 0.5, 1.0, 1.25]
    return a


def npy_bytes(a, version):
    import io

    b = io.BytesIO()
    np.lib.format.write_array(b, a, version=version)
    return b.getvalue()


def csv_text(a):
    lines = [",".join(a.dtype.names)]
    for r in a:
        lines.append(",".join(repr(float(x)) if isinstance(x, np.floating) else str(int(x)) for x in r))
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------- main

def main():
    out = sys.argv[1]
    shared = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "..", "..", "shared")
    extra = sys.argv[3:]
    os.makedirs(out, exist_ok=True)

    # safetensors: a small valid file, and the real header with its data cut.
    put(out, "safetensors", "tiny.safetensors", tiny_safetensors())
    real_st = os.path.join(shared, "models", "stories260k", "model.safetensors")
    if os.path.exists(real_st):
        n = struct.unpack("<Q", head(real_st, 8))[0]
        put(out, "safetensors", "stories260k.header", head(real_st, 8 + n + 64))

    # GGUF: tiny models, cut vocabularies, the real model's header.
    put(out, "gguf", "tiny-llama.gguf", tiny_gguf("llama"))
    put(out, "gguf", "tiny-llama-q8.gguf", tiny_gguf("llama", quant=True))
    put(out, "gguf", "tiny-qwen2.gguf", tiny_gguf("qwen2"))
    real_gguf = os.path.join(shared, "models", "stories260k.gguf")
    if os.path.exists(real_gguf):
        put(out, "gguf", "stories260k.head", head(real_gguf, 16384))
    vocabs = sorted(glob.glob(os.path.join(shared, "vocab", "ggml-vocab-*.gguf"))) + extra
    inputs = []
    for path in vocabs:
        name = os.path.basename(path).replace("ggml-vocab-", "").replace(".gguf", "")
        v = shrink_vocab(hf.read_vocab(path))
        put(out, "gguf", f"vocab-{name}.gguf", vocab_gguf(path, v))
        flavors = ["spm", "spm-metaspace"] if "scores" in v and "merges" not in v else ["gpt2", "smollm", "llama3"]
        for flavor in flavors:
            tj = hf.sentencepiece(v, flavor) if flavor.startswith("spm") else hf.byte_level(v, flavor)
            cfg = {"bos_token": v["tokens"][v["bos"]], "add_bos_token": True}
            put(out, "tokenizer_json", f"{name}-{flavor}.json",
                json.dumps(tj, ensure_ascii=False).encode() + b"\0" + json.dumps(cfg).encode())
        if os.path.exists(path + ".inp"):
            inputs += hf.read_inputs(path + ".inp")

    # config.json: the real one and other shapes.
    real_cfg = os.path.join(shared, "models", "stories260k", "config.json")
    if os.path.exists(real_cfg):
        put(out, "hf_config", "stories260k.json", head(real_cfg, 1 << 20))
    for name, cfg in HF_CONFIGS.items():
        put(out, "hf_config", f"{name}.json", json.dumps(cfg, indent=1))

    put(out, "study_config", "readme.toml", STUDY_TOML)
    put(out, "study_config", "small.toml", 'corpus = "x.txt"\ncontext = 64\n[criteria]\nadjust = "by"\n')

    a = tuples()
    put(out, "npy", "tuples-v1.npy", npy_bytes(a, (1, 0)))
    put(out, "npy", "tuples-v2.npy", npy_bytes(a, (2, 0)))
    put(out, "npy", "tuples.csv", csv_text(a))

    texts = sorted(set(inputs + hf.EXTRA_TEXTS), key=lambda s: (len(s), s))
    texts = [t for t in texts if len(t.encode()) <= 4096]
    for i, t in enumerate(texts):
        put(out, "tokenizer", f"text-{i:03d}", t)
    for i, t in enumerate(texts[:40]):
        put(out, "corpus", f"text-{i:03d}", b"\0" + t.encode())
    put(out, "corpus", "docs.jsonl",
        b"\1" + "\n".join(json.dumps({"text": t, "id": i}) for i, t in enumerate(texts[:10])).encode() + b"\n\n")
    put(out, "corpus", "ids.tokens", b"\2" + b"256 10 20 30\n 7\t8 9\n")
    print(f"fuzz_seeds: {sum(len(fs) for _, _, fs in os.walk(out))} seeds in {out}")


if __name__ == "__main__":
    main()
