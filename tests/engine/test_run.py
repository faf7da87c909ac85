"""`homeops run` end to end, through the command line, against a twin of cluster.yaml."""

from __future__ import annotations

import json
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from engine_support import COMMAND_TIMEOUT, Result, SpiedTwin, homeops_argv, run_args

pytestmark = pytest.mark.slow
RECORD_NAME = re.compile(r"^\d{8}T\d{6}Z-(?P<runbook>[a-z-]+)\.ipynb$")


def metadata(record: Path) -> dict:
    return json.loads(record.read_text())["metadata"]["homeops"]


def test_plan_prints_the_change_and_changes_nothing(homeops, cluster: SpiedTwin):
    result = homeops(*run_args("cordon", "--twin", str(cluster.directory)))
    assert result.returncode == 0, result.stderr
    assert "PLAN: kubectl cordon worker-1" in result.stdout
    assert "unschedulable before: False" in result.stdout
    assert result.last_line == f"completed: cordon (plan) — record: {result.record}"
    assert not cluster.cordoned("worker-1")
    assert ["cordon", "worker-1"] not in cluster.calls()
    assert not any("lease" in call or "create" in call for call in cluster.calls()), "a plan run takes no lock"


def test_apply_makes_the_change_while_holding_the_lock(homeops, cluster: SpiedTwin):
    result = homeops(*run_args("cordon", "--apply", "--twin", str(cluster.directory), "-p", "node=worker-2"))
    assert result.returncode == 0, result.stderr
    assert "RUN: kubectl cordon worker-2" in result.stdout
    assert result.last_line.startswith("completed: cordon (apply) — record: ")
    assert cluster.cordoned("worker-2") and not cluster.cordoned("worker-1")
    calls = cluster.calls()
    create, cordon, delete = (calls.index(c) for c in (
        ["create", "-f", "-"], ["cordon", "worker-2"], ["-n", "kube-system", "delete", "lease", "homeops-maintenance"]))
    assert create < cordon < delete, "the lease is taken before the change and released after it"
    assert cluster.lease() is None
    written = metadata(result.record)
    assert written["pid_started"] and written["pid_started"] <= written["started"], "its writer, named with its start"
    assert written | {"started": None, "finished": None, "heartbeat": None, "pid": None, "pid_started": None} == {
        "runbook": "cordon", "mode": "apply", "twin": True, "outcome": "completed", "exit_code": 0,
        "reason": None, "started": None, "finished": None, "heartbeat": None, "pid": None, "pid_started": None,
        "host": socket.gethostname()}


def test_parameters_arrive_typed_with_config_absolute_and_the_run_environment(homeops, cluster_file: Path):
    result = homeops(*run_args("echo", "-p", "count=7", "-p", "ratio=1", "-p", "force=yes", "-p", "nodes=a,b",
                               "-p", "ports=80,443"))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for line in ("count = 7 (int)", "ratio = 1.0 (float)", "force = True (bool)", "nodes = ['a', 'b'] (list)",
                 "ports = [80, 443] (list)", "label = 'x' (str)", "apply = False (bool)",
                 f"config = '{cluster_file.resolve()}' (str)", f"record: {result.record}",
                 f"artifacts: {result.record.with_suffix('.artifacts')} True",
                 f"kernel python: {sys.executable}"):  # the interpreter that runs homeops, so `import homeops` works
        assert line in out
    assert RECORD_NAME.match(result.record.name).group("runbook") == "echo"
    assert result.record.parent.name == "records"
    assert not result.record.with_suffix(".artifacts").exists(), "an empty artifacts directory is tidied away"


def test_the_twin_bin_comes_first_on_the_kernel_path(homeops, cluster: SpiedTwin):
    result = homeops(*run_args("echo", "--twin", str(cluster.directory)))
    assert result.returncode == 0, result.stderr
    assert f"first on PATH: {cluster.directory / 'bin'}" in result.stdout
    assert metadata(result.record)["twin"] is True


