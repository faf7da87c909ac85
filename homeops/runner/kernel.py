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
- It is launched before papermill is even imported, and before cluster.yaml is loaded
  (`EarlyKernel`), and handed to papermill as its kernel manager, so its half-second boot overlaps
  the runner's own start.
- As the last step of its boot it imports the `homeops` modules the runbook's cells import
  (`warmed_imports`): that import (pydantic, the model) is then done while the runner is still
  busy, instead of in the first cell. It binds no name and prints nothing, so the notebook sees
  the same namespace and the record the same outputs; a module that fails to import is left for
  the cell to fail on, as it would have.
- It is ready when it has answered a kernel_info request on the shell channel and the status
  messages of that request have arrived on IOPub (`RunbookKernelClient`). jupyter_client's own
  client then also waits until IOPub has been silent for 0.2 s, which every run would pay once.
"""

from __future__ import annotations

import ast
import importlib
import math
import sys
import time
from pathlib import Path
from queue import Empty
from typing import Any, Mapping

from homeops import collector

STOP_POLL_SECONDS = 0.005  # how often a stopping kernel is checked for being gone
SHELL_REPLY_SECONDS = 1.0  # one kernel_info attempt: a kernel still booting has not bound its sockets yet
# After the shell reply, the request's own status messages must arrive on IOPub within this time;
# if they do not, IOPub was not connected yet (a SUB socket misses what was sent before it joined)
# and the request is sent again. Same bound as jupyter_client's check.
IOPUB_STATUS_SECONDS = 0.2


# Every runbook loads cluster.yaml through the loader (the `config` parameter every runbook has),
# though its cells import only the procedures that call it.
ALWAYS_WARMED = ("homeops.cluster.loader",)


def kernel_argv(warm: tuple[str, ...] = ()) -> list[str]:
    # History in memory, as nbclient asks of the kernels it starts itself: a runbook's cells do not
    # belong in the user's IPython history, and kernels of parallel runs do not share its database.
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
            "--HistoryManager.hist_file=:memory:"]
    if warm:
        # IPython runs exec_lines after the kernel's sockets are bound and before it answers any
        # request. The call returns None, so it displays nothing and sets no `_`.
        call = f"__import__({__name__!r}, fromlist=['warm_imports']).warm_imports({list(warm)!r})"
        argv.append(f"--IPKernelApp.exec_lines={call}")
    return argv


def warmed_imports(notebook: dict) -> tuple[str, ...]:
    """The `homeops` modules a notebook's code cells import, in order, plus ALWAYS_WARMED when there are any.

    `from homeops.procedures import checks` yields `homeops.procedures:checks`: the name may be a
    submodule or an attribute, which only the import can tell.
    """
    found: list[str] = []
    for cell in notebook.get("cells") or []:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        try:
            tree = ast.parse("".join(source) if isinstance(source, list) else str(source))
        except (SyntaxError, ValueError):  # IPython magics, or a cell that will fail on its own
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found += [f"{node.module}:{alias.name}" for alias in node.names if alias.name != "*"]
                found.append(node.module)
    own = [name for name in found if name.split(":")[0].split(".")[0] == "homeops"]
    return tuple(dict.fromkeys([*own, *ALWAYS_WARMED])) if own else ()


def warm_imports(names: list[str]) -> None:
    """Runs inside the kernel while it boots: import what `warmed_imports` found, quietly."""
    with collector.paused():
        for name in names:
            module, _, attribute = name.partition(":")
            try:
                imported = importlib.import_module(module)
                if attribute and not hasattr(imported, attribute):
                    importlib.import_module(f"{module}.{attribute}")
            except Exception:  # noqa: BLE001  the cell that imports it reports the error, in its own place
                continue


def kernel_log(runtime_dir: Path) -> Path:
    return runtime_dir / "kernel.log"


def last_log_line(runtime_dir: Path) -> str:
    """The kernel's last log line: why it died, when it did."""
    try:
        lines = kernel_log(runtime_dir).read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1].strip() if lines else ""


