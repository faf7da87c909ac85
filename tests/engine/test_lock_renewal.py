"""The renewing maintenance lock of `homeops run --apply`, end to end against a twin.

The runbook here holds its only step until the test creates a file, so what the test checks
happens while the run is in that step, however slow the machine is; every wait is bounded.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat
import pytest

from engine_support import COMMAND_TIMEOUT, Result, SpiedTwin, homeops_argv
from homeops.runner.lock import holder_of
from homeops.runner.records import judged_outcome

pytestmark = pytest.mark.slow
# Renewed every 10 s, with 5 s per kubectl call and a retry every 2.5 s: a margin that holds on a
# loaded 2-core machine, where a fake kubectl call alone has been seen to take over 1.5 s (a 3 s
# Lease allows 1 s per call, 9 s allows 1.5 s: both were lost there, by luck).
LEASE_SECONDS = "30"
THIEF = "thief@elsewhere:9"

HOLD_STEP = """\
import time
from pathlib import Path
from homeops.procedures.session import open_session

session = open_session(config, runbook="hold", apply=apply, wait_timeout=wait_timeout, poll_interval=poll_interval)

Path(release_file + ".holding").touch()
print("holding", flush=True)
deadline = time.monotonic() + wait_timeout
while not Path(release_file).exists() and time.monotonic() < deadline:
    time.sleep(0.05)
if fail:
    raise RuntimeError("the step broke")
print("released", flush=True)
session.gate.change(["kubectl", "cordon", "worker-1"], timeout=30, why="a change after the hold")
"""


def hold_runbook(directory: Path) -> Path:
    """runbooks/hold.ipynb: its step waits for `release_file` (at most wait_timeout seconds)."""
    parameters = nbformat.v4.new_code_cell(
        'config = "cluster.yaml"  # cluster.yaml to read\n'
        "apply = False  # False: plan, True: make the changes\n"
        "wait_timeout = 60  # seconds the step holds at most\n"
        "poll_interval = 1  # seconds between two looks\n"
        'release_file = ""  # the step ends when this file exists\n'
        "fail = False  # True: the step fails once released\n")
    parameters.metadata["tags"] = ["parameters"]
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# Hold\n\nTest runbook: holds its step until a file appears."),
               parameters,
               nbformat.v4.new_markdown_cell("## Step 1: Hold"),
               nbformat.v4.new_code_cell(HOLD_STEP)],
        metadata={"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}})
    directory.mkdir(exist_ok=True)
    nbformat.write(notebook, directory / "hold.ipynb")
    return directory


class HeldRun:
    """`homeops run hold --apply --lock-seconds 30` in the background, against the twin."""

    def __init__(self, tmp_path: Path, cluster_file: Path, cluster: SpiedTwin, *extra: str):
        self.release_file = tmp_path / "release"
        self.records = tmp_path / "records"
        runbooks = hold_runbook(tmp_path / "runbooks")
        argv = homeops_argv(cluster_file, "run", "hold", "--runbooks", str(runbooks), "--records", "records",
                            "--apply", "--twin", str(cluster.directory), "-p", f"release_file={self.release_file}",
                            *(extra or ("--lock-seconds", LEASE_SECONDS)))
        self.process = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, stdin=subprocess.DEVNULL)

    def wait_until_holding(self) -> None:
        holding = Path(f"{self.release_file}.holding")
        wait_until(lambda: holding.exists() or self.process.poll() is not None, "the step to start")
        if not holding.exists():
            out, err = self.process.communicate()
            pytest.fail(f"the run ended before its step:\n{out}{err}")

    def release(self) -> None:
        self.release_file.touch()

    def kernel_pid(self) -> int:
        """The kernel's process: it holds the lock and writes the record."""
        (record,) = self.records.glob("*-hold.ipynb")
        return json.loads(record.read_text())["metadata"]["homeops"]["pid"]

    def result(self) -> Result:
        out, err = self.process.communicate(timeout=COMMAND_TIMEOUT)
        return Result(self.process.returncode, out, err)

    def end(self) -> None:
        """Whatever happened: the step (and a kernel left behind by a killed runner) may end."""
        self.release()
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate()


