"""A papermill engine that reports progress as cells start and finish.

papermill's NBClientEngine already executes, times and saves cell by cell; this subclass only
swaps in an execution manager that also tells `Progress` where the run is.
"""

from __future__ import annotations

from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

from homeops.runner.progress import Progress

ENGINE_NAME = "homeops"


class _ProgressManager(NotebookExecutionManager):
    progress: Progress
    _starting_markdown = False

    def cell_start(self, cell, cell_index=None, **kwargs):
        self.progress.cell_started(cell)
        # A markdown cell starts and completes in the same instant: the save after it is enough
        # (papermill saves at both ends of every cell; each save redacts and rewrites the record).
        self._starting_markdown = cell.get("cell_type") == "markdown"
        try:
            super().cell_start(cell, cell_index, **kwargs)
        finally:
            self._starting_markdown = False

    def save(self, **kwargs):
        if not self._starting_markdown:
            super().save(**kwargs)

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


def register() -> None:
    papermill_engines.register(ENGINE_NAME, ProgressEngine)
