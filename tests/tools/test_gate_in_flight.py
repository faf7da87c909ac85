"""A change while it runs: its lines said as they come, its silences filled, and, when its answer never
comes (a timeout, an interrupt), what it may have changed named at once and carried by the error.

The tools here are real executables (scripts in a bin directory first on PATH), so the change goes
through homeops.tools.process as in production.
"""

from __future__ import annotations

import io
import os
import re
import stat
import sys
import time
from pathlib import Path

import pytest

from homeops import gate as gate_module
from homeops.errors import RunbookStopped
from homeops.gate import Gate, in_doubt
from homeops.tools import ceph, kubectl, process
from homeops.tools.process import ToolError, ToolTimeout

from tests.said import said


@pytest.fixture
def tool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Writes `kubectl` as a Python script with this body; returns the directory of its marks."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    def write(body: str) -> Path:
        path = bin_dir / "kubectl"
        path.write_text(f"#!{sys.executable}\nimport os, sys, time, subprocess\nmarks = {str(tmp_path)!r}\n{body}\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
        return tmp_path

    return write


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").read_text().split(") ")[-1].startswith("Z")


def test_each_line_the_tool_prints_is_said_as_it_comes_with_the_tool_name(tool):
    tool("print('evicting pod default/web-1', flush=True)\n"
         "print('Warning: ignoring DaemonSet-managed Pods: kube-system/cilium-x', file=sys.stderr, flush=True)\n"
         "print('node/worker-1 drained', flush=True)")
    out = io.StringIO()

    done = Gate(apply=True, out=out).change(["kubectl", "drain", "worker-1"], timeout=10)

    lines = said(out.getvalue())
    assert lines[0] == "RUN: kubectl drain worker-1"
    assert set(lines[1:]) == {"kubectl: evicting pod default/web-1", "kubectl: node/worker-1 drained",
                              "kubectl: Warning: ignoring DaemonSet-managed Pods: kube-system/cilium-x"}
    assert lines.index("kubectl: evicting pod default/web-1") < lines.index("kubectl: node/worker-1 drained")
    assert done.stdout == "evicting pod default/web-1\nnode/worker-1 drained\n"
    assert done.stderr == "Warning: ignoring DaemonSet-managed Pods: kube-system/cilium-x\n"


def test_a_secret_a_tool_prints_is_redacted_before_it_is_said(tool):
    key = "AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGP5N7X6Q"
    tool(f"print('applied {key}', flush=True)")
    out = io.StringIO()

    done = Gate(apply=True, out=out).change(["kubectl", "apply"], timeout=10)

    assert key[16:40] not in out.getvalue()
    assert "[REDACTED" in out.getvalue()
    assert key in done.stdout  # what the caller parses is the tool's own output


def test_a_silent_change_is_filled_by_what_the_watch_sees_with_the_elapsed_time(tool, monkeypatch):
    monkeypatch.setattr(gate_module, "QUIET_SECONDS", 0.2)
    tool("time.sleep(0.9)\nprint('done', flush=True)")
    out = io.StringIO()
    looks: list[float] = []

    def watch(elapsed: float) -> str:
        looks.append(elapsed)
        return "worker-1 NotReady"

    Gate(apply=True, out=out).change(["kubectl", "slow"], timeout=10, watch=watch)

    quiet = [line for line in said(out.getvalue()) if "still running" in line]
    assert len(quiet) >= 2, out.getvalue()
    assert all(re.fullmatch(r"kubectl still running \(\d+s of 10s\): worker-1 NotReady", line) for line in quiet)
    assert looks == sorted(looks) and looks[0] >= 0.2
    assert said(out.getvalue())[-1] == "kubectl: done"


def test_a_watch_that_cannot_look_says_so_and_the_change_goes_on(tool, monkeypatch):
    monkeypatch.setattr(gate_module, "QUIET_SECONDS", 0.2)
    tool("time.sleep(0.5)")
    out = io.StringIO()

    def watch(elapsed: float) -> str:
        raise ToolError(["kubectl", "get", "node"], 1, "The connection to the server was refused\n")

    Gate(apply=True, out=out).change(["kubectl", "slow"], timeout=10, watch=watch)

    assert any(line.startswith("kubectl still running (0s of 10s): cannot look (`kubectl get node` exited 1: ")
               for line in said(out.getvalue())), out.getvalue()


