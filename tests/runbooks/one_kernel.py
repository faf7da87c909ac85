"""One kernel, many Run Alls: how JupyterLab runs a runbook, driven through jupyter_client.

The kernel is started as JupyterLab starts it (the server's python3 kernel, its working directory
the notebook's, `JPY_SESSION_NAME` the notebook's path, the twin's tools first on PATH as
`homeops lab --twin` sets them) and lives for the whole test. `run_all()` sends every code cell of
the notebook in order, as Run > Run All Cells does, and stops at the first cell that fails, as
JupyterLab drops the cells still queued after an error. The parameters cell is edited first, as an
operator edits it (`apply: bool = True`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.blocking import BlockingKernelClient
from jupyter_client.manager import KernelManager

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CELL_TIMEOUT = 300  # seconds for one cell against the twin on a loaded 2-core machine
START_TIMEOUT = 180


@dataclass
class CellRun:
    source: str
    outputs: list[dict]

    @property
    def text(self) -> str:
        parts = []
        for output in self.outputs:
            parts.append(output.get("text", "") + output.get("evalue", ""))
            parts += [(output.get("data") or {}).get("text/plain", "")]
        return "".join(parts)

    @property
    def error(self) -> dict | None:
        return next((o for o in self.outputs if o["output_type"] == "error"), None)


class OneKernel:
    """A notebook's copy and the one kernel that runs it, as in JupyterLab."""

    def __init__(self, notebook: Path, client, manager: KernelManager | None = None):
        self.notebook = notebook
        self.client = client
        self.manager = manager

    @classmethod
    def start(cls, name: str, directory: Path, twin: Path, records: Path) -> "OneKernel":
        """A copy of runbooks/NAME.ipynb under `directory`, and a kernel started for it as JupyterLab starts one."""
        directory.mkdir(parents=True, exist_ok=True)
        notebook = directory / f"{name}.ipynb"
        shutil.copyfile(ROOT / "runbooks" / f"{name}.ipynb", notebook)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOMEOPS_")}
        env.update({"PATH": f"{twin / 'bin'}{os.pathsep}{BIN}{os.pathsep}{os.environ['PATH']}",
                    "HOMEOPS_RECORDS": str(records), "HOMEOPS_TWIN": str(twin),
                    "JPY_SESSION_NAME": str(notebook), "PYDEVD_DISABLE_FILE_VALIDATION": "1"})
        manager = KernelManager(kernel_name="python3")
        manager.start_kernel(env=env, cwd=str(directory))
        client = manager.client()
        client.start_channels()
        client.wait_for_ready(timeout=START_TIMEOUT)
        return cls(notebook, client, manager)

    @classmethod
    def attach(cls, notebook: Path, connection_file: Path) -> "OneKernel":
        """The kernel a JupyterLab started for `notebook`, reached through its connection file."""
        client = BlockingKernelClient(connection_file=str(connection_file))
        client.load_connection_file()
        client.start_channels()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:  # a kernel still booting misses heartbeats, which jupyter_client reads as died
                client.wait_for_ready(timeout=START_TIMEOUT)
                return cls(notebook, client)
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)

    def cells(self) -> list[str]:
        notebook = json.loads(self.notebook.read_text())
        return ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]

    def set_parameters(self, **values: object) -> None:
        """Edit the parameters cell of the notebook as an operator does: `name: type = value`."""
        notebook = json.loads(self.notebook.read_text())
        cell = next(c for c in notebook["cells"] if "parameters" in c["metadata"].get("tags", []))
        source = "".join(cell["source"])
        for name, value in values.items():
            source, count = re.subn(rf"^({name}: \w+ = )[^#\n]*?(\s*#|$)", rf"\g<1>{value!r}\g<2>", source,
                                    flags=re.M)
            assert count == 1, f"no parameter {name} in {source}"
        cell["source"] = source
        self.notebook.write_text(json.dumps(notebook, indent=1))

    def run_all(self) -> list[CellRun]:
        """Run > Run All Cells: every code cell in order, none after the first that fails."""
        ran = []
        for source in self.cells():
            ran.append(self.run_cell(source))
            if ran[-1].error is not None:
                break
        return ran

    def send_all(self) -> None:
        """Run > Run All Cells without waiting: every code cell queued in the kernel, as JupyterLab sends them."""
        for source in self.cells():
            self.client.execute(source, stop_on_error=True)

    def run_cell(self, source: str) -> CellRun:
        outputs: list[dict] = []

        def collect(message: dict) -> None:
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                outputs.append({"output_type": "stream", "name": content["name"], "text": content["text"]})
            elif kind in ("display_data", "execute_result"):
                outputs.append({"output_type": kind, "data": content["data"]})
            elif kind == "error":
                outputs.append({"output_type": "error", "ename": content["ename"], "evalue": content["evalue"],
                                "traceback": content["traceback"]})

        self.client.execute_interactive(source, output_hook=collect, timeout=CELL_TIMEOUT, stop_on_error=True)
        return CellRun(source, outputs)

    def stop(self) -> None:
        self.client.stop_channels()
        if self.manager is not None and self.manager.has_kernel:
            self.manager.shutdown_kernel(now=True)
