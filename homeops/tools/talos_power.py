"""Talos power: `talosctl shutdown`, and whether a node's Talos API answers at all.

`talosctl shutdown` (v1.11, cmd/talosctl/cmd/talos/shutdown.go): without --force Talos cordons and
drains the node before it stops its services and powers off; --force skips the cordon/drain.
--wait (default true) follows each node until its services have stopped, up to --timeout (30m).
A node that is off answers no Talos call: `connect: connection refused` while the machine stops,
then `no route to host` or `i/o timeout` once it is gone (talosctl's `rpc error: code = Unavailable`).
"""

from __future__ import annotations

from typing import Callable, Sequence

from homeops.gate import Gate
from homeops.tools import process
from homeops.tools.process import ToolError, ToolTimeout

PROBE_TIMEOUT = 15.0  # a powered-off node may only time out: do not wait on it for long
# A probe that has no answer yet says so this often (`waiting`): a look at three workers that are off
# takes three PROBE_TIMEOUTs, which a wait must not spend in silence.
PROBE_QUIET = 5.0
SHUTDOWN_MARGIN = 60.0  # talosctl needs a moment beyond its own --timeout to report and exit

# What talosctl says when nothing answers at the node's address: it is off (or its network is).
# (`code = Unavailable` alone is not enough: a TLS refusal of a node in maintenance mode has it too.)
_UNREACHABLE = ("connection refused", "no route to host", "i/o timeout",
                "context deadline exceeded", "connection reset by peer", "host is down")


def shutdown(gate: Gate, addresses: Sequence[str], *, timeout: float, endpoint: str | None = None,
             why: str = "") -> process.Completed | None:
    """`talosctl -n A,B shutdown --force --timeout Ns` (with `-e` the endpoint the call goes through:
    a control plane shutting down must not be the endpoint of a call to another node)."""
    argv = ["talosctl", "-n", ",".join(addresses)]
    if endpoint:
        argv += ["-e", endpoint]
    argv += ["shutdown", "--force", "--timeout", f"{timeout:g}s"]
    return gate.change(argv, timeout=timeout + SHUTDOWN_MARGIN, why=why, about=", ".join(addresses),
                       unsure="may be shutting down or off")


def unreachable(error: ToolError) -> bool:
    """The Talos API did not answer at all (as for a node that is off), not an answer with an error."""
    if isinstance(error, ToolTimeout):
        return True
    text = f"{error.stderr or ''}\n{error}"
    return any(mark in text for mark in _UNREACHABLE)


def answers(address: str, *, timeout: float = PROBE_TIMEOUT,
            waiting: Callable[[float], None] | None = None) -> bool | str:
    """True when the node's Talos API answers `version`; otherwise why not, in talosctl's words.

    An answer that is an error other than "unreachable" (a certificate refused, a node in
    maintenance mode) counts as answering: the machine is on. `waiting` hears the seconds spent
    every PROBE_QUIET seconds without an answer (a wait's reporter: `waits.looking`)."""
    argv = ["talosctl", "-n", address, "version", "--json"]
    try:
        if waiting is None:
            process.run(argv, timeout=timeout)
        else:
            process.run(argv, timeout=timeout, on_line=_unread, quiet=PROBE_QUIET, on_quiet=waiting)
    except ToolError as exc:
        if unreachable(exc):
            return _last_line(exc)
        return True
    return True


def _unread(stream: str, line: str) -> None:
    """A probe's output matters only by its exit code and error."""


def _last_line(error: ToolError) -> str:
    lines = [line.strip() for line in (error.stderr or str(error)).splitlines() if line.strip()]
    return lines[-1] if lines else str(error)
