"""Which cells of a long-lived kernel belong to one run.

A JupyterLab kernel lives through many runs (Run All with `apply = False`, set `apply = True`, Run
All again), and sees only the code it executes. A run begins at its parameters cell: one that
declares the runbook's parameters as the runbook's own cell does (`name: type = value`; papermill's
injected cell assigns without annotations and never reads as one). The cells of earlier runs, or
typed between two runs, belong to none.
"""

from __future__ import annotations

import ast


def declared_parameters(source: str) -> frozenset[str]:
    """The names a cell declares as a runbook's parameters cell does: `name: type = value` lines.

    papermill's injected cell assigns without annotations, so it never reads as a parameters cell.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return frozenset()
    return frozenset(node.target.id for node in tree.body
                     if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None)


def own_cells(inputs: list[str], parameters: frozenset[str]) -> list[str]:
    """Of the cells run since the last run ended (the last one opens the session), those of the new
    run: from the last parameters cell on (declaring `parameters`); all of them when there is none."""
    if parameters:
        for index in range(len(inputs) - 2, -1, -1):
            if declared_parameters(inputs[index]) == parameters:
                return inputs[index:]
    return inputs
