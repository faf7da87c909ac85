"""`talosctl upgrade`: the node checks the image and etcd, cordons, drains, reboots and comes back;
with --wait (the default) talosctl follows it until then."""

from __future__ import annotations

import re
import sys
import time

from homeops.twin import clock, cluster, etcd, faults, nodes, output, table
from homeops.twin.talos import api
from homeops.twin.failure import ToolFailure

_IMAGE = re.compile(r"^(?P<repository>.+)/(?P<schematic>[0-9a-f]{64}):(?P<tag>v\d+\.\d+\.\d+)$")


def upgrade(parsed, twin_dir: str) -> int:
    addresses = api.addresses(parsed)
    image = parsed.value("image")
    if not image:
        raise ToolFailure("error: image is required (use -i/--image)")
    timeout = api.duration(parsed, "timeout", "30m")
    wait = parsed.switch("wait", True)
    for address in addresses:
        _request_upgrade(parsed, twin_dir, address, image)
        if not wait:
            started = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()) + " +0000 UTC"
            output.write(
                sys.stdout, table.aligned([["NODE", "ACK", "STARTED"], [address, "Upgrade request received", started]])
            )
            continue
        _wait_for_upgrade(twin_dir, address, timeout)
    return 0


def _request_upgrade(parsed, twin_dir: str, address: str, image: str) -> None:
    def refuse(code: str, message: str) -> ToolFailure:
        return ToolFailure(
            "error performing upgrade: "
            + api.node_errors([(address, f"rpc error: code = {code} desc = {message}")])
        )

    with cluster.changing(twin_dir) as (live, now):
        node, error = api.reach(live, address, now)
        if error:
            raise ToolFailure("error performing upgrade: " + api.node_errors([(address, error)]))
        if node["reboot"]:
            raise refuse("Unavailable", "failed to acquire lock: locked")
        if faults.active(live, "upgrade-error", node["name"]):
            raise refuse(
                "Unknown",
                f'error validating installer image "{image}": failed to pull image: '
                "unexpected status from HEAD request "
                f"to https://{image.split('/', 1)[0]}/v2/: 500 Internal Server Error",
            )
        match = _IMAGE.match(image)
        wanted = (live["cluster"]["installer"], live["cluster"]["schematic"])
        if not match or (match["repository"], match["schematic"]) != wanted:
            raise refuse(
                "Unknown",
                f'error validating installer image "{image}": '
                f'failed to resolve reference "{image}": {image}: not found',
            )
        if not parsed.switch("force"):
            refusal = etcd.upgrade_refusal(live, node, now)
            if refusal:
                raise refuse("FailedPrecondition", refusal)
        live["resource_version"] += 1
        nodes.start_upgrade(live, node, match["tag"], now, drain=not parsed.switch("stage"))


def _wait_for_upgrade(twin_dir: str, address: str, timeout: float) -> None:
    """Follow the node like `talosctl upgrade --wait`: print each stage until it is back.

    The real wait lasts up to --timeout; the twin's lasts up to clock.scaled_wait(timeout).
    """
    current, start = cluster.observe(twin_dir)
    deadline = start + clock.scaled_wait(timeout, current["timing"]["patience_seconds"])
    # talosctl prints its progress on stderr; stdout stays empty.
    output.write(sys.stderr, f"watching nodes: [{address}]")
    last = None
    while True:
        current, now = cluster.observe(twin_dir)
        node = nodes.find(current, address=address)
        phase = nodes.phase(node, now)
        if node["reboot"] is None:
            output.write(sys.stderr, f"    * {address}: post check passed")
            return
        if phase != last:
            output.write(sys.stderr, f"    * {address}: {_progress(node, phase)}")
            last = phase
        if now >= deadline:
            raise ToolFailure(api.node_errors([(address, "context deadline exceeded")]))
        clock.sleep_until(deadline)


def _progress(node: dict, phase: str) -> str:
    if phase == nodes.OFFLINE:
        return "unavailable, retrying..."
    ready = "true" if phase == nodes.UPGRADING else "false"
    unmet = (
        ""
        if phase == nodes.UPGRADING
        else f' unmetCond: [name:"nodeReady" reason:"node \\"{node["name"]}\\" is not ready"]'
    )
    return f"stage: {phase.upper()} ready: {ready}{unmet}"
