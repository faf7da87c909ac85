"""Small runbook notebooks written by tests, following the conventions of ARCHITECTURE.md."""

from __future__ import annotations

import json
from pathlib import Path


def make_notebook(path: Path, parameters: str, steps: list[tuple[str, str]],
                  title: str = "Drain a node", purpose: str = "Moves the pods off a node.") -> Path:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": f"# {title}\n\n{purpose}"},
             {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": parameters,
              "outputs": [], "execution_count": None}]
    for heading, body in steps:
        cells.append({"cell_type": "markdown", "metadata": {}, "source": f"## {heading}\n\n{body}"})
        cells.append({"cell_type": "code", "metadata": {}, "source": "pass", "outputs": [], "execution_count": None})
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path
