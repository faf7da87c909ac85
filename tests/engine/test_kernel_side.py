"""The safety layer lives in the kernel: papermill, nbconvert and `homeops run` behave alike.

Every run here has the twin's bin/ first on PATH, and writes its records under the test's own
directory (HOMEOPS_RECORDS), never the repository's records/.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from engine_support import COMMAND_TIMEOUT, NOTEBOOKS, SpiedTwin, homeops_argv, run_args
from homeops.runner.records import judged_outcome, read_record

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS = sorted(p.stem for p in (ROOT / "runbooks").glob("*.ipynb"))
BIN = Path(sys.executable).parent
# With their defaults, three runbooks stop by design: ceph-maintenance names no node,
# control-plane-upgrade refuses the 2-member etcd of cluster.yaml unless the risk is accepted, and
# bootstrap's preflight refuses a cluster.yaml without a repository and nodes not in maintenance mode.
STOPS_BY_DEFAULT = {"ceph-maintenance": "no node given", "control-plane-upgrade": "refused: etcd has exactly 2 members",
                    "bootstrap": "check(s) failed before bootstrapping, nothing changed",
                    "node-add": "no node given",  # node-add too names no node by default
                    # the example project was never bootstrapped: it has no talos/secrets.sops.yaml
                    "apply-config": "refused: no secrets bundle at ",
                    # a clean machine has no age key where SOPS looks, and a restore cannot read its backups without it
                    "etcd-restore": "no age identity found",
                    # removing a node or replacing an OSD names what it removes: no default
                    "node-remove": "no node given", "osd-replace": "osd must be an OSD id"}
PLAN_PARAMETERS = {"ceph-maintenance": ["-p", "node", "worker-1"],
                   "control-plane-upgrade": ["-p", "accept_two_member_etcd_risk", "True"],
                   "node-add": ["-p", "node", "worker-1"]}


def kernel_env(twin: SpiedTwin, records: Path) -> dict[str, str]:
    # The workstation's own age key stays out of it, so etcd-restore stops the same way on every machine.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOMEOPS_", "SOPS_AGE_KEY"))}
    env["SOPS_AGE_KEY_FILE"] = str(records.parent / "no-age-key.txt")
    env["PATH"] = f"{twin.directory / 'bin'}{os.pathsep}{BIN}{os.pathsep}{os.environ['PATH']}"
    env["HOMEOPS_RECORDS"] = str(records)
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    return env


def only_record(records: Path, runbook: str) -> dict:
    (path,) = records.glob(f"*-{runbook}.ipynb")
    return json.loads(path.read_text())


def outputs_text(notebook: dict) -> str:
    parts = []
    for cell in notebook["cells"]:
        for out in cell.get("outputs", []):
            parts.append("".join(out.get("text", "")) + out.get("evalue", "") + "".join(out.get("traceback", [])))
    return "".join(parts)


@pytest.mark.parametrize("where", ["runbooks", "root"])
def test_every_runbook_runs_in_plan_mode_under_papermill_with_the_default_config_and_keeps_a_record(
        where: str, cluster: SpiedTwin, tmp_path: Path):
    cwd = ROOT / "runbooks" if where == "runbooks" else ROOT
    records = tmp_path / "records"
    for name in RUNBOOKS:
        extra = PLAN_PARAMETERS.get(name, [])
        done = subprocess.run([str(BIN / "papermill"), str(ROOT / "runbooks" / f"{name}.ipynb"),
                               str(tmp_path / f"{name}-{where}.ipynb"), "--log-level", "ERROR", *extra],
                              cwd=cwd, env=kernel_env(cluster, records), capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT)
        record = only_record(records, name)
        status = record["metadata"]["homeops"]
        if name in STOPS_BY_DEFAULT and name not in PLAN_PARAMETERS:  # no parameter makes it plan here
            assert done.returncode == 1 and STOPS_BY_DEFAULT[name] in status["reason"], status
            assert (status["runbook"], status["mode"], status["outcome"]) == (name, "plan", "stopped")
        else:
            assert done.returncode == 0, f"{name} from {where}: {done.stdout}{done.stderr}"
            assert (status["runbook"], status["mode"], status["outcome"]) == (name, "plan", "completed")
        text = outputs_text(record)
        if name == "cluster-health":  # read-only: no plan or apply mode
            assert "mode: read-only (this runbook changes nothing)" in text
        else:
            assert "mode: plan (nothing will change; set apply = True in the parameters cell" in text
        assert "not found" not in text
        for path in records.glob(f"*-{name}.ipynb"):
            path.unlink()
    assert not any(c[:1] in (["cordon"], ["drain"], ["upgrade"]) for c in cluster.calls()), "plan changed nothing"


def test_every_runbook_runs_under_nbconvert_execute_from_runbooks_without_touching_the_committed_file(
        cluster: SpiedTwin, tmp_path: Path):
    records = tmp_path / "records"
    before = {name: (ROOT / "runbooks" / f"{name}.ipynb").read_bytes() for name in RUNBOOKS}
    for name in RUNBOOKS:
        done = subprocess.run([str(BIN / "jupyter"), "nbconvert", "--to", "notebook", "--execute",
                               f"{name}.ipynb", "--output-dir", str(tmp_path)],
                              cwd=ROOT / "runbooks", env=kernel_env(cluster, records), capture_output=True,
                              text=True, timeout=COMMAND_TIMEOUT)
        status = only_record(records, name)["metadata"]["homeops"]
        if name in STOPS_BY_DEFAULT:
            assert done.returncode == 1 and "CellExecutionError" in done.stderr
            assert status["outcome"] == "stopped" and STOPS_BY_DEFAULT[name] in status["reason"], status
        else:
            assert done.returncode == 0, f"{name}: {done.stdout}{done.stderr}"
            assert status["outcome"] == "completed", status
    assert {name: (ROOT / "runbooks" / f"{name}.ipynb").read_bytes() for name in RUNBOOKS} == before


def test_a_missing_cluster_yaml_is_not_found_not_invalid(cluster: SpiedTwin, tmp_path: Path):
    done = subprocess.run([str(BIN / "papermill"), str(ROOT / "runbooks" / "cluster-health.ipynb"),
                           str(tmp_path / "out.ipynb"), "-p", "config", "no-such.yaml"],
                          cwd=tmp_path, env=kernel_env(cluster, tmp_path / "records"), capture_output=True,
                          text=True, timeout=COMMAND_TIMEOUT)
    assert done.returncode == 1
    out = json.loads((tmp_path / "out.ipynb").read_text())
    (error,) = [o for c in out["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert error["ename"] == "RunbookStopped"
    assert error["evalue"].startswith(f"no-such.yaml not found (looked in {tmp_path}, ")
    assert "invalid" not in error["evalue"]
    assert error["traceback"] == [f"\x1b[1;31mstopped:\x1b[0m {error['evalue']}"], "a stop is its message"


class PapermillRun:
    """`papermill slow.ipynb -p apply True` in the background, against the twin."""

    def __init__(self, cluster: SpiedTwin, tmp_path: Path, seconds: int):
        self.records = tmp_path / "records"
        self.output = tmp_path / "slow-out.ipynb"
        self.process = subprocess.Popen(
            [str(BIN / "papermill"), str(NOTEBOOKS / "slow.ipynb"), str(self.output), "-p", "apply", "True",
             "-p", "seconds", str(seconds), "-p", "config", str(ROOT / "cluster.yaml")],
            cwd=tmp_path, env=kernel_env(cluster, self.records), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)

    def wait_for(self, condition, what: str):
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while time.monotonic() < deadline:
            if value := condition():
                return value
            if self.process.poll() is not None:
                pytest.fail(f"papermill ended before {what}: {self.process.communicate()}")
            time.sleep(0.05)
        pytest.fail(f"{what} did not happen within {COMMAND_TIMEOUT}s")

    def record(self) -> dict | None:
        # The run claims its record's name with an empty file before its first (atomic) write.
        found = list(self.records.glob("*-slow.ipynb"))
        return read_record(found[0]) if found else None

    def sleeping(self) -> dict | None:
        record = self.record()
        return record if record and "sleeping" in outputs_text(record) else None

    def end(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate()


@pytest.fixture
def papermill_run(cluster: SpiedTwin, tmp_path: Path):
    runs = []

    def start(seconds: int) -> PapermillRun:
        runs.append(PapermillRun(cluster, tmp_path, seconds))
        return runs[-1]

    yield start
    for run in runs:
        run.end()


def test_a_papermill_apply_holds_the_lock_and_a_second_apply_is_refused_meanwhile(
        papermill_run, cluster: SpiedTwin, cluster_file: Path, tmp_path: Path):
    run = papermill_run(seconds=600)
    record = run.wait_for(run.sleeping, "the step to start")
    kernel = record["metadata"]["homeops"]["pid"]
    lease = cluster.lease()
    assert lease is not None and lease["spec"]["holderIdentity"].endswith(f":{kernel}")
    assert lease["metadata"]["annotations"]["homeops.dev/runbook"] == "slow"

    second = subprocess.run(homeops_argv(cluster_file, *run_args("cordon", "--apply", "--twin", str(cluster.directory))),
                            cwd=tmp_path, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
    assert second.returncode == 1
    assert second.stdout.splitlines()[-1].startswith(
        f"stopped: maintenance lock held by {lease['spec']['holderIdentity']} running slow until ")
    assert not cluster.cordoned("worker-1")

    # Kernel > Interrupt is a SIGINT to the kernel: a stop, not a crash; the lock is released.
    os.kill(kernel, signal.SIGINT)
    run.process.wait(timeout=COMMAND_TIMEOUT)
    status = run.record()["metadata"]["homeops"]
    assert (status["outcome"], status["exit_code"]) == ("interrupted", 130)
    # Step names come from the runbook's notebook in the project's runbooks/; papermill does not
    # tell the kernel where this test notebook is, so the cell is named by its number alone.
    assert status["reason"] == "Ctrl-C at code cell 3"
    assert cluster.lease() is None
    out = json.loads(run.output.read_text())
    (error,) = [o for c in out["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert error["ename"] == "KeyboardInterrupt"
    assert not any("File " in line for line in error["traceback"]), "no traceback through library code"


def test_a_papermill_apply_releases_the_lock_and_completes_its_record(papermill_run, cluster: SpiedTwin):
    run = papermill_run(seconds=0)
    assert run.process.wait(timeout=COMMAND_TIMEOUT) == 0, run.process.communicate()
    status = run.record()["metadata"]["homeops"]
    assert (status["mode"], status["outcome"], status["exit_code"]) == ("apply", "completed", 0)
    calls = cluster.calls()
    assert ["create", "-f", "-"] in calls and ["-n", "kube-system", "delete", "lease", "homeops-maintenance"] in calls
    assert cluster.lease() is None


@pytest.mark.parametrize("sent", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_to_the_runner_stop_the_run_release_the_lock_and_record_interrupted(
        sent, cluster: SpiedTwin, cluster_file: Path, tmp_path: Path):
    process = subprocess.Popen(
        homeops_argv(cluster_file, *run_args("slow", "--apply", "--twin", str(cluster.directory), "-p", "seconds=600")),
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while not any("sleeping" in outputs_text(json.loads(p.read_text()))
                      for p in (tmp_path / "records").glob("*-slow.ipynb") if p.stat().st_size):
            assert time.monotonic() < deadline and process.poll() is None, "the step never started"
            time.sleep(0.05)
        process.send_signal(sent)
        out, err = process.communicate(timeout=COMMAND_TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    name = signal.Signals(sent).name
    assert process.returncode == 130, out + err
    last = out.splitlines()[-1]
    assert last.startswith(f"interrupted: {name} at Step 1: Sleep (code cell 3) — record: "), last
    assert "Traceback" not in out + err
    record = Path(last.split(" — record: ")[1])
    status = json.loads(record.read_text())["metadata"]["homeops"]
    assert (status["outcome"], status["exit_code"]) == ("interrupted", 130)
    assert cluster.lease() is None


def test_a_full_disk_keeps_the_stop_message_and_says_the_record_is_incomplete(homeops):
    result = homeops(*run_args("full-disk"))
    assert result.returncode == 1
    assert result.last_line.startswith(
        "stopped: worker-2: stopped at step 'wait for Ready'; left in place: cordoned, noout — the record ")
    assert result.last_line.endswith(" is incomplete: the kernel could not write it (see the warning above)")
    assert "cannot be written (No space left on device)" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_records_and_artefacts_are_private(homeops, tmp_path: Path):
    os.umask(0o022)
    result = homeops(*run_args("echo"))
    assert result.returncode == 0, result.stderr
    assert result.record.stat().st_mode & 0o777 == 0o600
    assert result.record.parent.stat().st_mode & 0o777 == 0o700


def test_a_running_record_reads_as_abandoned_once_its_writer_is_gone_or_silent():
    now = datetime.now(timezone.utc)
    fresh = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    stale = (now - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    here = os.uname().nodename
    assert judged_outcome({"outcome": "running", "pid": os.getpid(), "host": here, "heartbeat": fresh}) == "running"
    assert judged_outcome({"outcome": "running", "pid": dead.pid, "host": here, "heartbeat": fresh}) == "abandoned"
    assert judged_outcome({"outcome": "running", "pid": 1, "host": "elsewhere", "heartbeat": stale}) == "abandoned"
    assert judged_outcome({"outcome": "running", "pid": 1, "host": "elsewhere", "heartbeat": fresh}) == "running"
    assert judged_outcome({"outcome": "stopped", "pid": dead.pid, "host": here}) == "stopped"


def test_in_jupyter_the_gate_table_is_coloured_html_beside_the_same_plain_text(cluster: SpiedTwin, tmp_path: Path):
    output = tmp_path / "health.ipynb"
    done = subprocess.run([str(BIN / "papermill"), str(ROOT / "runbooks" / "cluster-health.ipynb"), str(output)],
                          cwd=ROOT, env=kernel_env(cluster, tmp_path / "records"), capture_output=True, text=True,
                          timeout=COMMAND_TIMEOUT)
    assert done.returncode == 0, done.stderr
    (table,) = [o for c in json.loads(output.read_text())["cells"] for o in c.get("outputs", [])
                if o["output_type"] == "display_data" and "text/html" in o["data"]]
    plain, rich = "".join(table["data"]["text/plain"]), "".join(table["data"]["text/html"])
    assert plain.splitlines()[0].split() == ["check", "status", "detail"]
    rows = plain.splitlines()[1:]
    assert rows and rich.count("<tr class=\"homeops-status-") == len(rows)
    assert "<td style=\"text-align:left;color:#1a7f37;font-weight:bold\">ok</td>" in rich
    (record,) = (tmp_path / "records").glob("*-cluster-health.ipynb")
    (kept,) = [o for c in json.loads(record.read_text())["cells"] for o in c.get("outputs", [])
               if o["output_type"] == "display_data"]
    assert "".join(kept["data"]["text/plain"]) == plain and "".join(kept["data"]["text/html"]) == rich
