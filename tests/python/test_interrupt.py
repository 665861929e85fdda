"""Ctrl-C during a long m.measure raises KeyboardInterrupt between layers and
leaves the model usable (the next measure gives the same numbers); the GIL is
released during the pass."""
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import os, signal, sys, threading, time
    import numpy as np
    import spectra
    m = spectra.Model(sys.argv[1], threads=2)
    short = [1, 504, 3458, 314, 260]
    before = m.measure(short)
    ids = np.random.default_rng(0).integers(3, m.desc["vocab"], 2048).tolist()
    started = threading.Event()
    def interrupt():
        started.wait()
        time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGINT)
    threading.Thread(target=interrupt, daemon=True).start()
    t0 = time.time()
    started.set()
    try:
        m.measure(ids)
        print("COMPLETED", time.time() - t0)
    except KeyboardInterrupt:
        print("INTERRUPTED", time.time() - t0)
    after = m.measure(short)
    assert np.array_equal(before.entropy, after.entropy) and before.perplexity == after.perplexity
    print("SAME")
""")


def test_ctrl_c_interrupts_measure(smollm_path):
    p = subprocess.run([sys.executable, "-c", SCRIPT, smollm_path], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.split("\n")
    assert lines[0].startswith("INTERRUPTED"), p.stdout
    assert lines[1] == "SAME", p.stdout


def test_measure_releases_the_gil(smollm_path):
    """Another Python thread runs while a measure is under way."""
    import threading
    import time

    import numpy as np

    import spectra

    m = spectra.Model(smollm_path, threads=2)
    ids = np.random.default_rng(1).integers(3, m.desc["vocab"], 512).tolist()
    done = threading.Event()
    worker = threading.Thread(target=lambda: (m.measure(ids), done.set()))
    ticks = 0
    t0 = time.time()
    worker.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0.002)
    worker.join()
    elapsed = time.time() - t0
    # Holding the GIL, the measure would let this loop tick once or twice.
    assert elapsed > 0.2, "the measure was too short to tell"
    assert ticks >= 10, (ticks, elapsed)
