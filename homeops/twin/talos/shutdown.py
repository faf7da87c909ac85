"""`talosctl -n IP[,IP...] shutdown [--force] [--wait=BOOL] [--timeout D] [--debug]`.

As talosctl v1.11 (cmd/talosctl/cmd/talos/shutdown.go, and trackable_action_flags.go for --wait,
default true, and --timeout, default 30m): without --force Talos cordons and drains the node
first; --force shuts it down without a cordon/drain. With --wait talosctl follows each node
(`waiting for actor ID`, `actor ID: ...`, then `events check condition met` once every service
has stopped), printed as `"NODE": MESSAGE` lines on stderr when stderr is not a terminal.
The node then stays off until it is powered on (homeops.twin.power).
"""

from __future__ import annotations

import json
import sys

from homeops.twin import cluster, ids, output, power
from homeops.twin.failure import ToolFailure
from homeops.twin.talos import api


def shutdown(parsed, twin_dir: str) -> int:
    if len(parsed.positionals) > 1:
        raise ToolFailure(f'Error: unknown command "{parsed.positionals[1]}" for "talosctl shutdown"')
    api.duration(parsed, "timeout", "30m")
    wait = parsed.switch("wait", True) or parsed.switch("debug")
    addresses = api.addresses(parsed)
    errors = []
    with cluster.changing(twin_dir) as (live, now):
        for address in addresses:
            node, error = api.reach(live, address, now)
            if error:
                errors.append((address, error))
                continue
            power.shut_down(live, node, now, drain=not parsed.switch("force"))
    if wait:
        for address in addresses:
            if any(address == failed for failed, _ in errors):
                continue
            say = _reporter(address)
            say("waiting for actor ID")
            say(f"actor ID: {ids.uuid4()}")
            say("events check condition met")
    if errors:
        raise ToolFailure(("" if wait else "error executing shutdown: ") + api.node_errors(errors))
    return 0


def _reporter(address: str):
    if sys.stderr.isatty():
        return lambda message: output.write(sys.stderr, f"    * {address}: {message}")
    return lambda message: output.write(sys.stderr, f"{json.dumps(address)}: {message}")
