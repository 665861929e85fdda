"""spectra.load_run against the files of a run the test makes (a small study
on stories260k): every CSV table cell by cell (parsed here with the csv
module), decision.json, and tuples.npy (memory-mapped); the study's tuples of
a window equal m.measure of that window (the same engine and probe)."""
import csv
import json
import math

import numpy as np

import spectra
from conftest import STORIES_GGUF, require


def is_missing(value):
    return value is None or (isinstance(value, float) and math.isnan(value))


def same_cell(text, value):
    if text == "":
        return is_missing(value)
    try:
        x = float(text)
    except ValueError:
        return str(value) == text
    if math.isnan(x):
        return is_missing(value)
    return float(value) == x


def test_tables_are_the_csv_files(tiny_run):
    run = spectra.load_run(tiny_run)
    csv_files = sorted(p for p in tiny_run.glob("*.csv") if p.stem != "tuples")
    assert {p.stem for p in csv_files} >= {"heads", "layers", "docs", "head_docs"}
    assert sorted(run.tables) == [p.stem for p in csv_files]
    for name in ("heads", "layers", "docs", "head_docs"):
        assert run.tables[name] is getattr(run, name)
    for path in csv_files:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        df = run.tables[path.stem]
        assert list(df.columns) == rows[0], path.name
        assert len(df) == len(rows) - 1, path.name
        for i, row in enumerate(rows[1:]):
            for j, cell in enumerate(row):
                v = df.iat[i, j]
                v = v.item() if hasattr(v, "item") else v
                assert same_cell(cell, v), f"{path.name} row {i} column {rows[0][j]}: {cell!r} vs {v!r}"


def test_decision_summary_tuples(tiny_run):
    run = spectra.load_run(tiny_run)
    with open(tiny_run / "decision.json", encoding="utf-8") as f:
        assert run.decision == json.load(f)
    with open(tiny_run / "summary.json", encoding="utf-8") as f:
        assert run.summary == json.load(f)
    assert run.config == (tiny_run / "config.toml").read_text()
    assert run.incomplete is None
    assert isinstance(run.tuples, np.memmap) and str(run.tuples.filename) == str((tiny_run / "tuples.npy").resolve())
    assert not run.tuples.flags.writeable
    ref = np.load(tiny_run / "tuples.npy")
    assert run.tuples.dtype == ref.dtype == spectra.tuple_dtype()
    assert run.tuples.tobytes() == ref.tobytes()
    assert len(run.heads) == 5 * 8
    assert "spectra.Run" in repr(run)


def test_study_tuples_are_measure(tiny_run):
    run = spectra.load_run(tiny_run)
    m = spectra.Model(require(STORIES_GGUF), precision="fp32", threads=2)
    for doc in np.unique(run.tuples["doc"]):
        rows = run.tuples[run.tuples["doc"] == doc]
        window = rows["token"][(rows["layer"] == 0) & (rows["head"] == 0)]
        r = m.measure(window.tolist())
        assert r.to_records(doc=int(doc)).tobytes() == rows.tobytes()


def test_missing_and_incomplete(tmp_path, tiny_run):
    import pytest

    with pytest.raises(FileNotFoundError, match="no such run folder"):
        spectra.load_run(tmp_path / "nope")
    (tmp_path / "INCOMPLETE").write_text("interrupted by SIGINT\n")
    with pytest.raises(FileNotFoundError, match="heads.csv.*INCOMPLETE: interrupted by SIGINT"):
        spectra.load_run(tmp_path)
