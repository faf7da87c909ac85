"""Time in the twin: wall-clock deadlines kept in the state, Go-style durations, and scaled waits.

Nothing runs in the background: a reboot is stored as the wall-clock moments it passes through,
and every command works out where each node is from the time it reads the state.
"""

from __future__ import annotations

import re
import time

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")

# How often a waiting fake tool looks at the state again.
POLL_SECONDS = 0.05
# How often a tool that follows the cluster until something happens (`talosctl upgrade` waiting
# for the node, `talosctl health`) looks again: it returns at most this late, and one look (a
# read of the small state file) costs well under a millisecond.
WATCH_SECONDS = 0.01


def now() -> float:
    return time.time()


def twin_now(state: dict) -> float:
    """The cluster's time: the wall clock plus what tests moved it forward (`clock_offset` in the state).

    Reboots, recoveries and Rook's maintenance timeout run on this clock, so a test can let 31
    minutes pass in an instant (`cluster.advance`) instead of waiting for them.
    """
    return time.time() + float(state.get("clock_offset", 0.0))


def parse_duration(text: str) -> float:
    """A Go duration ("10m", "600s", "1h30m", "0") in seconds; ValueError when it is not one."""
    if text == "0":
        return 0.0
    position, total = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        position = match.end()
    if position != len(text) or not text:
        raise ValueError(f'time: invalid duration "{text}"')
    return total


def format_duration(seconds: float) -> str:
    """Seconds the way Go prints a time.Duration: 600 -> "10m0s", 90.5 -> "1m30.5s"."""
    if seconds == 0:
        return "0s"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{secs:.9f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{int(hours)}h{int(minutes)}m{text}"
    if minutes:
        return f"{int(minutes)}m{text}"
    return text


def rfc3339(moment: float) -> str:
    """Seconds precision, as Kubernetes prints creationTimestamp and condition times."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


def rfc3339_micro(moment: float) -> str:
    """Microsecond precision, as Kubernetes prints a MicroTime (Lease acquireTime/renewTime)."""
    whole = int(moment // 1)
    micros = round((moment - whole) * 1_000_000)
    if micros == 1_000_000:
        whole, micros = whole + 1, 0
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{micros:06d}Z"


def parse_rfc3339(text: str) -> float:
    """An RFC 3339 time in seconds since the epoch; ValueError when it is not one."""
    match = _RFC3339.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f'parsing time "{text}" as "2006-01-02T15:04:05.000000Z07:00": cannot parse')
    from datetime import datetime  # only Lease writes parse times; keep it off every other call

    base, fraction, zone = match.groups()
    zone = "+00:00" if zone == "Z" else zone
    moment = datetime.fromisoformat(base + zone).timestamp()
    return moment + (float(fraction) if fraction else 0.0)


def scaled_wait(requested: float, patience: float) -> float:
    """How long a fake tool really waits when told to wait `requested` seconds.

    The twin plays minutes of cluster time in fractions of a second (a reboot lasts
    `reboot_seconds`), so a wait that would only end by timing out (a drain blocked by a PDB, a
    node that never comes back) is cut to `patience` seconds of real time, a few reboots long.
    A `requested` of 0 means "wait forever" to kubectl, and gets `patience` too.
    """
    if requested <= 0:
        return patience
    return min(requested, patience)


def sleep_until(deadline: float) -> None:
    remaining = deadline - now()
    if remaining > 0:
        time.sleep(min(remaining, WATCH_SECONDS))
