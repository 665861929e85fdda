#!/usr/bin/env python3
"""Spectra engine benchmark (not a timed test).

1. The machine's bf16 / fp32 GEMM peak: one large oneDNN matmul (gemm_peak.cpp).
2. Random-weight models with real shapes on disk (make_models.py).
3. `spectra measure` on a 4096-token window: statistics on (all nine per-token
   statistics), on without the attention budget k_budget (--no-budget), and off
   (--stats-off): the probe cost of each, relative to the statistics-off pass,
   tokens/s, model FLOP utilization (FLOPs incl. causal attention / time /
   bf16 GEMM peak), peak anonymous memory (RssAnon of the process, polled)
   beside the bound spectra states for the run (summary.json's
   weights.memory_bound_bytes: the README formula; peak_anon_within_bound).
   The 8b-mem shape (Llama-3.1-8B, 2 of 32 layers, 128K context) measures
   that memory at 32K / 128K without the hours a 32-layer pass takes.
4. PyTorch comparison (torch_llama.py, Debian python3-torch), same shape.

Every rate is given twice: by wall clock, and per CPU-second (process CPU time
divided by the thread count), which is what the run reaches when it has the
cores to itself -- on a shared machine the wall-clock figures are mostly noise.
OMP_WAIT_POLICY=passive keeps spinning threads from inflating CPU time.

  bench/run_bench.py --spectra build/spectra [--models smollm2,1b,8b] [--formats hf,gguf]
                     [--T 4096,16384,32768] [--stats on,nobudget,off] [--llama-bench PATH [--llama-reps 3]]

--T takes several context lengths; a length beyond a shape's maximum context
is skipped (the 1B shape goes to 131072). Attention is also reported on its
own: its FLOPs (causal QK^T and PV) over the attention seconds of the forward
pass, against the same GEMM peak.

llama.cpp comparison: with --llama-bench (a llama.cpp `llama-bench` binary),
every GGUF model is also run through
  llama-bench -m FILE -p T -n 0 -t THREADS -r REPS -fa 0 -o json
in the same run (REPS = --llama-reps, default 3; llama-bench adds one untimed
warm-up unless --llama-no-warmup), on the same file: make_models.py writes GGUFs llama.cpp loads (F32
norm vectors, tokenizer.ggml.model = "none"). llama.cpp's tokens/s is
n_prompt / (avg_ns * 1e-9): the rate of the mean time over the repetitions,
the same definition as Spectra's T / forward_seconds. llama-bench's own
avg_ts is the mean of the per-repetition rates, which is never below that
and drifts upward when the repetitions' times vary, as they do on a loaded
machine; results.json keeps it ("llama_bench": avg_ts, stddev_ts, avg_ns,
stddev_ns, samples_ns) beside tokens_per_s. The ratio of Spectra's tokens/s
to llama.cpp's is reported per run. If llama-bench fails, the reason (exit
status or parse error, and the last lines of its stderr) is printed and
stored as the entry's "failure", with tokens_per_s null.
"""
import argparse, json, os, platform, random, subprocess, sys, threading, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_models import SHAPES, write_hf, write_gguf, gguf_is_current

def flops(s, T):
    H, qd, kd, F, V = s["hidden"], s["heads"] * s["head_dim"], s["kv"] * s["head_dim"], s["ffn"], s["vocab"]
    per_layer = 2 * H * qd + 2 * H * kd + 3 * H * F
    return 2.0 * T * (per_layer * s["layers"] + V * H) + 2.0 * T * T * s["head_dim"] * s["heads"] * s["layers"]

def attention_flops(s, T):
    """Causal QK^T and PV: 2 * T^2 * head_dim per head and layer (T^2/2 scores, 2 products, 2 FLOPs)."""
    return 2.0 * T * T * s["head_dim"] * s["heads"] * s["layers"]

def llama_bench(exe, path, T, threads, reps, env, warmup=True):
    """llama.cpp's prompt processing on the same file: (dict or None, command, failure reason or None).

    tokens_per_s = n_prompt / mean time (llama-bench's avg_ns), the rate of the mean
    time as Spectra's T / forward_seconds; llama-bench's own avg_ts (the mean of the
    per-repetition rates, biased upward when the repetitions' times vary) is kept
    beside it."""
    cmd = [exe, "-m", path, "-p", str(T), "-n", "0", "-t", str(threads), "-r", str(reps), "-fa", "0", "-o", "json"]
    if not warmup:
        cmd.append("--no-warmup")
    how = " ".join(cmd)
    p = None
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"exit status {p.returncode}")
        rows = [r for r in json.loads(p.stdout) if r.get("n_prompt") == T and r.get("n_gen", 0) == 0]
        if not rows:
            raise RuntimeError(f"no row with n_prompt={T}, n_gen=0 in the JSON")
        r = rows[0]
        avg_ns = float(r["avg_ns"])
        return {"tokens_per_s": T / (avg_ns * 1e-9), "avg_ns": avg_ns, "stddev_ns": r.get("stddev_ns"),
                "samples_ns": r.get("samples_ns"), "avg_ts": r.get("avg_ts"), "stddev_ts": r.get("stddev_ts"),
                "repetitions": reps}, how, None
    except (OSError, RuntimeError, ValueError, KeyError, TypeError) as e:
        tail = ""
        if p is not None and p.stderr:
            tail = " | stderr: " + " / ".join(l.strip() for l in p.stderr.strip().splitlines()[-5:])
        return None, how, f"{e}{tail}"

