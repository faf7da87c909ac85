"""The record's notebook as the kernel builds it: the runbook's cells, with the outputs of those that ran.

The kernel sees code as it is executed, not the notebook it came from. The runbook's notebook is
the template: an executed cell is matched to the next code cell with the same source, so the
record keeps the runbook's steps (markdown) around their outputs; a cell that matches none (the
parameters papermill injects, a cell typed in Jupyter) is inserted where it ran.
"""

from __future__ import annotations

import copy
import uuid

from homeops.runner.run_cells import declared_parameters

INJECTED_TAG = "injected-parameters"


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _tags(cell: dict) -> list:
    return (cell.get("metadata") or {}).get("tags") or []


class Transcript:
    def __init__(self, template: dict | None):
        template = template or {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
        self.nbformat = template.get("nbformat", 4)
        self.nbformat_minor = template.get("nbformat_minor", 5)
        self.metadata = copy.deepcopy(template.get("metadata") or {})
        self.cells: list[dict] = []
        for cell in template.get("cells") or []:
            cell = copy.deepcopy(cell)
            if cell.get("cell_type") == "code":
                cell["outputs"], cell["execution_count"] = [], None
            self.cells.append(cell)
        self._position = 0  # cells before this one have run, or were passed over
        self._count = 0
        self.current: dict | None = None

    @property
    def parameter_names(self) -> frozenset[str]:
        """The names the runbook's parameters cell declares (none without a template)."""
        for cell in self.cells:
            if cell.get("cell_type") == "code" and "parameters" in _tags(cell):
                return declared_parameters(_source(cell))
        return frozenset()

    def cell_started(self, source: str) -> dict:
        wanted = source.strip()
        for index in range(self._position, len(self.cells)):
            cell = self.cells[index]
            if cell.get("cell_type") == "code" and _source(cell).strip() == wanted and cell["execution_count"] is None:
                break
        else:
            index = self._edited_parameters(source)
            if index is not None:
                # The operator's values (`apply = True`) are the run's: the record shows them in place.
                cell = self.cells[index]
                cell["source"] = source
            else:
                index = self._position
                cell = self._new_cell(source)
                self.cells.insert(index, cell)
        self._position = index + 1
        self._count += 1
        cell["outputs"], cell["execution_count"] = [], self._count
        self.current = cell
        return cell

    def _edited_parameters(self, source: str) -> int | None:
        """The runbook's parameters cell, when `source` is that cell with other values (edited in Jupyter)."""
        names = declared_parameters(source)
        for index in range(self._position, len(self.cells)):
            cell = self.cells[index]
            if cell.get("cell_type") != "code":
                continue
            if "parameters" in _tags(cell) and cell["execution_count"] is None \
                    and names and declared_parameters(_source(cell)) == names:
                return index
            return None  # only the next code cell: a parameters cell further on is not this one
        return None

    def stream(self, name: str, text: str) -> None:
        if self.current is None or not text:
            return
        outputs = self.current["outputs"]
        if outputs and outputs[-1].get("output_type") == "stream" and outputs[-1].get("name") == name:
            outputs[-1]["text"] += text
        else:
            outputs.append({"output_type": "stream", "name": name, "text": text})

    def display(self, data: dict, metadata: dict | None = None) -> None:
        if self.current is not None:
            self.current["outputs"].append({"output_type": "display_data", "data": data, "metadata": metadata or {}})

    def result(self, data: dict, metadata: dict | None = None) -> None:
        if self.current is not None:
            self.current["outputs"].append({"output_type": "execute_result", "data": data,
                                            "metadata": metadata or {}, "execution_count": self.current["execution_count"]})

    def error(self, ename: str, evalue: str, traceback: list[str]) -> None:
        if self.current is not None:
            self.current["outputs"].append({"output_type": "error", "ename": ename, "evalue": evalue,
                                            "traceback": list(traceback)})

    def is_last_code_cell(self, cell: dict) -> bool:
        """True when `cell` is the runbook's last code cell: the run is complete once it succeeded."""
        code = [c for c in self.cells if c.get("cell_type") == "code" and INJECTED_TAG not in _tags(c)]
        return bool(code) and code[-1] is cell

    def step_of(self, cell: dict | None) -> str | None:
        """The step (`## ...` markdown) a cell belongs to."""
        step = None
        for each in self.cells:
            if each is cell:
                return step
            text = _source(each).lstrip()
            if each.get("cell_type") == "markdown" and text.startswith("## "):
                step = text.splitlines()[0][3:].strip()
        return None

    def notebook(self) -> dict:
        return {"cells": copy.deepcopy(self.cells), "metadata": copy.deepcopy(self.metadata),
                "nbformat": self.nbformat, "nbformat_minor": self.nbformat_minor}

    def _new_cell(self, source: str) -> dict:
        previous = self.cells[self._position - 1] if self._position else None
        tags = [INJECTED_TAG] if previous is not None and "parameters" in _tags(previous) else []
        cell = {"cell_type": "code", "execution_count": None, "metadata": {"tags": tags} if tags else {},
                "outputs": [], "source": source}
        if (self.nbformat, self.nbformat_minor) >= (4, 5):
            cell["id"] = uuid.uuid4().hex[:8]
        return cell