def test_records_are_saved_after_each_cell_and_redacted_everywhere(homeops, tmp_path: Path):
    secrets = {
        "age": ("AGE-SECRET-KEY-1" + "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L" * 2, None),
        "pem": ("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oWOR6Kcnv6fLoAoGCCqGSM49\n"
                "-----END EC PRIVATE KEY-----", "MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oWOR6Kcnv6fLoAoGCCqGSM49"),
        "bearer": ("Authorization: Bearer s3cr3tT0kenValue0123456789", "s3cr3tT0kenValue0123456789"),
        "jwt": ("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.U2lnbmF0dXJlT2ZUaGVUb2tlbg", None),
        "kubeconfig": ("client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFb3dJQkFB",
                       "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFb3dJQkFB"),
        "talosconfig": ("    key: LS0tLS1CRUdJTiBFRDI1NTE5IFBSSVZBVEUgS0VZLS0tLS0KTUM0Q0FRQXdCUVlESzJWdw==",
                        "LS0tLS1CRUdJTiBFRDI1NTE5IFBSSVZBVEUgS0VZLS0tLS0KTUM0Q0FRQXdCUVlESzJWdw=="),
    }
    secrets_file = tmp_path / "secrets.json"
    secrets_file.write_text(json.dumps({kind: text for kind, (text, _) in secrets.items()}))
    must_vanish = [part or text for text, part in secrets.values()]
    pasted = "AGE-SECRET-KEY-1" + "7L" * 29  # a secret pasted into a parameter
    result = homeops(*run_args("secrets", "-p", f"secrets_file={secrets_file}", "-p", f"note={pasted}"))
    assert result.returncode == 0, result.stderr + result.stdout

    # The second step read the record from disk while the run went on: saved after the first
    # step's cell, and already redacted.
    assert "record has step one output: True" in result.stdout
    assert "record leaks a secret: False" in result.stdout

    record_text = result.record.read_text()
    for secret in [*must_vanish, pasted]:
        assert secret not in record_text
        assert secret not in result.stdout and secret not in result.stderr
    for marker in ("[REDACTED age-secret-key]", "[REDACTED private-key]", "Bearer [REDACTED bearer-token]",
                   "[REDACTED jwt]", "client-key-data: [REDACTED kubeconfig-credential]",
                   "key: [REDACTED talosconfig-key-data]"):
        assert marker in record_text
    record = json.loads(record_text)
    assert "papermill" not in record["metadata"], "papermill's metadata (parameters in plain text) is not kept"
    injected = next(c for c in record["cells"] if "injected-parameters" in c["metadata"].get("tags", []))
    assert 'note = "[REDACTED age-secret-key]"' in "".join(injected["source"])
    assert "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p" in record_text, "public keys stay"
    assert "stderr copy: [REDACTED age-secret-key]" in result.stderr


def test_a_stopped_runbook_exits_1_with_its_message_as_the_last_line(homeops):
    result = homeops(*run_args("stops"))
    assert result.returncode == 1
    assert result.last_line == (
        "stopped: worker-2 did not become Ready within 60s; it stays cordoned and noout stays set"
        f" — record: {result.record}")
    assert "step two ran" not in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert metadata(result.record)["outcome"] == "stopped"
    assert metadata(result.record)["exit_code"] == 1
    assert metadata(result.record)["reason"].startswith("worker-2 did not become Ready")


def test_a_failing_cell_exits_1_naming_the_step_and_the_error(homeops):
    result = homeops(*run_args("fails"))
    assert result.returncode == 1
    assert result.last_line == (
        f"failed: Step 2: Broken (code cell 4): ValueError: not a version: 'latest' — record: {result.record}")
    assert "▸ Step 1: Fine" in result.stdout and "step one ran" in result.stdout
    assert "step three ran" not in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert metadata(result.record)["outcome"] == "failed"


def test_a_cell_timeout_is_recorded_as_failed_with_its_exit_status(homeops):
    result = homeops(*run_args("slow", "-p", "seconds=60", "--cell-timeout", "4"))
    assert result.returncode == 1
    assert result.last_line == (
        "failed: Step 1: Sleep (code cell 3): CellTimeoutError: the cell did not finish within 4s"
        f" — record: {result.record}")
    record = json.loads(result.record.read_text())
    assert record["metadata"]["homeops"]["outcome"] == "failed"
    assert record["metadata"]["homeops"]["exit_code"] == 1


def test_the_lock_is_released_after_a_failure(homeops, cluster: SpiedTwin):
    result = homeops(*run_args("fails", "--apply", "--twin", str(cluster.directory)))
    assert result.returncode == 1
    assert result.last_line.startswith("failed: Step 2: Broken")
    assert ["create", "-f", "-"] in cluster.calls()
    assert cluster.lease() is None