def run_polled(cmd, env):
    """Run cmd; return (rc, wall, cpu seconds, peak RssAnon MiB)."""
    t0 = time.time()
    errf = open(os.path.join(os.path.dirname(cmd[cmd.index("--out") + 1]) or ".", "last_stderr.txt"), "w+")
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=errf)
    peak = [0]
    done = threading.Event()
    def poll():
        while not done.is_set():
            try:
                with open(f"/proc/{p.pid}/status") as f:
                    for line in f:
                        if line.startswith("RssAnon:"):
                            peak[0] = max(peak[0], int(line.split()[1]))
            except OSError:
                pass
            time.sleep(0.05)
    th = threading.Thread(target=poll); th.start()
    _, status, ru = os.wait4(p.pid, 0)  # reap here (not Popen) to get the child's rusage
    p.returncode = os.waitstatus_to_exitcode(status)
    done.set()
    th.join()
    errf.seek(0)
    err = errf.read()
    errf.close()
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        print(err, file=sys.stderr)
    return rc, time.time() - t0, ru.ru_utime + ru.ru_stime, peak[0] / 1024.0

def bench_model(a, s, m, T, variants, env, mdir, peak_wall, peak_cpu, res):
    rnd = random.Random(1)
    tok = os.path.join(a.out, f"tokens_{m}_{T}.txt")
    with open(tok, "w") as f:
        f.write(" ".join(str(rnd.randrange(s["vocab"])) for _ in range(T)))
    for fmt in a.formats.split(","):
        path = os.path.join(mdir, f"{m}-hf") if fmt == "hf" else os.path.join(mdir, f"{m}.gguf")
        if not (gguf_is_current(path) if fmt == "gguf" else os.path.exists(os.path.join(path, "model.safetensors"))):
            print(f"writing {path}", flush=True)
            (write_hf if fmt == "hf" else write_gguf)(s, path)
        by_stats = {}
        lb = None
        if a.llama_bench and fmt == "gguf":
            got, how, why = llama_bench(a.llama_bench, path, T, a.threads, a.llama_reps, env,
                                         warmup=not a.llama_no_warmup)
            entry = {"model": s["name"], "T": T, "tokens_per_s": None, "command": how}
            if got:
                entry.update(got)
                lb = got["tokens_per_s"]
                print(f"llama-bench {s['name']} T={T}: {lb:.1f} tokens/s (n_prompt / mean time of {a.llama_reps} "
                      f"repetitions; llama-bench's avg_ts {got['avg_ts']})", flush=True)
            else:
                entry["failure"] = why
                print(f"llama-bench {s['name']} T={T}: failed: {how}: {why}", flush=True)
            res.setdefault("llama_bench", []).append(entry)
        for stats in variants:
            out = os.path.join(a.out, f"run_{m}_{T}_{fmt}_{stats}")
            cmd = [a.spectra, "measure", "--model", path, "--tokens-file", tok, "--out", out, "--force",
                   "--threads", str(a.threads), "--precision", a.precision, "--weights", a.weights] + \
                  {"on": [], "nobudget": ["--no-budget"], "off": ["--stats-off"]}[stats]
            rc, wall, cpu, anon = run_polled(cmd, env)
            if rc != 0:
                print(f"{m} {fmt} stats={stats}: failed", flush=True)
                continue
            with open(os.path.join(out, "summary.json")) as f:
                sm = json.load(f)
            fl = flops(s, T)
            fw = sm["forward_seconds"]
            r = {"model": s["name"], "T": T, "format": fmt, "stats": stats, "precision": sm["precision"]["used"],
                 "forward_seconds": fw, "process_wall": wall, "process_cpu": cpu,
                 "tokens_per_s": T / fw, "tokens_per_cpu_s": T / (cpu / a.threads),
                 "mfu_wall": fl / fw / 1e12 / peak_wall, "mfu_cpu_time": fl / (cpu / a.threads) / 1e12 / peak_cpu,
                 "tflop": fl / 1e12, "peak_anon_mib": anon, "breakdown": sm["time_breakdown_seconds"]}
            # The README memory formula for this run, as spectra states it (absent before it did).
            bound = sm.get("weights", {}).get("memory_bound_bytes")
            if bound:
                r["memory_bound_mib"] = bound / 1048576.0
                r["peak_anon_within_bound"] = anon <= r["memory_bound_mib"]
            att = sm["time_breakdown_seconds"].get("attention", 0)
            if att > 0:
                r["attention_share_of_peak_wall"] = attention_flops(s, T) / att / 1e12 / peak_wall
            if lb is not None:
                r["llama_bench_tokens_per_s"] = lb
                r["ratio_vs_llama_cpp"] = (T / fw) / lb
            res["runs"].append(r)
            by_stats[stats] = r
            print(json.dumps(r), flush=True)
        # Probe cost: the whole forward pass with statistics vs without,
        # by forward seconds (wall) and by process CPU time.
        if "off" in by_stats:
            off = by_stats["off"]
            for stats, what in (("on", "all statistics"), ("nobudget", "all but k_budget")):
                if stats not in by_stats:
                    continue
                on = by_stats[stats]
                o = {"model": s["name"], "T": T, "format": fmt, "statistics": what,
                     "overhead_forward": on["forward_seconds"] / off["forward_seconds"] - 1,
                     "overhead_cpu": on["process_cpu"] / off["process_cpu"] - 1,
                     "attention_seconds_on": on["breakdown"]["attention"],
                     "attention_seconds_off": off["breakdown"]["attention"]}
                res.setdefault("probe_overhead", []).append(o)
                print(f"probe overhead {s['name']} {fmt} ({what}): {100 * o['overhead_forward']:+.1f}% of the "
                      f"forward pass ({100 * o['overhead_cpu']:+.1f}% CPU time); attention "
                      f"{o['attention_seconds_on']:.2f} s vs {o['attention_seconds_off']:.2f} s", flush=True)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spectra", default=os.path.join(HERE, "..", "build", "spectra"))
    ap.add_argument("--models", default="smollm2,1b,8b")
    ap.add_argument("--formats", default="hf,gguf")
    ap.add_argument("--T", default="4096", help="context lengths, comma-separated (e.g. 4096,16384,32768)")
    ap.add_argument("--stats", default="on,nobudget,off", help="statistics variants: on, nobudget, off")
    ap.add_argument("--llama-bench", default="", help="path of a llama.cpp llama-bench binary (GGUF runs)")
    ap.add_argument("--llama-reps", type=int, default=3, help="llama-bench repetitions (-r) per prompt length")
    ap.add_argument("--llama-no-warmup", action="store_true",
                    help="pass --no-warmup to llama-bench (long contexts: its untimed warm-up is one more whole pass; "
                         "Spectra's runs are single cold passes too)")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    ap.add_argument("--models-dir", default="", help="where the generated models live (default OUT/models)")
    ap.add_argument("--torch", default="smollm2", help="shapes for the PyTorch comparison ('' = none)")
    ap.add_argument("--precision", default="auto", help="auto | bf16 | fp32 (spectra measure --precision)")
    ap.add_argument("--weights", default="streaming",
                    help="auto | resident | streaming (spectra measure --weights); default streaming: the per-layer "
                         "conversion inside the timed forward pass, as in the earlier results")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    env = dict(os.environ, OMP_WAIT_POLICY="passive")
    lengths = [int(x) for x in a.T.split(",") if x]
    variants = [x for x in a.stats.split(",") if x]
    res = {"cpu": "", "load_average_start": os.getloadavg(), "T": lengths, "threads": a.threads, "runs": [], "torch": []}
    with open("/proc/cpuinfo") as f:
        info = f.read()
    model = next((l.split(":", 1)[1].strip() for l in info.splitlines() if l.startswith("model name")), "?")
    flags = next((l.split(":", 1)[1].split() for l in info.splitlines() if l.startswith("flags")), [])
    res["cpu"] = model + " | " + " ".join(f for f in flags if f in (
        "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile"))
    # 1. GEMM peak
    gp = os.path.join(a.out, "gemm_peak")
    subprocess.check_call(["g++", "-O2", "-std=c++17", "-fopenmp", os.path.join(HERE, "gemm_peak.cpp"), "-ldnnl", "-o", gp])
    res["gemm_peak"] = json.loads(subprocess.check_output([gp, "4096"], env=dict(env, OMP_NUM_THREADS=str(a.threads))))
    print("GEMM peak:", res["gemm_peak"], flush=True)
    peak_wall = res["gemm_peak"].get("bf16_tflops") or res["gemm_peak"]["fp32_tflops"]
    peak_cpu = res["gemm_peak"].get("bf16_tflops_cpu_time") or res["gemm_peak"]["fp32_tflops_cpu_time"]  # no bf16: fp32
    # 2./3. models and measure
    mdir = a.models_dir or os.path.join(a.out, "models")
    os.makedirs(mdir, exist_ok=True)
    for m in a.models.split(","):
        s = SHAPES[m]
        for T in lengths:
            if T > s["ctx"]:
                print(f"{s['name']}: T={T} is beyond the shape's maximum context {s['ctx']}: skipped", flush=True)
                continue
            bench_model(a, s, m, T, variants, env, mdir, peak_wall, peak_cpu, res)
    # 4. PyTorch
    for m in filter(None, a.torch.split(",")):
        try:
            o = subprocess.check_output(["/usr/bin/python3", os.path.join(HERE, "torch_llama.py"), m, str(a.T),
                                         str(a.threads)], env=env, text=True)
            t = json.loads(o)
            res["torch"].append(t)
            print("torch:", o.strip(), flush=True)
        except Exception as e:  # torch missing
            print("torch comparison skipped:", e, flush=True)
    res["load_average_end"] = os.getloadavg()
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(res, f, indent=2)

if __name__ == "__main__":
    main()
