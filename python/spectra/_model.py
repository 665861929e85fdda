"""spectra.Model and its results: thin wrappers over the extension (_core)."""
import ast

import numpy as np

from . import _core


def tuple_dtype():
    """The numpy dtype of tuples.npy (a packed structured dtype, 40 bytes a row)."""
    return np.dtype(ast.literal_eval(_core.tuple_npy_descr()))


class MeasureResult:
    """One window through the instrumented forward pass.

    Every per-token statistic of the probe (``spectra.probe_fields()``:
    q_norm, entropy, sink_mass, max_attn, entropy_fixed_norm, neg_var_score,
    max_score, logsumexp, k_budget) is an attribute holding a
    float32 array shaped ``[layers, heads, T]``, sharing the engine's buffer.
    ``tokens`` [T], ``kv_head`` [heads], ``nll`` [T-1] (nats, next-token),
    ``perplexity``, ``mean_nll``, ``seconds`` (timings of the pass).
    """

    def __init__(self, raw):
        self._raw = raw
        self.fields = tuple(_core.probe_fields())
        for name in self.fields:
            setattr(self, name, raw.field(name))
        self.tokens = raw.tokens
        self.kv_head = raw.kv_head
        self.nll = raw.nll
        self.perplexity = raw.perplexity
        self.mean_nll = raw.mean_nll
        self.seconds = raw.seconds

    @property
    def shape(self):
        """(layers, heads, T)"""
        return getattr(self, self.fields[0]).shape

    def __getitem__(self, name):
        if name not in self.fields:
            raise KeyError(name)
        return getattr(self, name)

    def to_records(self, doc=0):
        """The rows tuples.npy would hold for this window (as document DOC):
        a structured array of dtype ``spectra.tuple_dtype()``, ordered by
        layer, head, position."""
        return np.frombuffer(self._raw.tuple_bytes(doc), dtype=tuple_dtype())

    def to_pandas(self, doc=0):
        """The long format of tuples.npy: one row per (layer, head, position),
        the same columns and dtypes."""
        import pandas as pd

        return pd.DataFrame(self.to_records(doc))

    def __repr__(self):
        layers, heads, t = self.shape
        return (f"<spectra.MeasureResult {layers} layers x {heads} heads x {t} tokens, "
                f"perplexity {self.perplexity:.4f}, fields {', '.join(self.fields)}>")


class Trace:
    """One head step by step (the numbers of ``spectra trace``, double
    precision): ``q``, ``k`` [T, head_dim] after RoPE, ``scores`` [T, T]
    (q.k/sqrt(d), NaN above the diagonal), ``probs`` [T, T], ``q_norm``,
    ``k_norm``, ``entropy``, ``sink_mass``, ``max_attn``, ``argmax``,
    ``entropy_fixed_norm``, ``neg_var_score``, ``max_score``, ``logsumexp``,
    ``k_budget`` [T] (with ``ref_norm`` c and ``budget_mass`` P);
    ``layer_q_norm``, ``layer_entropy``, ``layer_<issue-14 statistic>``
    [heads, T] and ``layer_r`` [heads] for every head of the layer;
    ``engine_*`` [heads, T], the fused engine's fp32 values, and ``check``,
    the cross-check against them."""

    def __init__(self, d):
        self.__dict__.update(d)

    def __repr__(self):
        return (f"<spectra.Trace layer {self.layer} head {self.head} (KV head {self.kv_head}), "
                f"{len(self.tokens)} tokens, cross-check {'passed' if self.check.get('passed') else 'FAILED'}>")


class Model(_core.Model):
    """A Llama-family model (Hugging Face folder or .gguf file) and the engine.

    ``Model(path, precision="auto", threads=0, weights="auto")`` (weights:
    as ``spectra measure --weights``). ``desc`` is a dict (layers,
    heads, kv_heads, head_dim, rope, ...; as ``spectra inspect --json``).
    ``measure``, ``trace`` and ``generate`` release the GIL; Ctrl-C (a
    notebook's interrupt) stops them between layers with KeyboardInterrupt.
    """

    def measure(self, ids_or_text):
        """Text (tokenized as ``spectra measure --text-file`` does) or token
        ids -> MeasureResult."""
        return MeasureResult(self._measure(ids_or_text))

    def trace(self, ids_or_text, layer, head, tolerance=1e-4):
        """One head step by step, as ``spectra trace`` (at most 512 tokens)."""
        return Trace(self._trace(ids_or_text, layer, head, tolerance))

    def generate(self, prompt, n=32, stop_at_eos=True):
        """Greedy continuation of PROMPT (text or ids) by N tokens; returns the
        new text (without the prompt and the end-of-sequence token)."""
        eos = self.desc.get("eos_id", -1)
        ids = [t for t in self._generate(prompt, n, stop_at_eos) if t != eos]
        return self.decode(ids)

    def __repr__(self):
        d = self.desc
        return (f"<spectra.Model {d['name']!r} ({d['architecture']}, {d['format']}): {d['layers']} layers, "
                f"{d['heads']} heads, {d['kv_heads']} KV heads, head_dim {d['head_dim']}; {self.precision}>")
