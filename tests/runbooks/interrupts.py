"""Ctrl-C to a drill's run at a chosen moment, and the command a stop tells the reader to run again."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable

from tests.runbooks.conftest import COMMAND_TIMEOUT


def interrupt(run: subprocess.Popen, when: Callable[[], object]) -> tuple[str, str]:
    """SIGINT (as Ctrl-C) to a started run once `when()` returned (it waits for the moment); what the run
    printed (stdout, stderr). The run never outlives the test."""
    try:
        when()
        run.send_signal(signal.SIGINT)
        return run.communicate(timeout=COMMAND_TIMEOUT)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()


def typed_again(drill, name: str, *params: str) -> str:
    """The apply run of `name` as a stop names it (`run `...` again`): the drill's own command line."""
    return " ".join(["homeops", *drill.run_argv(name, *params, apply=True)[3:]])