def wait_until(condition, what: str):
    deadline = time.monotonic() + COMMAND_TIMEOUT
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    pytest.fail(f"{what} did not happen within {COMMAND_TIMEOUT}s")


def renewed_after(cluster: SpiedTwin, moment: datetime) -> dict:
    """Wait for the Lease to be renewed after `moment`; the Lease then."""
    def renewed():
        lease = cluster.lease()
        return lease if lease and datetime.fromisoformat(lease["spec"]["renewTime"]) > moment else None
    return wait_until(renewed, f"a renewal after {moment}")


def record_of(result: Result) -> dict:
    return json.loads(result.record.read_text())


@pytest.fixture
def held(tmp_path: Path, cluster_file: Path, cluster: SpiedTwin):
    runs: list[HeldRun] = []

    def start(*extra: str) -> HeldRun:
        """A held run; `extra` arguments replace `--lock-seconds 30`."""
        runs.append(HeldRun(tmp_path, cluster_file, cluster, *extra))
        return runs[-1]

    yield start
    for run in runs:
        run.end()


def test_a_running_apply_renews_its_lease_past_its_duration_and_keeps_other_runs_out(homeops, cluster, held):
    run = held()
    run.wait_until_holding()
    first = cluster.lease()
    holder, acquired = first["spec"]["holderIdentity"], datetime.fromisoformat(first["spec"]["acquireTime"])
    assert holder.endswith(f":{run.kernel_pid()}") and first["spec"]["leaseDurationSeconds"] == int(LEASE_SECONDS)

    # Alive past its first expiry only because it was renewed; on a slow machine the first look may
    # already come after some renewals, so wait for one after that look too.
    seen = datetime.fromisoformat(first["spec"]["renewTime"])
    lease = renewed_after(cluster, max(acquired + timedelta(seconds=int(LEASE_SECONDS)), seen))
    assert lease["spec"]["holderIdentity"] == holder
    assert lease["spec"]["acquireTime"] == first["spec"]["acquireTime"]
    assert int(lease["metadata"]["resourceVersion"]) > int(first["metadata"]["resourceVersion"])

    second = homeops("run", "cordon", "--runbooks", str(Path(__file__).parent / "notebooks"), "--records", "records",
                     "--apply", "--twin", str(cluster.directory))
    assert second.returncode == 1
    assert re.fullmatch(rf"stopped: maintenance lock held by {re.escape(holder)} running hold "
                        r"until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", second.last_line), second.last_line
    assert not cluster.cordoned("worker-1")

    run.release()
    result = run.result()
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.last_line == f"completed: hold (apply) — record: {result.record}"
    assert "lost the maintenance lock" not in result.stdout + result.stderr
    assert cluster.lease() is None, "released after completion"


def test_a_lease_left_by_a_runner_killed_with_sigkill_is_taken_over_once_expired(homeops, cluster, held):
    run = held()
    run.wait_until_holding()
    kernel = run.kernel_pid()
    run.process.send_signal(signal.SIGKILL)
    run.process.wait(timeout=COMMAND_TIMEOUT)
    left = holder_of(cluster.lease())
    assert left.identity.endswith(f":{kernel}"), "nobody released the lease of a killed run"
    # The kernel follows its runner (ipykernel watches its parent) without a word: its record
    # still says "running", and reads as abandoned.
    wait_until(lambda: not Path(f"/proc/{kernel}").exists(), "the orphaned kernel to end")
    (record,) = run.records.glob("*-hold.ipynb")
    status = json.loads(record.read_text())["metadata"]["homeops"]
    assert status["outcome"] == "running"
    assert judged_outcome(status) == "abandoned"

    wait_until(lambda: datetime.now(timezone.utc) > left.expires, "the orphaned lease to expire")
    taker = homeops("run", "cordon", "--runbooks", str(Path(__file__).parent / "notebooks"), "--records", "records",
                    "--apply", "--twin", str(cluster.directory))
    assert taker.returncode == 0, taker.stdout + taker.stderr
    assert f"took over an expired lease: {left.describe()}" in taker.stdout
    assert cluster.cordoned("worker-1")
    assert cluster.lease() is None


