"""What a failed tool's error says: the line of its output that tells why it failed."""

from __future__ import annotations

from pathlib import Path

from homeops.tools.process import ToolError

FIXTURES = Path(__file__).parent / "fixtures"
CEPH = ["kubectl", "-n", "rook-ceph", "exec", "deploy/rook-ceph-tools", "--", "ceph", "osd", "ok-to-stop", "0"]


def test_through_kubectl_exec_the_error_names_cephs_reason_not_kubectls_exit_line():
    stderr = (FIXTURES / "ceph-ok-to-stop-refused.stderr").read_text()

    error = ToolError(CEPH, 16, stderr)

    assert str(error).endswith("exited 16: Error EBUSY: unsafe to stop osd(s) at this time "
                               "(46 PGs are or would become offline)")
    assert error.stderr == stderr  # the whole output stays on the error for the record


def test_kubectls_exit_line_is_kept_when_the_remote_command_printed_nothing_else():
    error = ToolError(CEPH, 137, "command terminated with exit code 137\n")

    assert str(error).endswith("exited 137: command terminated with exit code 137")


def test_the_last_line_that_says_something_is_the_reason():
    error = ToolError(["talosctl", "-n", "192.0.2.21", "upgrade"], 1, "waiting\nerror: rpc error: boom\n\n  \n")

    assert str(error).endswith("exited 1: error: rpc error: boom")


def test_a_tool_that_printed_nothing_says_so():
    assert str(ToolError(["flux", "check"], 1, "")).endswith("exited 1: no output")
