"""The runbook kernel imports the runbook's `homeops` modules while it boots, and nothing else changes."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from homeops.runner.kernel import ALWAYS_WARMED, kernel_manager_class, warmed_imports

READY_TIMEOUT = 60  # seconds for a kernel to boot on a busy machine
MESSAGE_TIMEOUT = 30
ROOT = Path(__file__).resolve().parents[2]

# What a cell sees: the user namespace (IPython's own names included) and which modules are loaded.
PROBE = """
import sys as _probe_sys
print(sorted(name for name in globals() if not name.startswith("_probe")))
print(repr(globals().get("_")), repr(globals().get("_i")))
print(sorted(m for m in ("homeops.procedures.checks", "homeops.procedures.session", "homeops.cluster.loader")
             if m in _probe_sys.modules))
"""


def _code_cell(source: str) -> dict:
    return {"cell_type": "code", "metadata": {}, "source": source, "outputs": [], "execution_count": None}


def test_the_homeops_modules_a_notebook_imports_are_found_in_its_code_cells():
    notebook = {"cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "import homeops.not_code"},
        _code_cell("import json\nfrom homeops.procedures import checks, preflight\n"),
        _code_cell(["import homeops.gate\n", "from homeops.procedures.session import open_session"]),
        _code_cell("%time x = 1"),  # IPython syntax: not Python, skipped
        _code_cell("from . import relative\nfrom homeops.errors import *"),
    ]}
    assert warmed_imports(notebook) == (
        "homeops.procedures:checks", "homeops.procedures:preflight", "homeops.procedures",
        "homeops.gate", "homeops.procedures.session:open_session", "homeops.procedures.session",
        "homeops.errors", *ALWAYS_WARMED)


def test_a_notebook_that_imports_nothing_of_homeops_warms_nothing():
    notebook = {"cells": [_code_cell("import os, sys\nprint(os.getcwd())")]}
    assert warmed_imports(notebook) == ()


def test_every_runbook_warms_what_its_first_step_imports():
    for path in sorted((ROOT / "runbooks").glob("*.ipynb")):
        warmed = warmed_imports(json.loads(path.read_text()))
        assert "homeops.procedures.session:open_session" in warmed, path.name
        assert "homeops.cluster.loader" in warmed, path.name


async def _probe(runtime: Path, warm: tuple[str, ...], cells: list[str], **env: str) -> list[dict]:
    """Start a kernel (warming `warm`), run `cells` after it is ready: per cell its reply and IOPub messages."""
    manager = kernel_manager_class({**os.environ, **env}, runtime, warm)(kernel_name="python3")
    await manager.start_kernel()
    client = manager.client()
    client.start_channels()
    try:
        await client.wait_for_ready(timeout=READY_TIMEOUT)
        answers = []
        for source in cells:
            request = client.execute(source)
            messages = []
            while True:
                message = await client.get_iopub_msg(timeout=MESSAGE_TIMEOUT)
                messages.append(message)
                if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                    break
            reply = await client._async_recv_reply(request, timeout=MESSAGE_TIMEOUT)
            answers.append({"request": request, "reply": reply["content"], "messages": messages})
        return answers
    finally:
        client.stop_channels()
        await manager.shutdown_kernel(now=True)


def _printed(answer: dict) -> list[str]:
    return "".join(m["content"]["text"] for m in answer["messages"] if m["msg_type"] == "stream").splitlines()


def test_a_warmed_kernel_has_the_modules_loaded_and_the_same_namespace_and_outputs_as_a_cold_one(tmp_path):
    warm = warmed_imports({"cells": [_code_cell(
        "from homeops.procedures import checks\nfrom homeops.procedures.session import open_session")]})
    (tmp_path / "cold").mkdir()
    (tmp_path / "warm").mkdir()
    (cold,) = asyncio.run(_probe(tmp_path / "cold", (), [PROBE]))
    (warmed,) = asyncio.run(_probe(tmp_path / "warm", warm, [PROBE]))

    cold_names, cold_last_values, cold_modules = _printed(cold)
    warm_names, warm_last_values, warm_modules = _printed(warmed)
    assert warm_names == cold_names, "the warm-up bound a name the notebook would see"
    assert warm_last_values == cold_last_values == "'' ''", "the warm-up left a displayed value or an input"
    assert cold_modules == "[]"
    assert warm_modules == "['homeops.cluster.loader', 'homeops.procedures.checks', 'homeops.procedures.session']"
    # The first cell is still the first execution, and everything on IOPub after ready is its own.
    assert warmed["reply"]["execution_count"] == cold["reply"]["execution_count"] == 1
    assert {m["parent_header"].get("msg_id") for m in warmed["messages"]} == {warmed["request"]}


def test_a_module_that_fails_to_import_while_warming_fails_in_the_cell_that_imports_it(tmp_path):
    broken = tmp_path / "pkg" / "homeops_probe_broken.py"
    broken.parent.mkdir()
    broken.write_text("raise RuntimeError('broken at import')\n")
    warm = ("homeops.no_such_module", "homeops_probe_broken")
    (import_cell,) = asyncio.run(_probe(tmp_path, warm, ["import homeops_probe_broken"],
                                        PYTHONPATH=str(broken.parent)))
    assert import_cell["reply"]["status"] == "error"
    assert (import_cell["reply"]["ename"], import_cell["reply"]["evalue"]) == ("RuntimeError", "broken at import")
    assert [m for m in import_cell["messages"] if m["msg_type"] == "stream"] == [], "the warm-up printed something"
