"""When the progress engine saves the record: after every cell, and when a code cell starts."""

from __future__ import annotations

import io

import nbformat
import pytest
from papermill.engines import NotebookExecutionManager

from homeops.runner.engine import _ProgressManager
from homeops.runner.progress import Progress


@pytest.fixture
def saves(monkeypatch) -> list[str]:
    saved: list[str] = []

    def record_save(manager, **kwargs):
        saved.append("/".join(cell.metadata.papermill["status"] for cell in manager.nb.cells))

    monkeypatch.setattr(NotebookExecutionManager, "save", record_save)
    return saved


def test_a_markdown_cell_is_saved_once_it_completed_and_a_code_cell_also_when_it_starts(saves):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("## Step 1: Look"),
                                               nbformat.v4.new_code_cell("print('hi')")])
    notebook.metadata.papermill = {}  # papermill's execute_notebook adds it before an engine runs
    manager = _ProgressManager(notebook, output_path="unused.ipynb", progress_bar=False)
    manager.progress = Progress(io.StringIO(), io.StringIO())
    manager.notebook_start()
    assert saves == ["pending/pending"]

    markdown, code = manager.nb.cells
    manager.cell_start(markdown, 0)
    assert saves == ["pending/pending"], "the start of a markdown cell was saved"
    manager.cell_complete(markdown, 0)
    assert saves[-1] == "completed/pending"

    manager.cell_start(code, 1)
    assert saves[-1] == "completed/running", "a code cell's start must be on disk while it runs"
    manager.cell_complete(code, 1)
    assert saves[-1] == "completed/completed"
    assert len(saves) == 4
