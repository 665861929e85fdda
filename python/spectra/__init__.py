"""Spectra in Python: the engine's per-(layer, head, token) measurements as
numpy arrays, and a study's run folder as pandas DataFrames.

    import spectra
    m = spectra.Model("models/SmolLM2-135M-Instruct.Q4_1.gguf")
    r = m.measure("The quick brown fox jumps over the lazy dog.")
    r.q_norm.shape            # (layers, heads, T)
    r.entropy[3, 5]           # layer 3, head 5, every position
    df = r.to_pandas()        # the long format of tuples.npy
    run = spectra.load_run("runs/demo")
    run.heads, run.decision, run.tuples

The numbers are the engine's own (the same probe as `spectra measure` and
`spectra study`); the arrays share the engine's buffers (no copy).
"""
from ._core import Error, __version__, git_commit, probe_fields, tuple_npy_descr
from ._model import MeasureResult, Model, Trace, tuple_dtype
from ._run import Run, load_run

__all__ = [
    "Error",
    "MeasureResult",
    "Model",
    "Run",
    "Trace",
    "git_commit",
    "load_run",
    "probe_fields",
    "tuple_dtype",
    "tuple_npy_descr",
    "__version__",
]
