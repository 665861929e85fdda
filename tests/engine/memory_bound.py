#!/usr/bin/env python3
"""Anonymous memory of a 16K-token window against the README's formula.

A one-layer random-weight model whose window-proportional terms dominate
(hidden 1024, 16 query heads, 4 KV heads) runs `spectra measure` over 16,384
tokens in fp32 with the default prefill chunk (4096) while this script polls
the process's RssAnon (/proc/PID/status) every 20 ms. The peak must not exceed
the formula of README.md ("Precision, speed and memory"), evaluated for this
shape; memory_formula() below is that formula, term for term. It runs with
streaming weights and again with resident weights (the formula's weights
lines differ), and checks that summary.json's memory_bound_bytes (the bound
spectra states for the run) is that formula too.

The check can fail: without chunked prefill the chunk term alone grows by
T/C = 4 (about +400 MB here), and every statistic array or scratch row that
is not in the formula shows up as excess.

usage: memory_bound.py SPECTRA_EXE WORK_DIR
"""
import json, os, struct, subprocess, sys, time
import numpy as np

MiB = 1 << 20


def memory_formula(T, C, hidden, q_width, kv_width, heads, ffn, vocab, layer_params, largest_matrix, threads,
                   head_dim, weight_bytes=4, bq=96):
    """README.md's bound on anonymous memory, in bytes (see there)."""
    C = min(T, C)
    weights = weight_bytes * (layer_params + largest_matrix)
    # The fp32 kernel's packed Kᵀ and V (V's rows padded to a multiple of 16 dimensions).
    kv_copies = 4 * kv_width + 4 * (kv_width // head_dim) * (-(-head_dim // 16) * 16)
    window = T * (4 * hidden + 8 * kv_width + kv_copies + 4 * 9 * heads)
    chunk = C * (8 * ffn + 12 * hidden + 12 * q_width)
    budget_rows = threads * (bq * 4 + 16) * T   # k_budget: one query block's weight rows + selection buffers
    lm_head = min(128 * MiB, 4 * C * vocab)
    runtime = 64 * MiB                          # code, oneDNN, OpenMP, the tuple writer's buffers
    return weights + window + chunk + budget_rows + lm_head + runtime


def main():
    exe, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    T, C, threads = 16384, 4096, 2
    H, NH, NKV, HD, F, V = 1024, 16, 4, 64, 1024, 512
    rng = np.random.default_rng(5)
    p = "model.layers.0."
    w = {
        "model.embed_tokens.weight": rng.standard_normal((V, H)),
        p + "input_layernorm.weight": np.ones(H),
        p + "self_attn.q_proj.weight": 3 * rng.standard_normal((NH * HD, H)) / np.sqrt(H),
        p + "self_attn.k_proj.weight": 3 * rng.standard_normal((NKV * HD, H)) / np.sqrt(H),
        p + "self_attn.v_proj.weight": rng.standard_normal((NKV * HD, H)) / np.sqrt(H),
        p + "self_attn.o_proj.weight": rng.standard_normal((H, NH * HD)) / np.sqrt(NH * HD),
        p + "post_attention_layernorm.weight": np.ones(H),
        p + "mlp.gate_proj.weight": rng.standard_normal((F, H)) / np.sqrt(H),
        p + "mlp.up_proj.weight": rng.standard_normal((F, H)) / np.sqrt(H),
        p + "mlp.down_proj.weight": rng.standard_normal((H, F)) / np.sqrt(F),
        "model.norm.weight": np.ones(H),
    }
    model = os.path.join(work, "model")
    os.makedirs(model, exist_ok=True)
    header, off, blobs = {}, 0, []
    for k, v in w.items():
        b = v.astype(np.float32).tobytes()
        header[k] = {"dtype": "F32", "shape": list(v.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    hj = json.dumps(header).encode()
    hj += b" " * (-len(hj) % 8)
    with open(os.path.join(model, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(hj)) + hj + b"".join(blobs))
    cfg = dict(architectures=["LlamaForCausalLM"], model_type="llama", hidden_size=H, intermediate_size=F,
               num_hidden_layers=1, num_attention_heads=NH, num_key_value_heads=NKV, head_dim=HD, vocab_size=V,
               rms_norm_eps=1e-5, rope_theta=500000.0, max_position_embeddings=131072, tie_word_embeddings=True,
               bos_token_id=1, eos_token_id=2)
    with open(os.path.join(model, "config.json"), "w") as f:
        json.dump(cfg, f)
    tok = os.path.join(work, "tokens.txt")
    with open(tok, "w") as f:
        f.write(" ".join(map(str, rng.integers(3, V, T))))

    qd, kd = NH * HD, NKV * HD
    layer_params = 2 * H * qd + 2 * H * kd + 3 * H * F
    largest = max(V * H, F * H, qd * H)
    fails = 0
    for mode in ("streaming", "resident"):
        out = os.path.join(work, "out_" + mode)
        cmd = [exe, "measure", "--model", model, "--tokens-file", tok, "--precision", "fp32", "--threads",
               str(threads), "--prefill-chunk", str(C), "--weights", mode, "--out", out, "--force"]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        peak = 0
        while proc.poll() is None:
            try:
                with open(f"/proc/{proc.pid}/status") as f:
                    for line in f:
                        if line.startswith("RssAnon:"):
                            peak = max(peak, int(line.split()[1]) * 1024)
            except OSError:
                pass
            time.sleep(0.02)
        if proc.returncode != 0:
            print(f"{mode}: spectra measure failed with exit {proc.returncode}")
            return 1
        rows = np.load(os.path.join(out, "tuples.npy"), mmap_mode="r")
        if len(rows) != NH * T:
            print(f"{mode}: expected {NH * T} tuples, got {len(rows)}")
            return 1
        if peak == 0:
            print("RssAnon was never read")
            return 1
        # The README's weights lines: streaming, one layer + the largest matrix;
        # resident, every matrix (one layer here, and the tied output
        # projection) + the largest.
        params = layer_params if mode == "streaming" else layer_params + V * H
        bound = memory_formula(T, C, H, qd, kd, NH, F, V, params, largest, threads, HD)
        with open(os.path.join(out, "summary.json")) as f:
            stated = json.load(f)["weights"]["memory_bound_bytes"]
        print(f"16K window, {mode} weights: peak anonymous memory {peak / MiB:.1f} MiB, README formula "
              f"{bound / MiB:.1f} MiB ({100 * peak / bound:.0f} %), summary.json's memory_bound_bytes "
              f"{stated / MiB:.1f} MiB")
        if peak > bound:
            print(f"FAIL: {mode}: the peak exceeds the README formula")
            fails += 1
        # summary.json states the same formula (its output-chunk line is the
        # flat 128 MB, not min(128 MiB, 4·C·vocab)): never below this one, and
        # above it by at most that difference.
        if not (bound <= stated <= bound + 128 * MiB):
            print(f"FAIL: {mode}: summary.json's memory_bound_bytes is not the README formula")
            fails += 1
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
