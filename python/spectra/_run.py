"""spectra.load_run: a study's run folder as pandas DataFrames."""
import json
from pathlib import Path

import numpy as np

from ._model import tuple_dtype

TABLES = ("heads", "layers", "docs", "head_docs")


class Run:
    """A run folder. ``heads``, ``layers``, ``docs``, ``head_docs``:
    DataFrames with whatever columns the CSV files have; ``tables``: every
    CSV table of the folder by name; ``decision``: decision.json as a dict;
    ``summary``: summary.json (None if absent); ``config``: config.toml text;
    ``tuples``: tuples.npy memory-mapped (read-only, dtype
    ``spectra.tuple_dtype()``), or tuples.csv read into a structured array."""

    def __init__(self, run_dir):
        import pandas as pd

        self.dir = Path(run_dir)
        if not self.dir.is_dir():
            raise FileNotFoundError(f"{self.dir}: no such run folder")
        incomplete = self.dir / "INCOMPLETE"
        self.incomplete = incomplete.read_text() if incomplete.exists() else None
        self.tables = {}
        for path in sorted(self.dir.glob("*.csv")):
            if path.stem != "tuples":
                self.tables[path.stem] = pd.read_csv(path)
        for name in TABLES:
            if name not in self.tables:
                raise FileNotFoundError(self._missing(f"{name}.csv"))
        self.heads = self.tables["heads"]
        self.layers = self.tables["layers"]
        self.docs = self.tables["docs"]
        self.head_docs = self.tables["head_docs"]
        self.decision = self._json("decision.json", required=True)
        self.summary = self._json("summary.json", required=False)
        config = self.dir / "config.toml"
        self.config = config.read_text() if config.exists() else None
        self.tuples = self._tuples()

    def _missing(self, name):
        why = f" (INCOMPLETE: {self.incomplete.strip()})" if self.incomplete else ""
        return f"{self.dir}: no {name}; is this a finished Spectra run?{why}"

    def _json(self, name, required):
        path = self.dir / name
        if not path.exists():
            if required:
                raise FileNotFoundError(self._missing(name))
            return None
        with open(path, encoding="utf-8") as f:
            return json.load(f)

    def _tuples(self):
        npy = self.dir / "tuples.npy"
        if npy.exists():
            return np.load(npy, mmap_mode="r")
        csv = self.dir / "tuples.csv"
        if csv.exists():
            with open(csv, encoding="utf-8") as f:
                header = f.readline().strip().split(",")
            data = np.loadtxt(csv, delimiter=",", skiprows=1, ndmin=2)
            out = np.empty(len(data), dtype=tuple_dtype())
            for name in out.dtype.names:
                out[name] = data[:, header.index(name)]
            return out
        raise FileNotFoundError(self._missing("tuples.npy"))

    def __repr__(self):
        return (f"<spectra.Run {str(self.dir)!r}: {len(self.heads)} heads, {len(self.docs)} documents, "
                f"{len(self.tuples)} tuples, decision {self.decision.get('decision')!r}>")


def load_run(run_dir):
    """Load a run folder written by ``spectra study`` (see Run)."""
    return Run(run_dir)
