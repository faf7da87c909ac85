"""A papermill engine that reports progress as cells start and finish, and saves nothing.

papermill's NBClientEngine already executes and times cell by cell; this subclass swaps in an
execution manager that tells `Progress` where the run is. The record is written by the kernel's
own guard (homeops.runner.guard), so papermill's copy of the notebook is never saved: its saves
(after every cell) cost time, and on a full disk they would end the run with a write error
instead of the runbook's own stop message.
"""

from __future__ import annotations

import sys

# jsonschema imports rfc3987_syntax whenever it is installed (JupyterLab brings it, through
# jupyter-events' jsonschema[format-nongpl]), and that module builds a grammar at import: over a
# second, paid by every run through papermill -> nbformat -> jsonschema. Only the "iri" format
# checks need it, and no notebook schema uses them: marked absent, jsonschema skips them.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[assignment]

from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines  # noqa: E402
from papermill.iorw import papermill_io  # noqa: E402

from homeops.runner.progress import Progress  # noqa: E402

ENGINE_NAME = "homeops"
DISCARD_SCHEME = "homeops-discard://"
DISCARD = DISCARD_SCHEME + "papermill-output.ipynb"


class _ProgressManager(NotebookExecutionManager):
    progress: Progress

    def cell_start(self, cell, cell_index=None, **kwargs):
        self.progress.cell_started(cell)
        super().cell_start(cell, cell_index, **kwargs)

    def save(self, **kwargs):
        pass  # see the module's docstring

    def cell_complete(self, cell, cell_index=None, **kwargs):
        self.progress.cell_finished()
        super().cell_complete(cell, cell_index, **kwargs)


class ProgressEngine(NBClientEngine):
    @classmethod
    def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=False, log_output=False,
                         autosave_cell_every=30, progress: Progress | None = None, **kwargs):
        # papermill's tqdm bar is replaced by the per-step lines of Progress, so progress_bar is ignored.
        manager = _ProgressManager(nb, output_path=output_path, progress_bar=False, log_output=log_output,
                                   autosave_cell_every=autosave_cell_every)
        manager.progress = progress or Progress()
        manager.notebook_start()
        try:
            cls.execute_managed_notebook(manager, kernel_name, log_output=log_output, **kwargs)
        finally:
            manager.notebook_complete()
        return manager.nb


class DiscardIO:
    """papermill I/O handler that drops what is written (papermill's final save of the output)."""

    @classmethod
    def write(cls, buf: str, path: str) -> None:
        pass

    @classmethod
    def read(cls, path: str) -> str:
        raise OSError(f"{path}: nothing is kept there")

    @classmethod
    def listdir(cls, path: str) -> list[str]:
        raise OSError(f"{path}: nothing is kept there")

    @classmethod
    def pretty_path(cls, path: str) -> str:
        return path


def register() -> None:
    papermill_engines.register(ENGINE_NAME, ProgressEngine)
    if not any(scheme == DISCARD_SCHEME for scheme, _ in papermill_io._handlers):
        papermill_io.register(DISCARD_SCHEME, DiscardIO)