def test_without_a_watch_a_silence_still_says_the_tool_runs(tool, monkeypatch):
    monkeypatch.setattr(gate_module, "QUIET_SECONDS", 0.2)
    tool("time.sleep(0.5)")
    out = io.StringIO()

    Gate(apply=True, out=out).change(["kubectl", "slow"], timeout=10)

    assert "kubectl still running (0s of 10s)" in said(out.getvalue())


def test_a_change_past_its_timeout_is_in_doubt_and_killed_with_its_children(tool):
    marks = tool("child = subprocess.Popen(['sleep', '60'])\n"
                 "open(os.path.join(marks, 'child'), 'w').write(str(child.pid))\n"
                 "print('sent', flush=True)\ntime.sleep(60)")
    out = io.StringIO()

    with pytest.raises(ToolTimeout) as caught:
        ceph_like = ["kubectl", "-n", "rook-ceph", "exec", "deploy/rook-ceph-tools", "--", "ceph", "osd", "set-group",
                     "noout", "worker-1"]
        Gate(apply=True, out=out).change(ceph_like, timeout=1, about="noout for host worker-1", unsure="may be set")

    assert caught.value.in_doubt == "noout for host worker-1 may be set"
    assert str(caught.value).endswith("did not finish within 1s; noout for host worker-1 may be set")
    assert caught.value.stdout == "sent\n"
    assert said(out.getvalue())[-1] == (f"no answer within 1s from `{' '.join(ceph_like)}`: "
                                        "noout for host worker-1 may be set")
    child = int((marks / "child").read_text())
    for _ in range(100):  # the group gets SIGTERM; a bounded wait for the child to go
        if not alive(child):
            break
        time.sleep(0.05)
    assert not alive(child), "the tool's child outlived the timeout"


def test_an_interrupt_while_a_change_runs_is_a_stop_naming_what_may_have_changed(tool, monkeypatch):
    """Ctrl-C arrives while the tool has not answered (here: from the watch, as a signal would)."""
    monkeypatch.setattr(gate_module, "QUIET_SECONDS", 0.1)
    marks = tool("open(os.path.join(marks, 'pid'), 'w').write(str(os.getpid()))\ntime.sleep(60)")
    out = io.StringIO()

    def ctrl_c(elapsed: float) -> str:
        for _ in range(100):  # once the tool runs (a bounded wait for it to start)
            if (marks / "pid").exists() and (marks / "pid").read_text():
                break
            time.sleep(0.05)
        raise KeyboardInterrupt

    with pytest.raises(RunbookStopped) as caught:
        kubectl_cordon = ["kubectl", "cordon", "worker-1"]
        Gate(apply=True, out=out).change(kubectl_cordon, timeout=30, about="worker-1", unsure="may be cordoned",
                                         watch=ctrl_c)

    assert str(caught.value) == ("interrupted while `kubectl cordon worker-1` ran, before its answer: "
                                 "worker-1 may be cordoned")
    assert caught.value.in_doubt == "worker-1 may be cordoned" and caught.value.command == "kubectl cordon worker-1"
    assert isinstance(caught.value.__cause__, KeyboardInterrupt)  # the run still ends "interrupted"
    assert said(out.getvalue())[-1] == str(caught.value)
    assert not alive(int((marks / "pid").read_text())), "the interrupted tool is still running"


def test_a_change_that_answered_is_not_in_doubt_even_when_it_failed(tool):
    tool("sys.stderr.write('Error from server (NotFound): nodes \"worker-9\" not found\\n')\nsys.exit(1)")

    with pytest.raises(ToolError) as caught:
        Gate(apply=True, out=io.StringIO()).change(["kubectl", "cordon", "worker-9"], timeout=10, about="worker-9")

    assert in_doubt(caught.value) is None
    assert caught.value.returncode == 1