def kernel_client_class() -> type:
    """An asynchronous KernelClient whose readiness check ends when the kernel has answered."""
    from jupyter_client.asynchronous import AsyncKernelClient

    class RunbookKernelClient(AsyncKernelClient):
        async def wait_for_ready(self, timeout: float | None = None) -> None:
            deadline = time.monotonic() + (math.inf if timeout is None else timeout)
            while True:
                request = self.kernel_info()
                reply = await self._reply_to(request)
                if reply is not None and await self._went_idle(request):
                    self._handle_kernel_info_reply(reply)
                    return
                if not await self._async_is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")

        async def _reply_to(self, request: str) -> dict[str, Any] | None:
            """The shell reply to `request`; None when none came within SHELL_REPLY_SECONDS."""
            until = time.monotonic() + SHELL_REPLY_SECONDS
            while (left := until - time.monotonic()) > 0:
                try:
                    message = await self.get_shell_msg(timeout=left)
                except Empty:
                    return None
                if message["parent_header"].get("msg_id") == request:
                    return message
            return None

        async def _went_idle(self, request: str) -> bool:
            """Reads IOPub up to the kernel's "idle" after `request`: older messages are stale and dropped."""
            while True:
                try:
                    message = await self.get_iopub_msg(timeout=IOPUB_STATUS_SECONDS)
                except Empty:
                    return False
                if (message["msg_type"] == "status" and message["content"].get("execution_state") == "idle"
                        and message["parent_header"].get("msg_id") == request):
                    return True

    return RunbookKernelClient


def kernel_manager_class(env: Mapping[str, str], runtime_dir: Path, warm: tuple[str, ...] = ()) -> type:
    """A KernelManager class bound to this run's environment and private directory (and imports to warm)."""
    from jupyter_client import AsyncKernelManager
    from jupyter_client.kernelspec import KernelSpec

    kernel_env = dict(env)
    client_class = kernel_client_class()

    class RunbookKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.client_factory = client_class
            self.transport = "ipc"
            self.connection_file = str(runtime_dir / "kernel.json")
            self.ip = str(runtime_dir / "kernel-ipc")
            # Set after __init__: assigning kernel_name there resets the cached spec.
            self._kernel_spec = KernelSpec(argv=kernel_argv(warm), display_name="homeops runbook", language="python")

        async def start_kernel(self, **kw):
            kw["env"] = dict(kernel_env)
            with kernel_log(runtime_dir).open("ab") as log:  # the child keeps its own copy of the descriptor
                kw["stdout"] = kw["stderr"] = log
                await super().start_kernel(**kw)

        async def _async_wait(self, pollinterval: float = 0.1) -> None:
            # How jupyter_client waits for a killed kernel to be gone: it polls, by default every
            # 100 ms, and a SIGKILLed kernel is gone within a few, so every run's end would wait
            # for most of a poll it does not need.
            await super()._async_wait(pollinterval=min(pollinterval, STOP_POLL_SECONDS))

    return RunbookKernelManager


class EarlyKernel:
    """A kernel launched at once, handed to papermill when it gets there, and always stopped.

    A launch error is kept and raised by `manager()`, so it becomes the run's outcome (in its
    record) rather than an error before the run began.
    """

    def __init__(self, env: Mapping[str, str], runtime_dir: Path, warm: tuple[str, ...] = ()):
        from jupyter_core.utils import run_sync

        self.runtime_dir = runtime_dir
        self._manager = None
        self._error: Exception | None = None
        try:
            with collector.paused():  # jupyter_client's import comes first, and the kernel waits for it
                manager_class = kernel_manager_class(env, runtime_dir, warm)
            # Kept before the start, so that stop() also ends a kernel whose start failed half-way.
            self._manager = manager_class(kernel_name="python3")
            run_sync(self._manager.start_kernel)()
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
