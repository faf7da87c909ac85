"""`papermill --help-notebook` reads every runbook parameter with its type and help, as the catalog does."""

from __future__ import annotations

from pathlib import Path

import pytest

from homeops.catalog import RunbookMalformed, read_runbook

ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS = sorted((ROOT / "runbooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", RUNBOOKS, ids=lambda p: p.stem)
def test_papermill_inspects_every_parameter_with_the_catalogs_type_default_and_help(path: Path):
    import papermill

    inspected = papermill.inspect_notebook(str(path))
    runbook = read_runbook(path)
    assert list(inspected) == [p.name for p in runbook.parameters]
    for parameter in runbook.parameters:
        seen = inspected[parameter.name]
        assert seen["inferred_type_name"] == parameter.type_name
        assert seen["default"] == parameter.source
        assert seen["help"] == parameter.help and parameter.help


def write_runbook(tmp_path: Path, parameters: str) -> Path:
    import json

    notebook = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# T\n\nA test runbook."},
                          {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": parameters,
                           "outputs": [], "execution_count": None}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 4}
    path = tmp_path / "t.ipynb"
    path.write_text(json.dumps(notebook))
    return path


def test_a_help_with_a_second_equals_sign_is_refused_because_papermill_cannot_read_it(tmp_path: Path):
    path = write_runbook(tmp_path, 'nodes: str = ""  # empty = every worker\n')
    with pytest.raises(RunbookMalformed, match="parameter nodes: one '=' per line, none in the help"):
        read_runbook(path)


def test_a_declared_type_that_is_not_the_defaults_is_refused(tmp_path: Path):
    path = write_runbook(tmp_path, 'wait_timeout: int = 9.5  # seconds\n')
    with pytest.raises(RunbookMalformed, match=r"parameter wait_timeout: declared int but its default 9.5 is a float"):
        read_runbook(path)
