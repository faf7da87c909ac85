"""Run one external command: an argument list, never a shell string, always with a timeout."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from typing import Sequence


class ToolError(Exception):
    """A tool exited non-zero, or could not be started. Carries what a person needs to see."""

    def __init__(self, argv: Sequence[str], returncode: int | None, stderr: str, stdout: str = ""):
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr
        self.stdout = stdout
        super().__init__(f"`{' '.join(self.argv)}` exited {returncode}: {_what_went_wrong(stderr or stdout)}")


# `kubectl exec` ends with its own line after the remote command's message (client-go
# tools/remotecommand/v4.go, errorDecoderV4: "command terminated with exit code %d"); the message
# an operator needs (Ceph's "Error EBUSY: ...") is the line before it.
_KUBECTL_EXEC_EXIT = re.compile(r"command terminated with exit code \d+")


def _what_went_wrong(output: str) -> str:
    """The last line of the tool's output that says why, or "no output"."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    reasons = [line for line in lines if not _KUBECTL_EXEC_EXIT.fullmatch(line)]
    return (reasons or lines or ["no output"])[-1]


class ToolTimeout(ToolError):
    """A tool ran past its timeout and was killed."""

    def __init__(self, argv: Sequence[str], timeout: float, stderr: str = "", stdout: str = ""):
        self.timeout = timeout
        ToolError.__init__(self, argv, None, stderr, stdout)
        Exception.__init__(self, f"`{' '.join(self.argv)}` did not finish within {timeout:g}s")


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def run(argv: Sequence[str], *, timeout: float, input: str | None = None, check: bool = True) -> Completed:
    """Run `argv` and return its output; raise ToolError on a non-zero exit (when `check`)."""
    argv = [str(a) for a in argv]
    try:
        proc = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise ToolTimeout(argv, timeout, _text(exc.stderr), _text(exc.stdout)) from None
    except FileNotFoundError:
        raise ToolError(argv, 127, f"{argv[0]}: command not found (is it installed and on PATH?)") from None
    if check and proc.returncode != 0:
        raise ToolError(argv, proc.returncode, proc.stderr, proc.stdout)
    return Completed(tuple(argv), proc.returncode, proc.stdout, proc.stderr)


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode(errors="replace")
