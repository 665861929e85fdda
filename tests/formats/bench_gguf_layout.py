#!/usr/bin/env python3
"""bench/make_models.py's GGUF and run_bench.py's llama-bench reading, on a tiny shape.

1. write_gguf() lays the file out as llama.cpp's converter does, so that
   llama.cpp's llama-bench loads it: tokenizer.ggml.model = "none", 1-D tensors
   (RMSNorm weights) F32, 2-D tensors BF16, offsets aligned to 32 bytes;
   gguf_is_current() tells such a file from one of the older layout.
2. `spectra measure` runs on it from token ids.
3. run_bench.llama_bench() against a stand-in llama-bench (a script printing
   JSON): it passes -r, its tokens/s is n_prompt / mean time (not avg_ts, the
   mean of the per-repetition rates, which it keeps), and a failure's reason
   carries the exit status and the end of stderr.
4. Only if LLAMA_BENCH names a llama-bench binary: that binary loads the file.

usage: bench_gguf_layout.py SPECTRA_EXE WORK_DIR
"""
import json, os, stat, struct, subprocess, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
from make_models import write_gguf, gguf_is_current  # noqa: E402
from run_bench import llama_bench  # noqa: E402

TINY = dict(name="tiny", layers=2, hidden=64, heads=4, kv=2, head_dim=16, ffn=128, vocab=256, theta=10000.0,
            tied=False, ctx=512)


def read_gguf(path):
    """(kv dict of the scalar and string values, [(name, dims, type, offset)], data start, file bytes)."""
    with open(path, "rb") as f:
        b = f.read()
    pos = 0

    def rd(fmt):
        nonlocal pos
        v = struct.unpack_from("<" + fmt, b, pos)
        pos += struct.calcsize("<" + fmt)
        return v

    def rstr():
        nonlocal pos
        (n,) = rd("Q")
        s = b[pos:pos + n].decode()
        pos += n
        return s

    scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
    assert b[:4] == b"GGUF", "magic"
    pos = 4
    ver, nt, nkv = rd("IQQ")
    assert ver == 3
    kv = {}
    for _ in range(nkv):
        k = rstr()
        (t,) = rd("I")
        assert t in scalar or t == 8, f"{k}: unexpected type {t}"
        kv[k] = rstr() if t == 8 else rd(scalar[t])[0]
    ts = []
    for _ in range(nt):
        name = rstr()
        (nd,) = rd("I")
        dims = rd("Q" * nd)
        typ, off = rd("IQ")
        ts.append((name, dims, typ, off))
    return kv, ts, (pos + 31) // 32 * 32, b


def main():
    exe, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, "tiny.gguf")
    write_gguf(TINY, path)

    # 1. layout
    kv, ts, base, b = read_gguf(path)
    assert kv["tokenizer.ggml.model"] == "none", kv.get("tokenizer.ggml.model")
    assert kv["llama.vocab_size"] == TINY["vocab"]
    end = 0
    for name, dims, typ, off in ts:
        n = 1
        for d in dims:
            n *= d
        assert off % 32 == 0, f"{name}: offset {off}"
        if len(dims) == 1:
            assert typ == 0, f"{name}: 1-D tensor of type {typ}, expected F32 (0)"
            vals = struct.unpack_from(f"<{n}f", b, base + off)
            assert all(v == 1.0 for v in vals), f"{name}: RMSNorm weights are not ones"
            nbytes = 4 * n
        else:
            assert typ == 30, f"{name}: 2-D tensor of type {typ}, expected BF16 (30)"
            nbytes = 2 * n
        end = max(end, off + (nbytes + 31) // 32 * 32)
    assert sum(len(d) == 1 for _, d, _, _ in ts) == 2 * TINY["layers"] + 1
    assert base + end == len(b), f"file is {len(b)} bytes, the tensor table ends at {base + end}"
    assert gguf_is_current(path)
    old = os.path.join(work, "old.gguf")  # the older layout: no tokenizer.ggml.model
    with open(old, "wb") as f:
        f.write(b"GGUF" + struct.pack("<IQQ", 3, 0, 0))
    assert not gguf_is_current(old) and not gguf_is_current(os.path.join(work, "missing.gguf"))

    # 2. spectra measure from token ids
    out = os.path.join(work, "measure")
    subprocess.run([exe, "measure", "--model", path, "--tokens", " ".join(str(i) for i in range(3, 35)),
                    "--out", out, "--force", "--threads", "1"], check=True)
    with open(os.path.join(out, "summary.json")) as f:
        assert json.load(f)["forward_seconds"] > 0

    # 3. run_bench.llama_bench with a stand-in binary: two repetitions of 1 s and 3 s for 128 tokens.
    fake = os.path.join(work, "fake-llama-bench")
    rows = [{"n_prompt": 128, "n_gen": 0, "avg_ns": 2000000000, "stddev_ns": 1414213562,
             "samples_ns": [1000000000, 3000000000], "avg_ts": (128 + 128 / 3) / 2, "stddev_ts": 60.3}]
    with open(fake, "w") as f:
        f.write("#!/bin/sh\n"
                'case " $* " in *" -r 2 "*) ;; *) echo "usage: no -r 2 in: $*" >&2; exit 2;; esac\n'
                'case " $* " in *bad.gguf*) printf "loading\\nfailed to load model bad.gguf\\n" >&2; exit 1;; esac\n'
                f"cat <<'EOF'\n{json.dumps(rows)}\nEOF\n")
    os.chmod(fake, os.stat(fake).st_mode | stat.S_IXUSR)
    got, how, why = llama_bench(fake, path, 128, 1, 2, dict(os.environ))
    assert got is not None and why is None, why
    assert " -r 2 " in how and " -p 128 " in how and " -n 0 " in how, how
    assert abs(got["tokens_per_s"] - 64.0) < 1e-9, got  # 128 tokens / 2 s mean, not avg_ts (85.3)
    assert abs(got["avg_ts"] - rows[0]["avg_ts"]) < 1e-9 and got["samples_ns"] == rows[0]["samples_ns"], got
    got, how, why = llama_bench(fake, os.path.join(work, "bad.gguf"), 128, 1, 2, dict(os.environ))
    assert got is None and "exit status 1" in why and "failed to load model bad.gguf" in why, why
    got, how, why = llama_bench(fake, path, 256, 1, 2, dict(os.environ))  # no row for this prompt length
    assert got is None and "no row" in why, why

    # 4. the real llama-bench, when there is one
    lb = os.environ.get("LLAMA_BENCH", "")
    if lb:
        got, how, why = llama_bench(lb, path, 32, 1, 1, dict(os.environ))
        assert got is not None and got["tokens_per_s"] > 0, f"{how}: {why}"
        print(f"llama-bench: {got['tokens_per_s']:.1f} tokens/s on {path}")
    print("ok")


if __name__ == "__main__":
    main()
