"""The plan/apply gate: a plan runs nothing and shows the exact command; apply runs it."""

from __future__ import annotations

import io
import re
import time

import pytest

from homeops.gate import Gate, stamped
from homeops.tools import kubectl
from homeops.tools.process import ToolError


def test_plan_prints_the_shell_quoted_command_and_runs_nothing(fake_tools):
    out = io.StringIO()
    result = Gate(apply=False, out=out).change(
        ["kubectl", "annotate", "node", "worker-1", "note=two words; rm -rf /"], timeout=5, why="a test")
    assert result is None
    assert fake_tools.calls() == []
    assert out.getvalue() == "PLAN: kubectl annotate node worker-1 'note=two words; rm -rf /'  # a test\n"


def test_apply_prints_and_runs_the_command(fake_tools):
    fake_tools.respond(["kubectl", "cordon", "worker-1"], stdout="node/worker-1 cordoned\n")
    out = io.StringIO()
    done = Gate(apply=True, out=out).change(["kubectl", "cordon", "worker-1"], timeout=5)
    assert done.stdout == "node/worker-1 cordoned\n"
    # What the tool answers is said after the command, with its name, as it comes.
    assert re.fullmatch(r"\d\d:\d\d:\d\d RUN: kubectl cordon worker-1\n"
                        r"\d\d:\d\d:\d\d kubectl: node/worker-1 cordoned\n", out.getvalue())
    assert fake_tools.calls() == [["kubectl", "cordon", "worker-1"]]


def test_a_failing_change_in_apply_mode_raises_with_the_command(fake_tools):
    fake_tools.respond(["kubectl", "uncordon", "worker-9"], stderr='Error from server (NotFound): nodes "worker-9" not found\n',
                       returncode=1)
    with pytest.raises(ToolError, match="NotFound") as caught:
        Gate(apply=True, out=io.StringIO()).change(["kubectl", "uncordon", "worker-9"], timeout=5)
    assert caught.value.argv == ["kubectl", "uncordon", "worker-9"]


def test_reads_run_in_plan_mode_while_every_change_is_only_shown(fake_tools, fixture_text, capsys):
    fake_tools.respond(["kubectl", "get", "nodes", "-o", "json"], stdout=fixture_text("kubectl-get-nodes.json"))
    gate = Gate(apply=False)
    for node in kubectl.nodes():
        kubectl.cordon(gate, node.name)
        kubectl.drain(gate, node.name, timeout=60)
        kubectl.uncordon(gate, node.name)
    assert [c[:3] for c in fake_tools.calls()] == [["kubectl", "get", "nodes"]]
    planned = capsys.readouterr().out.splitlines()
    assert len(planned) == 9 and all(line.startswith("PLAN: kubectl ") for line in planned)
    assert "PLAN: kubectl drain cp-1 --ignore-daemonsets --delete-emptydir-data --timeout=60s" in planned


def test_would_wait_describes_a_wait_instead_of_waiting():
    out = io.StringIO()
    Gate(apply=False, out=out).would_wait("worker-1 Ready", 900)
    assert out.getvalue() == "PLAN: would wait for worker-1 Ready (up to 900s)\n"


def test_a_said_line_starts_with_the_local_time_of_day_to_the_second(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        assert stamped("RUN: kubectl cordon worker-1", 1796220207.9) == "15:03:27 RUN: kubectl cordon worker-1"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_every_line_the_gate_says_carries_its_time_and_a_plan_line_none(fake_tools):
    out = io.StringIO()
    gate = Gate(apply=False, out=out)
    gate.say("mode: plan")
    gate.change(["kubectl", "cordon", "worker-1"], timeout=5)
    said, planned = out.getvalue().splitlines()
    assert re.fullmatch(r"\d\d:\d\d:\d\d mode: plan", said)
    assert planned == "PLAN: kubectl cordon worker-1"  # two plans of one cluster compare line by line
