"""The Jupyter kernel a runbook runs in.

- It runs this interpreter (`sys.executable`), so `import homeops` works in the notebook
  whatever kernelspecs are installed for the user.
- It talks over the IPC transport with its sockets and connection file in a private directory:
  kernels started at the same moment (pytest-xdist, two runs at once) cannot race for TCP ports.
- Its own process output (kernel logs, not the cells' output, which arrives as messages) goes to
  `kernel.log` in that directory: a kernel shut down after a cell timeout logs a traceback, and
  it must not land on the terminal after the run's last line.
- It gets the run's environment (the twin's `bin/` first on PATH, HOMEOPS_RECORD, HOMEOPS_ARTIFACTS)
  explicitly, without changing this process's own environment.
- It is launched before papermill is even imported (`EarlyKernel`) and handed to papermill as its
  kernel manager, so its half-second boot overlaps the runner's own start.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Mapping


def kernel_argv() -> list[str]:
    return [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]


def kernel_log(runtime_dir: Path) -> Path:
    return runtime_dir / "kernel.log"


def last_log_line(runtime_dir: Path) -> str:
    """The kernel's last log line: why it died, when it did."""
    try:
        lines = kernel_log(runtime_dir).read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1].strip() if lines else ""


def kernel_manager_class(env: Mapping[str, str], runtime_dir: Path) -> type:
    """A KernelManager class bound to this run's environment and private directory."""
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpec

    kernel_env = dict(env)

    class RunbookKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.transport = "ipc"
            self.connection_file = str(runtime_dir / "kernel.json")
            self.ip = str(runtime_dir / "kernel-ipc")
            # Set after __init__: assigning kernel_name there resets the cached spec.
            self._kernel_spec = KernelSpec(argv=kernel_argv(), display_name="homeops runbook", language="python")

        async def start_kernel(self, **kw):
            kw["env"] = dict(kernel_env)
            with kernel_log(runtime_dir).open("ab") as log:  # the child keeps its own copy of the descriptor
                kw["stdout"] = kw["stderr"] = log
                await super().start_kernel(**kw)

    return RunbookKernelManager


class EarlyKernel:
    """A kernel launched at once, handed to papermill when it gets there, and always stopped.

    A launch error is kept and raised by `manager()`, so it becomes the run's outcome (in its
    record) rather than an error before the run began.
    """

    def __init__(self, env: Mapping[str, str], runtime_dir: Path):
        from jupyter_core.utils import run_sync

        self.runtime_dir = runtime_dir
        self._manager = None
        self._error: Exception | None = None
        try:
            manager = kernel_manager_class(env, runtime_dir)(kernel_name="python3")
            run_sync(manager.start_kernel)()
            self._manager = manager
        except Exception as exc:  # reported as the run's outcome by whoever asks for the manager
            self._error = exc

    def manager(self):
        if self._error is not None:
            raise self._error
        return self._manager

    def stop(self) -> None:
        from jupyter_core.utils import run_sync

        if self._manager is None:
            return
        if self._manager.has_kernel:
            run_sync(self._manager.shutdown_kernel)(now=True)
        # papermill leaves the client's channels open on a kernel it does not own; closing the
        # context closes them, instead of the interpreter waiting on them at exit.
        self._manager.context.destroy(linger=0)
        self._manager = None
