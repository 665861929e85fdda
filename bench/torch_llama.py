#!/usr/bin/python3
"""PyTorch reference for the benchmark: a random-weight Llama forward (RMSNorm,
RoPE, GQA causal attention, SwiGLU, lm head) in bf16 at a given shape and
window, timed like `spectra measure`: per (layer, head, position) it computes
the same statistics the way a hook on the attention would (‖q‖ after RoPE,
entropy −Σ p log p, sink mass p₀, max weight, from the materialized T×T
probabilities of one head at a time); `--no-stats` drops them. Prints JSON with
wall and process-CPU seconds. Debian's python3-torch (CPU) is enough.
  torch_llama.py SHAPE T THREADS [--no-stats]     (SHAPE: smollm2 | 1b | 8b)"""
import json, resource, sys, time
import torch

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from make_models import SHAPES

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

def main():
    shape, T, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    stats = "--no-stats" not in sys.argv[4:]
    s = SHAPES[shape]
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    H, nh, nkv, hd, F, V = s["hidden"], s["heads"], s["kv"], s["head_dim"], s["ffn"], s["vocab"]
    dt = torch.bfloat16
    def lin(o, i):
        return (torch.randn(o, i) * i ** -0.5).to(dt)
    layer = dict(q=lin(nh * hd, H), k=lin(nkv * hd, H), v=lin(nkv * hd, H), o=lin(H, nh * hd),
                 g=lin(F, H), u=lin(F, H), d=lin(H, F))  # shared by all layers (same compute)
    emb = torch.randn(V, H).to(dt)
    inv = 1.0 / (s["theta"] ** (torch.arange(0, hd, 2).float() / hd))
    ang = torch.arange(T).float()[:, None] * inv[None, :]
    cos, sin = torch.cat([ang.cos()] * 2, -1).to(dt), torch.cat([ang.sin()] * 2, -1).to(dt)
    def rope(x):
        x1, x2 = x[..., : hd // 2], x[..., hd // 2:]
        return x * cos + torch.cat([-x2, x1], -1) * sin
    def rms(x):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + 1e-5)).to(dt)
    ids = torch.randint(0, V, (T,))
    mask = torch.full((T, T), float("-inf")).triu(1)
    with torch.no_grad():
        t0, c0 = time.time(), cpu()
        x = emb[ids].float()
        probe = []
        for _ in range(s["layers"]):
            h = rms(x)
            q = rope((h @ layer["q"].T).view(T, nh, hd).transpose(0, 1))
            k = rope((h @ layer["k"].T).view(T, nkv, hd).transpose(0, 1))
            v = (h @ layer["v"].T).view(T, nkv, hd).transpose(0, 1)
            k = k.repeat_interleave(nh // nkv, 0)
            v = v.repeat_interleave(nh // nkv, 0)
            out = torch.empty(nh, T, hd, dtype=dt)
            for i in range(nh):  # one head at a time: T×T scores
                sc = (q[i] @ k[i].T).float() * hd ** -0.5 + mask
                p = torch.softmax(sc, -1)
                if stats:  # what a hook computes from the attention probabilities
                    probe.append((q[i].float().norm(dim=-1), -torch.special.xlogy(p, p).sum(-1),
                                  p[:, 0].clone(), p.max(-1).values))
                out[i] = (p.to(dt) @ v[i])
            x = x + (out.transpose(0, 1).reshape(T, nh * hd) @ layer["o"].T).float()
            h = rms(x)
            x = x + ((torch.nn.functional.silu(h @ layer["g"].T) * (h @ layer["u"].T)) @ layer["d"].T).float()
        h = rms(x)
        lse = torch.zeros(T)
        for c in range(0, V, 8192):  # lm head in chunks
            lse += torch.exp((h @ emb[c:c + 8192].T).float() - 0).sum(-1) * 0
        wall, cpus = time.time() - t0, cpu() - c0
    print(json.dumps({"shape": shape, "T": T, "threads": threads, "torch": torch.__version__, "stats": stats,
                      "wall_seconds": wall, "cpu_seconds": cpus, "tokens_per_s": T / wall,
                      "tokens_per_cpu_s": T / (cpus / threads)}))

if __name__ == "__main__":
    main()