def test_a_second_apply_run_is_refused_while_the_first_holds_the_lock_and_ctrl_c_releases_it(
        homeops, cluster: SpiedTwin, cluster_file: Path, tmp_path: Path):
    first = subprocess.Popen(
        homeops_argv(cluster_file, *run_args("slow", "--apply", "--twin", str(cluster.directory), "-p", "seconds=120",
                                             "--lock-seconds", "900")),
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        output = LineReader(first)
        output.until("    sleeping")
        lease = cluster.lease()
        holder = lease["spec"]["holderIdentity"]
        assert lease["spec"]["leaseDurationSeconds"] == 900
        (running,) = (tmp_path / "records").glob("*-slow.ipynb")
        assert metadata(running)["outcome"] == "running" and metadata(running)["exit_code"] is None
        kernel = metadata(running)["pid"]
        assert kernel != first.pid and holder.endswith(f":{kernel}"), "the kernel holds the lock and writes the record"
        renewed = datetime.fromisoformat(lease["spec"]["renewTime"])
        expiry = (renewed + timedelta(seconds=900)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert f"maintenance lock taken: kube-system/homeops-maintenance held by {holder} for slow until {expiry}" \
            in output.seen_text()

        second = homeops(*run_args("cordon", "--apply", "--twin", str(cluster.directory)))
        assert second.returncode == 1
        assert second.last_line == f"stopped: maintenance lock held by {holder} running slow until {expiry}"
        assert not cluster.cordoned("worker-1"), "the refused run did not start its notebook"
        assert list((tmp_path / "records").glob("*-cordon*")) == [], "a refused run leaves no record"
        assert first.poll() is None, "the first run was still running while the second was refused"

        first.send_signal(signal.SIGINT)
        first.wait(timeout=COMMAND_TIMEOUT)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    interrupted = Result(first.returncode, output.rest(), first.stderr.read())
    assert interrupted.returncode == 130
    assert interrupted.last_line == (
        f"interrupted: Ctrl-C at Step 1: Sleep (code cell 3) — record: {interrupted.record}")
    assert metadata(interrupted.record)["outcome"] == "interrupted"
    assert metadata(interrupted.record)["exit_code"] == 130
    assert cluster.lease() is None


def test_an_expired_lease_is_taken_over_by_an_apply_run(homeops, cluster: SpiedTwin):
    # Expired an hour ago by the host's clock, whatever the date: renewed 70 minutes ago for 10 minutes.
    renewed = (datetime.now(timezone.utc) - timedelta(minutes=70)).replace(microsecond=0)
    stamp = f"{renewed:%Y-%m-%dT%H:%M:%S}.000000Z"
    stale = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": "homeops-maintenance", "namespace": "kube-system",
                          "annotations": {"homeops.dev/runbook": "upgrade-talos"}},
             "spec": {"holderIdentity": "ghost@gone:1", "leaseDurationSeconds": 600,
                      "acquireTime": stamp, "renewTime": stamp}}
    assert cluster.kubectl("create", "-f", "-", stdin=json.dumps(stale)).returncode == 0
    result = homeops(*run_args("cordon", "--apply", "--twin", str(cluster.directory)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert ("took over an expired lease: maintenance lock held by ghost@gone:1 running upgrade-talos "
            f"until {renewed + timedelta(minutes=10):%Y-%m-%dT%H:%M:%SZ}") in result.stdout
    assert cluster.cordoned("worker-1")
    assert cluster.lease() is None


def test_an_unreachable_api_stops_the_apply_run_before_it_changes_anything(
        homeops, unreachable_cluster: SpiedTwin, tmp_path: Path):
    result = homeops(*run_args("cordon", "--apply", "--twin", str(unreachable_cluster.directory)))
    assert result.returncode == 1
    assert ["cordon", "worker-1"] not in unreachable_cluster.calls()
    assert result.last_line.startswith("failed: cannot take the maintenance lock kube-system/homeops-maintenance: ")
    assert result.last_line.endswith("The connection to the server 10.0.50.50:6443 was refused - "
                                     "did you specify the right host or port?")
    assert list((tmp_path / "records").iterdir()) == [], "refused before it began, so there is no record"


class LineReader:
    """Reads a process's stdout in a thread, so a test can wait for a line with a deadline
    (a run that never prints it fails the test instead of hanging it)."""

    def __init__(self, process: subprocess.Popen):
        self.process = process
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        for line in iter(self.process.stdout.readline, ""):
            self.lines.put(line)
        self.lines.put(None)

    def until(self, wanted: str) -> None:
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                pytest.fail(f"the run ended before printing {wanted!r}:\n{''.join(self.seen)}")
            self.seen.append(line)
            if line.rstrip("\n") == wanted:
                return
        pytest.fail(f"the run did not print {wanted!r}:\n{''.join(self.seen)}")

    def seen_text(self) -> str:
        return "".join(self.seen)

    def rest(self) -> str:
        """Everything printed, once the process has ended."""
        self.thread.join(timeout=COMMAND_TIMEOUT)
        while (line := self.lines.get_nowait() if not self.lines.empty() else None) is not None:
            self.seen.append(line)
        return "".join(self.seen)


def test_secrets_the_twin_leaks_never_reach_the_terminal_or_the_record(homeops, tmp_path: Path, cluster_file: Path):
    scenario = tmp_path / "leaky.yaml"
    scenario.write_text("faults:\n  - {fault: leak-secret}\n")
    leaky = SpiedTwin.create(tmp_path, cluster_file, scenario)
    result = homeops(*run_args("dump", "--twin", str(leaky.directory)))
    assert result.returncode == 0, result.stdout + result.stderr
    record_text = result.record.read_text()
    for where in (result.stdout, result.stderr, record_text):
        assert not re.search(r"AGE-SECRET-KEY-1[0-9A-Z]+", where)
        assert not re.search(r"eyJ[\w-]+\.eyJ[\w-]+", where)
    for where in (result.stdout, record_text):
        assert "[REDACTED age-secret-key]" in where
        assert "Bearer [REDACTED jwt]" in where
