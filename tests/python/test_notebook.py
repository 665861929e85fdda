"""examples/quickstart.ipynb: committed without outputs, and executed end to
end (nbclient) on the default model and a run folder the test makes."""
import os

import nbformat
from nbclient import NotebookClient

from conftest import SOURCE

NOTEBOOK = SOURCE / "examples" / "quickstart.ipynb"


def test_committed_notebook_has_no_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


def test_notebook_runs(smollm_path, tiny_run, tmp_path, monkeypatch):
    monkeypatch.setenv("SPECTRA_MODEL", smollm_path)
    monkeypatch.setenv("SPECTRA_RUN_DIR", str(tiny_run))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "spectra.MeasureResult" in text and "spectra.Run" in text and "decision:" in text
    assert any("image/png" in o.get("data", {}) for o in outputs)
    assert list(tmp_path.iterdir()) == []  # the notebook writes no files
