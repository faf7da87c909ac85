"""cluster-shutdown and cluster-startup are never silent for more than 15 s either: at the default
wait_timeout and poll_interval, against a twin whose machines take tens of seconds to boot and whose
Talos API, while a machine is off or has no network yet, answers only by timing out (`timing.dial_seconds`,
as talosctl's dial of a machine that drops the connection: gRPC gives up after 20 s), a line at least every
15 s, in the terminal and in the record.

A look at three workers that are off is three such probes: each says, through the wait's reporter, which
node's Talos API it is still asking, so the screen names what the run waits for while the look lasts.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from homeops.twin import state as twin_state

from tests.runbooks.conftest import ROOT
from tests.runbooks.power_drills import FLAGS, operator_replicas, power_on, raw
from tests.runbooks.silences import LONGEST_SILENCE, longest_silence, record_lines

pytestmark = pytest.mark.slow

REBOOT_SECONDS = 24.0  # a machine answers on its Talos API half a reboot after power-on, and is Ready a reboot after
# cluster-startup's waits follow each other: shorter boots keep the whole drill near a minute.
STARTUP_REBOOT_SECONDS = 16.0
DIAL_SECONDS = 10.0  # a probe of a machine that is off: i/o timeout after this long (a look at 3 workers: 30 s)
WAITED = r"\(\d+s of 900s\)"  # the elapsed time of the default wait_timeout


def slow_dials(drill) -> None:
    with twin_state.change(str(drill.twin)) as current:  # a knob without a scenario key
        current["timing"]["dial_seconds"] = DIAL_SECONDS


def run_at_the_default_settings(drill, runbook: str, *params: str,
                                when: list[tuple[str, Callable[[], None]]] = ()) -> tuple[list[str], list[str]]:
    """`homeops run RUNBOOK --apply` with no -p for wait_timeout (900 s) or poll_interval (10 s): what the
    terminal showed and what the record kept, once the run completed. `when=[(TEXT, act), ...]`: each `act()`
    once the run has printed a line holding its TEXT, in that order (an operator acting on what the screen
    says: the test waits on what the run shows, not on time)."""
    when = list(when)
    argv = [sys.executable, "-m", "homeops", "--config", str(drill.config), "run", runbook,
            "--twin", str(drill.twin), "--records", str(drill.records), "--apply"]
    for param in params:
        argv += ["-p", param]
    out: list[str] = []
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT) as run:
        for line in run.stdout:
            out.append(line.rstrip("\n"))
            if when and when[0][0] in line:
                when.pop(0)[1]()
        errors = run.stderr.read()
        code = run.wait(timeout=300)
    assert code == 0, "\n".join(out) + errors
    assert not when, f"the run never said {when[0][0]!r}"
    record = Path(out[-1].split(" — record: ")[-1])
    assert json.loads(record.read_text())["metadata"]["homeops"]["outcome"] == "completed"
    return [line.strip() for line in out], [line.strip() for line in record_lines(record)]


def assert_never_silent(seen: tuple[list[str], list[str]], *patterns: str) -> None:
    for where, lines in zip(("terminal", "record"), seen):
        assert longest_silence(lines) <= LONGEST_SILENCE, f"{where}:\n" + "\n".join(lines)
        text = "\n".join(lines)
        for pattern in patterns:
            assert re.search(rf"^\d\d:\d\d:\d\d waiting for {pattern} {WAITED}$", text, re.M), (where, pattern, text)


def test_a_shutdown_whose_machines_answer_only_by_timing_out_is_never_silent_for_more_than_15_seconds(make_drill):
    drill = make_drill({"reboot_seconds": REBOOT_SECONDS})
    slow_dials(drill)
    drill.tool("talosctl", "-n", "10.0.10.23", "shutdown", "--force")  # the power cut reached worker-3 first

    seen = run_at_the_default_settings(drill, "cluster-shutdown")

    # While a look asks the machines one after the other: which one it still has no answer from.
    assert_never_silent(
        seen,
        r"an answer from each worker's Talos API \(any already off is left out\): asking worker-3's Talos API: "
        r"no answer yet after \d+s",
        r"the workers off \(worker-1, worker-2, worker-3\): asking worker-\d's Talos API: no answer yet after \d+s",
        r"the control-planes off \(cp-1, cp-2\): asking cp-\d's Talos API: no answer yet after \d+s")
    assert "worker-3 is already off (its Talos API does not answer:" in "\n".join(seen[0])
    assert all(node.get("off") for node in raw(drill)["nodes"])
    assert drill.state().ceph_flags.maintenance_flags == FLAGS


def test_a_cold_start_of_slow_machines_is_never_silent_for_more_than_15_seconds(make_drill):
    drill = make_drill({"reboot_seconds": STARTUP_REBOOT_SECONDS})
    # Off as cluster-shutdown leaves the cluster (its flags, the operator at 0, every node off), without the
    # record: startup then works from what it sees, with the same waits.
    for flag in sorted(FLAGS):
        drill.tool("kubectl", "-n", "rook-ceph", "exec", "deploy/rook-ceph-tools", "--", "ceph", "osd", "set", flag)
    drill.tool("kubectl", "-n", "rook-ceph", "scale", "deployment", "rook-ceph-operator", "--replicas=0")
    drill.tool("talosctl", "-n", "10.0.10.21,10.0.10.22,10.0.10.23,10.0.10.11,10.0.10.12", "shutdown", "--force")
    slow_dials(drill)

    # The control planes are powered on once the run says it waits for them, the workers once it waits for every
    # node: each wait then lasts a boot, however long the run took to get there on a loaded machine. The first
    # look at the control planes asks both while they are off (2 dials of 10 s: 20 s, silent before the fix).
    seen = run_at_the_default_settings(drill, "cluster-startup", when=[
        ("waiting for both control planes", lambda: power_on(drill, "cp-1", "cp-2")),
        ("waiting for every node Ready", lambda: power_on(drill, "worker-1", "worker-2", "worker-3"))])

    assert_never_silent(
        seen,
        # Both control planes booting: which one the look still asks.
        r"both control planes' Talos API \(cp-1, cp-2; .+\): asking cp-\d's Talos API: no answer yet after \d+s",
        r"the Kubernetes API \(etcd's quorum, then the API server behind the VIP\): the tools fail \(.+\)",
        r"every node Ready \(cp-1, cp-2, worker-1, worker-2, worker-3\): worker-1 not Ready \(Ready=\w+\); .+",
        r"every OSD up and every PG clean \(with the shutdown's flags still set\): PGs not clean: \d+ .+")
    nodes = drill.nodes()
    assert all(node.is_ready for node in nodes.values()), nodes
    after = drill.state()
    assert after.ceph_flags.maintenance_flags == frozenset() and after.ceph.health == "HEALTH_OK"
    assert operator_replicas(drill) == 1
