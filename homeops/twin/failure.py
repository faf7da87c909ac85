"""How a fake tool stops: with the exit code and the text the real tool would print."""

from __future__ import annotations

import sys
from collections.abc import Callable

from homeops.twin import output
from homeops.twin.state import NotATwin


class ToolFailure(Exception):
    def __init__(self, stderr: str, code: int = 1, stdout: str = ""):
        super().__init__(stderr)
        self.stderr = stderr
        self.code = code
        self.stdout = stdout


def answer(run: Callable[[list[str], str], int], argv: list[str], twin_dir: str, *, not_a_twin: str = "error: ") -> int:
    """Run one fake tool call; a refusal prints what the real tool prints and exits with its code."""
    try:
        return run(argv, twin_dir)
    except ToolFailure as failure:
        output.write(sys.stdout, failure.stdout)
        output.write(sys.stderr, failure.stderr)
        return failure.code
    except NotATwin as exc:
        output.write(sys.stderr, f"{not_a_twin}{exc}")
        return 1