def test_a_lock_lost_mid_run_lets_the_step_finish_and_refuses_the_next_change_naming_the_new_holder(cluster, held):
    run = held()
    run.wait_until_holding()
    lease = renewed_after(cluster, datetime.now(timezone.utc) - timedelta(seconds=1))
    while True:  # our write races the runner's renewals; a Conflict means: read again, write again
        lease["spec"].update(holderIdentity=THIEF, leaseDurationSeconds=600)
        lease["metadata"]["annotations"]["homeops.dev/runbook"] = "upgrade-k8s"
        done = cluster.kubectl("replace", "-f", "-", stdin=json.dumps(lease))
        if done.returncode == 0:
            break
        assert "(Conflict)" in done.stderr, done.stderr
        lease = cluster.lease()

    run.release()
    result = run.result()
    assert result.returncode == 1, result.stdout + result.stderr
    assert "    released" in result.stdout, "a lost lock never kills a step mid-flight"
    assert result.last_line == (
        f"stopped: lost the maintenance lock to {THIEF}; stopped before kubectl cordon worker-1: "
        f"another run may be changing the cluster, nothing more was changed by this one — record: {result.record}")
    assert ["cordon", "worker-1"] not in cluster.calls()
    record = record_of(result)
    assert record["metadata"]["homeops"]["outcome"] == "stopped"
    assert record["metadata"]["homeops"]["exit_code"] == 1
    assert record["metadata"]["homeops"]["reason"].startswith(f"lost the maintenance lock to {THIEF}; stopped before")
    errors = [out for cell in record["cells"] for out in cell.get("outputs", []) if out["output_type"] == "error"]
    assert [e["ename"] for e in errors] == ["RunbookStopped"]
    assert "warning: the maintenance lock was taken over meanwhile" in result.stderr
    assert cluster.lease()["spec"]["holderIdentity"] == THIEF, "the new holder's lease is left alone"


def test_the_renewed_lease_is_deleted_after_a_failed_step(cluster, held):
    run = held("--lock-seconds", LEASE_SECONDS, "-p", "fail=True")
    run.wait_until_holding()
    renewed_after(cluster, datetime.fromisoformat(cluster.lease()["spec"]["acquireTime"]))
    run.release()
    result = run.result()
    assert result.returncode == 1
    assert result.last_line.startswith("failed: Step 1: Hold (code cell ")
    assert "RuntimeError: the step broke — record: " in result.last_line
    assert cluster.lease() is None


def test_the_renewed_lease_is_deleted_after_ctrl_c(cluster, held):
    run = held()
    run.wait_until_holding()
    renewed_after(cluster, datetime.fromisoformat(cluster.lease()["spec"]["acquireTime"]))
    run.process.send_signal(signal.SIGINT)
    result = run.result()
    assert result.returncode == 130
    assert result.last_line.startswith("interrupted: Ctrl-C at Step 1: Hold (code cell ")
    assert record_of(result)["metadata"]["homeops"]["outcome"] == "interrupted"
    assert "lost the maintenance lock" not in result.stdout + result.stderr
    assert cluster.lease() is None


def test_an_apply_run_leases_the_lock_for_a_minute_by_default(cluster, held):
    run = held("-p", "wait_timeout=60")  # no --lock-seconds
    run.wait_until_holding()
    lease = cluster.lease()
    assert lease["spec"]["leaseDurationSeconds"] == 60
    run.release()
    result = run.result()
    assert result.returncode == 0, result.stdout + result.stderr
    acquired = datetime.fromisoformat(lease["spec"]["acquireTime"])  # renewals may have come before this look
    assert f"until {acquired + timedelta(seconds=60):%Y-%m-%dT%H:%M:%SZ}" in result.stdout
    assert cluster.lease() is None
