"""Run one external command: an argument list, never a shell string, always with a timeout."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Callable, Sequence


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


# What a followed command's output and silences are handed to: (stream name, line without its
# newline), and the seconds since the command started.
OnLine = Callable[[str, str], None]
OnQuiet = Callable[[float], None]

# A killed tool gets this long to end after SIGTERM (talosctl closes its connections) before SIGKILL.
TERMINATE_GRACE = 2.0


def run(argv: Sequence[str], *, timeout: float, input: str | None = None, check: bool = True,
        on_line: OnLine | None = None, quiet: float | None = None, on_quiet: OnQuiet | None = None) -> Completed:
    """Run `argv` and return its output; raise ToolError on a non-zero exit (when `check`).

    With `on_line` the command is followed: each line of its stdout and stderr is handed over as
    it arrives, and `on_quiet` is called after every `quiet` seconds without a line, so a long
    step is never a silent screen. A followed command runs in its own process group, killed
    whole on a timeout or an interrupt (a tool's children must not outlive it).
    """
    argv = [str(a) for a in argv]
    if on_line is not None:
        return _follow(argv, timeout, input, check, on_line, quiet, on_quiet)
    try:
        proc = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise ToolTimeout(argv, timeout, _text(exc.stderr), _text(exc.stdout)) from None
    except FileNotFoundError:
        raise ToolError(argv, 127, f"{argv[0]}: command not found (is it installed and on PATH?)") from None
    if check and proc.returncode != 0:
        raise ToolError(argv, proc.returncode, proc.stderr, proc.stdout)
    return Completed(tuple(argv), proc.returncode, proc.stdout, proc.stderr)


def _follow(argv: list[str], timeout: float, input: str | None, check: bool, on_line: OnLine,
            quiet: float | None, on_quiet: OnQuiet | None) -> Completed:
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace",
                                start_new_session=True)
    except FileNotFoundError:
        raise ToolError(argv, 127, f"{argv[0]}: command not found (is it installed and on PATH?)") from None
    lines: queue.Queue[tuple[str, str] | None] = queue.Queue()
    seen: dict[str, list[str]] = {"stdout": [], "stderr": []}
    readers = [threading.Thread(target=_pump, args=(stream, name, lines), daemon=True)
               for name, stream in (("stdout", proc.stdout), ("stderr", proc.stderr))]
    try:
        for reader in readers:
            reader.start()
        if input is not None:
            _feed(proc, input)
        started = time.monotonic()
        deadline = started + timeout
        last_heard = started
        open_streams = len(readers)
        while open_streams:
            now = time.monotonic()
            if now >= deadline:
                _kill(proc)
                raise ToolTimeout(argv, timeout, "".join(seen["stderr"]), "".join(seen["stdout"]))
            wait = deadline - now
            if on_quiet is not None and quiet is not None:
                if now - last_heard >= quiet:
                    on_quiet(now - started)
                    last_heard = time.monotonic()
                    continue
                wait = min(wait, last_heard + quiet - now)
            try:
                item = lines.get(timeout=max(wait, 0.0))
            except queue.Empty:
                continue
            if item is None:
                open_streams -= 1
                continue
            name, line = item
            seen[name].append(line)
            on_line(name, line.rstrip("\n"))
            last_heard = time.monotonic()
        # Both streams are closed: the tool has ended (or closed them to end); wait for it within the time left.
        try:
            returncode = proc.wait(timeout=max(deadline - time.monotonic(), 0.01))
        except subprocess.TimeoutExpired:
            _kill(proc)
            raise ToolTimeout(argv, timeout, "".join(seen["stderr"]), "".join(seen["stdout"])) from None
    except BaseException:
        _kill(proc)
        raise
    stdout, stderr = "".join(seen["stdout"]), "".join(seen["stderr"])
    if check and returncode != 0:
        raise ToolError(argv, returncode, stderr, stdout)
    return Completed(tuple(argv), returncode, stdout, stderr)


def _pump(stream, name: str, lines: queue.Queue) -> None:
    try:
        for line in iter(stream.readline, ""):
            lines.put((name, line))
    except (OSError, ValueError):  # closed under us by a kill
        pass
    finally:
        lines.put(None)


def _feed(proc: subprocess.Popen, text: str) -> None:
    try:
        proc.stdin.write(text)
        proc.stdin.close()
    except BrokenPipeError:  # the tool ended without reading it: its exit code says why
        pass


def _kill(proc: subprocess.Popen) -> None:
    """End the tool and its whole process group: SIGTERM, then SIGKILL after TERMINATE_GRACE."""
    if proc.poll() is not None:
        return
    for sig, grace in ((signal.SIGTERM, TERMINATE_GRACE), (signal.SIGKILL, TERMINATE_GRACE)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _text(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode(errors="replace")