def test_in_doubt_finds_the_sentence_on_the_error_or_what_it_was_raised_from():
    timed_out = ToolTimeout(["kubectl", "cordon", "worker-1"], 60)
    timed_out.in_doubt = "worker-1 may be cordoned"
    try:
        try:
            raise timed_out
        except ToolTimeout as exc:
            raise RunbookStopped("worker-1: stopped at step 'cordon'") from exc
    except RunbookStopped as stop:
        assert in_doubt(stop) == "worker-1 may be cordoned"
    assert in_doubt(RunbookStopped("plain")) is None
    assert in_doubt(None) is None


def test_without_a_name_for_what_changes_the_command_itself_is_in_doubt(tool):
    tool("time.sleep(60)")

    with pytest.raises(ToolTimeout) as caught:
        Gate(apply=True, out=io.StringIO()).change(["kubectl", "annotate", "x"], timeout=0.5)

    assert caught.value.in_doubt == "`kubectl annotate x` may have taken effect"


@pytest.mark.parametrize("change, sentence", [
    (lambda g: kubectl.cordon(g, "worker-1"), "worker-1 may be cordoned"),
    (lambda g: kubectl.uncordon(g, "worker-1"), "worker-1 may still be cordoned"),
    (lambda g: kubectl.drain(g, "worker-1", timeout=1), "worker-1 may be cordoned and partly drained"),
    (lambda g: ceph.set_group(g, "noout", "worker-1"), "noout for host worker-1 may be set"),
    (lambda g: ceph.unset_group(g, "noout", "worker-1"), "noout for host worker-1 may still be set"),
    (lambda g: ceph.set_flag(g, "noout"), "the cluster-wide noout may be set"),
    (lambda g: ceph.unset_flag(g, "noout"), "the cluster-wide noout may still be set"),
])
def test_every_change_of_the_runbooks_names_what_it_may_have_changed(monkeypatch, change, sentence):
    def no_answer(argv, *, timeout, **follow):
        raise ToolTimeout(argv, timeout)

    monkeypatch.setattr(process, "run", no_answer)

    with pytest.raises(ToolError) as caught:
        change(Gate(apply=True, out=io.StringIO()))

    assert in_doubt(caught.value) == sentence


def test_an_error_raised_while_handling_one_in_doubt_is_in_doubt_too():
    timed_out = ToolTimeout(["kubectl", "cordon", "worker-1"], 60)
    timed_out.in_doubt = "worker-1 may be cordoned"
    try:
        try:
            raise timed_out
        except ToolTimeout:
            raise RunbookStopped("worker-1: stopped at step 'cordon'")  # no `from`: only its context
    except RunbookStopped as stop:
        assert stop.__cause__ is None
        assert in_doubt(stop) == "worker-1 may be cordoned"


def test_the_guard_is_asked_with_the_exact_command_before_the_change_runs(tool):
    tool("print('node/worker-1 cordoned')")
    asked: list[str] = []

    Gate(apply=True, out=io.StringIO(), before_change=asked.append).change(
        ["kubectl", "cordon", "worker 1"], timeout=10)

    assert asked == ["kubectl cordon 'worker 1'"]


def test_in_jupyter_a_planned_change_is_shown_as_html_beside_its_plain_line(monkeypatch):
    from homeops.runner import display

    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(display, "show", lambda plain, rich: shown.append((plain, rich)))

    Gate(apply=False).change(["kubectl", "cordon", "worker-1"], timeout=10, why="no new pods")

    assert shown == [("PLAN: kubectl cordon worker-1  # no new pods",
                      display.plan_line_html("kubectl cordon worker-1", "no new pods"))]
    assert "# no new pods" in shown[0][1]


def test_a_tool_called_by_its_path_is_named_by_its_file_name_and_blank_lines_are_not_said(tool, tmp_path):
    tool("print('node/worker-1 cordoned')\nprint()\nprint('   ')")
    out = io.StringIO()

    Gate(apply=True, out=out).change([str(tmp_path / "bin" / "kubectl"), "cordon", "worker-1"], timeout=10)

    assert said(out.getvalue())[1:] == ["kubectl: node/worker-1 cordoned"]
