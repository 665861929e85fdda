"""`pip install .` from the repository into a fresh virtual environment
(scikit-build-core builds the library and the extension), then a measure with
the installed module. Slow (a full compile): ctest label `pip`."""
import os
import subprocess
import sys
import time

from conftest import SOURCE, STORIES_GGUF, require

CHECK = """
import numpy as np, spectra, sys
m = spectra.Model(sys.argv[1], precision="fp32", threads=2)
r = m.measure([1, 400, 401, 402, 403])
assert r.q_norm.shape == (5, 8, 5) and np.isfinite(r.perplexity)
assert "site-packages" in spectra.__file__, spectra.__file__
print("OK", spectra.__version__, r.perplexity)
"""


def run(*cmd, env=None, cwd=None):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, env=env, cwd=cwd)
    assert p.returncode == 0, f"{' '.join(map(str, cmd))} exited {p.returncode}:\n{p.stdout[-4000:]}\n{p.stderr[-4000:]}"
    return p.stdout


def test_pip_install_into_fresh_venv(tmp_path):
    venv = tmp_path / "venv"
    # The Debian python the venv is made from, not the test runner's venv.
    base = getattr(sys, "_base_executable", sys.executable)
    run(base, "-m", "venv", venv)
    py = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))  # ninja would run cores + 2 jobs
    run(py, "-m", "pip", "install", "-q", "--disable-pip-version-check", "scikit-build-core", "pybind11", "numpy",
        "pandas", env=env)
    t0 = time.time()
    run(py, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-build-isolation", SOURCE, env=env)
    print(f"pip install . took {time.time() - t0:.0f} s")
    out = run(py, "-c", CHECK, require(STORIES_GGUF), env=env, cwd=tmp_path)
    assert out.startswith("OK ")
