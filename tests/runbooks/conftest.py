"""Two ways to exercise the runbooks.

`fake_cluster`: an in-memory cluster behind homeops.tools.process.run, for testing procedures step
by step. It answers the command lines of ARCHITECTURE.md in the reference shapes, records every
call, and injects the faults the procedures must survive.

`make_drill`: a fresh twin (`homeops twin create`), runbooks run through `homeops run`, and the
final state read back from the twin's state directory (twin_state.py), not through homeops' parsers.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
import yaml

from homeops import load_cluster
from homeops.gate import Gate
from homeops.procedures.session import Session
from homeops.tools import process
from homeops.tools.process import Completed, ToolError
from homeops.twin import cluster

from tests.runbooks.twin_state import CephFlags, CephState, NodeState, TwinState, read_twin_state
from tests.said import gate_lines

ROOT = Path(__file__).resolve().parents[2]
TOOLBOX = ["kubectl", "-n", "rook-ceph", "exec", "deploy/rook-ceph-tools", "--", "ceph"]
API_REFUSED = "The connection to the server 10.0.50.50:6443 was refused - did you specify the right host or port?\n"
PDB_REFUSAL = (
    'error when evicting pods/"osd" -n "rook-ceph" (will retry after 5s): '
    "Cannot evict pod as it would violate the pod's disruption budget.\nerror: global timeout reached: 1s\n"
)
ETCD_STATUS_COLUMNS = ("NODE", "MEMBER", "DB SIZE", "IN USE", "LEADER", "RAFT INDEX", "RAFT TERM", "RAFT APPLIED INDEX",
                       "LEARNER", "PROTOCOL", "STORAGE", "ERRORS")


@dataclass
class FakeNode:
    name: str
    role: str
    address: str
    talos: str
    kubelet: str
    boot: int = 1
    ready: str = "True"
    unschedulable: bool = False

    def as_json(self) -> dict:
        labels = {"node-role.kubernetes.io/control-plane": ""} if self.role == "control-plane" else {}
        spec = {"unschedulable": True} if self.unschedulable else {}
        return {"metadata": {"name": self.name, "labels": labels}, "spec": spec, "status": {
            "conditions": [{"type": "Ready", "status": self.ready}],
            "addresses": [{"type": "InternalIP", "address": self.address}],
            "nodeInfo": {"kubeletVersion": self.kubelet, "osImage": f"Talos ({self.talos})", "bootID": f"boot-{self.boot}"},
        }}


def hear_followed(on_line, out: str, err: str) -> None:
    """A followed change hears each line of the tool's output, as the real run does (process.run's on_line)."""
    if on_line is None:
        return
    for name, text in (("stdout", out), ("stderr", err)):
        for line in text.splitlines():
            on_line(name, line)


@dataclass
class FakeCluster:
    nodes: dict[str, FakeNode]
    osds: dict[str, list[int]]
    host_flags: dict[str, set[str]] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)  # cluster-wide OSDMap flags (`ceph osd set noout`)
    pgs_clean: bool = True
    drain_refused: set[str] = field(default_factory=set)
    upgrade_rejected: set[str] = field(default_factory=set)
    never_back: set[str] = field(default_factory=set)
    # talosctl upgrade gives up (its wait times out) after the node went down and stayed down.
    lost_in_upgrade: set[str] = field(default_factory=set)
    # The API server stops answering kubectl when talosctl upgrade fails on this node.
    api_down_on_upgrade_failure: set[str] = field(default_factory=set)
    ok_to_stop_refused: set[str] = field(default_factory=set)
    pgs_stuck: bool = False
    api_down: bool = False
    etcd_errors: dict[str, str] = field(default_factory=dict)  # node name -> ERRORS column
    etcd_learners: set[str] = field(default_factory=set)  # members not promoted yet (LEARNER true)
    flux_not_ready: set[str] = field(default_factory=set)
    calls: list[list[str]] = field(default_factory=list)

    def changes(self) -> list[list[str]]:
        verbs = {"cordon", "uncordon", "drain", "set", "unset", "set-group", "unset-group", "upgrade", "upgrade-k8s",
                 "snapshot", "reconcile"}
        return [c for c in self.calls if verbs & set(c) and "--dry-run" not in c]

    def run(self, argv, *, timeout, input=None, check=True, on_line=None, quiet=None, on_quiet=None) -> Completed:
        assert timeout > 0, f"no timeout on {argv}"
        argv = [a for a in map(str, argv) if not a.startswith("--request-timeout=")]
        self.calls.append(argv)
        code, out, err = self._answer(argv)
        hear_followed(on_line, out, err)
        if check and code:
            raise ToolError(argv, code, err, out)
        return Completed(tuple(argv), code, out, err)

    def _answer(self, argv: list[str]) -> tuple[int, str, str]:
        if self.api_down and argv[0] == "kubectl":
            return 1, "", API_REFUSED
        if argv[:len(TOOLBOX)] == TOOLBOX:
            return self._ceph(argv[len(TOOLBOX):])
        if argv[0] == "kubectl":
            return self._kubectl(argv[1:])
        if argv[0] == "talosctl":
            return self._talosctl(argv[1:])
        return 97, "", f"unexpected {argv}"

    def _kubectl(self, args: list[str]) -> tuple[int, str, str]:
        if args[:1] == ["get"] and args[1].endswith("fluxcd.io"):
            kind = "Kustomization" if args[1].startswith("kustomizations") else "HelmRelease"
            names = ["flux-system", "apps"] if kind == "Kustomization" else ["cilium"]
            return 0, json.dumps({"items": [{"kind": kind, "metadata": {"name": n, "namespace": "flux-system"},
                                             "status": {"conditions": [
                                                 {"type": "Ready", "status": "False", "reason": "BuildFailed",
                                                  "message": "kustomize build failed"} if n in self.flux_not_ready else
                                                 {"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded"}]}}
                                            for n in names]}), ""
        if args == ["get", "nodes", "-o", "json"]:
            return 0, json.dumps({"items": [n.as_json() for n in self.nodes.values()]}), ""
        if args[:2] == ["get", "node"]:
            return 0, json.dumps(self.nodes[args[2]].as_json()), ""
        verb, name = args[0], args[1]
        if verb in ("cordon", "uncordon"):
            self.nodes[name].unschedulable = verb == "cordon"
            return 0, f"node/{name} {verb}ed\n", ""
        if verb == "drain":
            assert "--ignore-daemonsets" in args and "--delete-emptydir-data" in args
            if name in self.drain_refused:
                return 1, "", PDB_REFUSAL
            return 0, f"node/{name} drained\n", ""
        return 97, "", f"unexpected kubectl {args}"

    def _ceph(self, args: list[str]) -> tuple[int, str, str]:
        if args == ["status", "-f", "json"]:
            states = [{"state_name": "active+clean" if self.pgs_clean else "active+undersized+degraded", "count": 64}]
            return 0, json.dumps({"health": {"status": "HEALTH_OK" if self.pgs_clean else "HEALTH_WARN", "checks": {}},
                                  "osdmap": {"num_osds": 3, "num_up_osds": 3, "num_in_osds": 3},
                                  "pgmap": {"pgs_by_state": states, "num_pgs": 64}}), ""
        if args == ["osd", "tree", "-f", "json"]:
            nodes = [{"id": -2 - i, "name": h, "type": "host", "children": ids} for i, (h, ids) in enumerate(self.osds.items())]
            return 0, json.dumps({"nodes": nodes, "stray": []}), ""
        if args == ["osd", "dump", "-f", "json"]:
            flags = {h: sorted(f) for h, f in self.host_flags.items()}
            return 0, json.dumps({"flags": ",".join(sorted(self.flags | {"sortbitwise"})), "crush_node_flags": flags}), ""
        if args[:2] in (["osd", "set"], ["osd", "unset"]):
            (self.flags.add if args[1] == "set" else self.flags.discard)(args[2])
            return 0, "", f"{args[2]} is {args[1]}\n"
        if args[:2] == ["osd", "ok-to-stop"]:
            ids = [int(i) for i in args[2:-2]]
            host = next(h for h, osds in self.osds.items() if set(ids) <= set(osds))
            if host in self.ok_to_stop_refused:
                return 16, "", "Error EBUSY: unsafe to stop osd(s) at this time (12 PGs are or would become offline)\n"
            return 0, json.dumps({"ok_to_stop": True, "osds": ids, "num_ok_pgs": 64, "num_not_ok_pgs": 0}), ""
        if args[:2] in (["osd", "set-group"], ["osd", "unset-group"]):
            flags = self.host_flags.setdefault(args[3], set())
            (flags.add if args[1] == "set-group" else flags.discard)(args[2])
            return 0, "", ""
        return 97, "", f"unexpected ceph {args}"

    def _talosctl(self, args: list[str]) -> tuple[int, str, str]:
        if args == ["version", "--client"]:
            return 0, "Client:\n\tTag:         v1.11.1\n", ""
        node = next(n for n in self.nodes.values() if n.address == args[1])
        control_planes = [n for n in self.nodes.values() if n.role == "control-plane"]
        if args[2:] == ["etcd", "members"]:
            rows = [f"{node.address}\t{i:016x}\t{cp.name}\thttps://{cp.address}:2380\thttps://{cp.address}:2379\t{str(cp.name in self.etcd_learners).lower()}"
                    for i, cp in enumerate(control_planes)]
            return 0, "NODE\tID\tHOSTNAME\tPEER URLS\tCLIENT URLS\tLEARNER\n" + "\n".join(rows) + "\n", ""
        if args[2:] == ["etcd", "status"]:
            cells = [node.address, "abc", "17 MB", "4 MB (25%)", "abc", "10", "2", "10", "false", "3.6.0", "3.6.0",
                     self.etcd_errors.get(node.name, "")]
            return 0, "\t".join(ETCD_STATUS_COLUMNS) + "\n" + "\t".join(cells) + "\n", ""
        if args[2] == "upgrade":
            if node.name in self.upgrade_rejected:
                if node.name in self.api_down_on_upgrade_failure:
                    self.api_down = True
                return 1, "", "error executing upgrade: rpc error: code = Unknown desc = failed to pull installer image\n"
            if node.name in self.lost_in_upgrade:
                node.boot += 1
                node.ready = "Unknown"
                return 1, "", f"1 error occurred:\n\t* {node.address}: context deadline exceeded\n"
            node.talos = args[4].rsplit(":", 1)[1]
            node.boot += 1
            node.ready = "Unknown" if node.name in self.never_back else "True"
            if self.pgs_stuck:
                self.pgs_clean = False
            return 0, "", ""
        return 97, "", f"unexpected talosctl {args}"


@pytest.fixture
def cluster_model():
    return load_cluster(ROOT / "cluster.yaml")


@pytest.fixture
def fake_cluster(monkeypatch, cluster_model) -> FakeCluster:
    fake = FakeCluster(
        nodes={n.name: FakeNode(n.name, n.role, str(n.address), "v1.11.0", "v1.34.1") for n in cluster_model.nodes},
        osds={n.name: [i] for i, n in enumerate(cluster_model.workers)},
    )
    monkeypatch.setattr(process, "run", fake.run)
    return fake


@pytest.fixture
def session_for(cluster_model):
    def make(apply: bool) -> Session:
        return Session(cluster_model, Gate(apply), wait_timeout=0.5, poll_interval=0.01)

    return make


# ---------------------------------------------------------------------------------------------
# Drills: a fresh twin per test, runbooks run through the real CLI, state read with the twin's tools.

DRILL_WAIT_TIMEOUT = 3  # seconds: several reboots of the twin (reboot_seconds 0.3), far below a real one
DRILL_POLL_INTERVAL = 0.1
COMMAND_TIMEOUT = 120  # seconds for one CLI run: a kernel start plus short waits


@dataclass
class RunResult:
    code: int
    stdout: str
    stderr: str

    @property
    def last_line(self) -> str:
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        return lines[-1] if lines else ""

    @property
    def changes(self) -> list[str]:
        """The changes the gate ran (apply) or showed (plan), in order, without the `# why` note."""
        return [line.split(": ", 1)[1].split("  # ", 1)[0] for line in gate_lines(self.stdout)
                if not line.startswith("PLAN: would wait")]

    @property
    def checks(self) -> dict[str, tuple[str, str]]:
        """The `check  status  detail` table the runbook printed: check -> (status, detail)."""
        lines = self.stdout.splitlines()
        header = next((i for i, line in enumerate(lines) if line.split()[:3] == ["check", "status", "detail"]), None)
        assert header is not None, f"no check table in:\n{self.stdout}"
        status_at, detail_at = lines[header].index("status"), lines[header].index("detail")
        rows = {}
        for line in lines[header + 1:]:
            status = line[status_at:detail_at].strip()
            if status not in ("ok", "warn", "FAIL"):
                break
            rows[line[:status_at].strip()] = (status, line[detail_at:].strip())
        return rows


class Drill:
    """One twin and the cluster.yaml it was made from."""

    def __init__(self, directory: Path, scenario: dict, edit: Callable[[str], str] | None = None):
        self.directory = directory
        self.config = directory / "cluster.yaml"
        self.twin = directory / "twin"
        self.records = directory / "records"
        text = (ROOT / "cluster.yaml").read_text()
        self.config.write_text(edit(text) if edit else text)  # the twin is made from the edited file
        scenario_file = directory / "scenario.yaml"
        scenario_file.write_text(yaml.safe_dump(scenario))
        created = self.homeops("twin", "create", str(self.twin), "--scenario", str(scenario_file))
        assert created.code == 0, f"twin create failed: {created.stdout}{created.stderr}"

    def homeops(self, *args: str) -> RunResult:
        done = subprocess.run([sys.executable, "-m", "homeops", "--config", str(self.config), *args],
                              capture_output=True, text=True, timeout=COMMAND_TIMEOUT, cwd=ROOT)
        return RunResult(done.returncode, done.stdout, done.stderr)

    def run_argv(self, name: str, *params: str, apply: bool = False) -> list[str]:
        argv = [sys.executable, "-m", "homeops", "--config", str(self.config), "run", name, "--twin", str(self.twin),
                "--records", str(self.records), "-p", f"wait_timeout={DRILL_WAIT_TIMEOUT}",
                "-p", f"poll_interval={DRILL_POLL_INTERVAL}"]
        for param in params:
            argv += ["-p", param]
        return argv + (["--apply"] if apply else [])

    def run(self, name: str, *params: str, apply: bool = False) -> RunResult:
        done = subprocess.run(self.run_argv(name, *params, apply=apply), capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT, cwd=ROOT)
        return RunResult(done.returncode, done.stdout, done.stderr)

    def start(self, name: str, *params: str, apply: bool = False) -> subprocess.Popen:
        """Start a run without waiting for it (two runs at once)."""
        return subprocess.Popen(self.run_argv(name, *params, apply=apply), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=ROOT)

    def tool(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([str(self.twin / "bin" / argv[0]), *argv[1:]], capture_output=True, text=True,
                              timeout=30)
        if check:
            assert done.returncode == 0, f"{argv} exited {done.returncode}: {done.stderr}"
        return done

    # The twin's final state, read from its state directory by twin_state.py: neither through the
    # fake tools nor through the parsers the runbooks use, so a parser bug cannot blind a drill.
    def state(self) -> TwinState:
        # The real controllers (Rook's disruption controller) act on their own between calls; the
        # twin's act at each call and a read-only call saves nothing: let them catch up and save.
        cluster.advance(str(self.twin), 0)
        return read_twin_state(self.twin)

    def nodes(self) -> dict[str, NodeState]:
        return self.state().nodes

    def osd_dump(self) -> CephFlags:
        return self.state().ceph_flags

    def ceph_status(self) -> CephState:
        return self.state().ceph

    def snapshot(self) -> dict[str, tuple[str, str, str, bool]]:
        """Per node: (Talos version, kubelet version, boot ID, cordoned)."""
        return {name: (n.talos_version, n.kubelet_version, n.boot_id, n.unschedulable)
                for name, n in self.nodes().items()}

    def talos_view(self) -> dict[str, tuple[str, int]]:
        """Per node address: (Talos tag, MachineStatus resource version), read from the Talos API alone.

        The one view left when the Kubernetes API is down; the resource version moves with every
        boot, so an unchanged view means no node rebooted.
        """
        view = {}
        for node in load_cluster(self.config).nodes:
            address = str(node.address)
            version = json.loads(self.tool("talosctl", "-n", address, "version", "--json").stdout)
            status = json.loads(self.tool("talosctl", "-n", address, "get", "machinestatus", "-o", "json").stdout)
            view[address] = (version["version"]["tag"], status["metadata"]["version"])
        return view

    def flux_reconciles(self) -> dict[str, tuple[str | None, str | None]]:
        """Per Kustomization: (its reconcile.fluxcd.io/requestedAt annotation, its status.lastHandledReconcileAt)."""
        out = self.tool("kubectl", "get", "kustomizations.kustomize.toolkit.fluxcd.io", "-A", "-o", "json").stdout
        found = {}
        for item in json.loads(out)["items"]:
            requested = item["metadata"].get("annotations", {}).get("reconcile.fluxcd.io/requestedAt")
            found[item["metadata"]["name"]] = (requested, item["status"].get("lastHandledReconcileAt"))
        return found

    def installer_image(self, version: str) -> str:
        """The installer image of this drill's cluster.yaml, as the upgrade runbooks pass it to `talosctl upgrade`."""
        return load_cluster(self.config).installer_image(version)


@pytest.fixture
def make_drill(tmp_path):
    count = iter(range(100))

    def make(scenario: dict | None = None, edit: Callable[[str], str] | None = None) -> Drill:
        """A twin of cluster.yaml, or of `edit(cluster.yaml's text)`, in `scenario`."""
        directory = tmp_path / f"drill-{next(count)}"
        directory.mkdir()
        return Drill(directory, scenario or {}, edit)

    return make


BOOTSTRAP_TOKEN = "ghp_DrillTokenThatNeverShows0123456789abcd"
USER_SECRET_FILE = "kubernetes/apps/external-secrets/store/cloudflare.sops.yaml"
REPOSITORY = "repository:\n  owner: ana\n  name: home-ops\n"


@pytest.fixture
def make_bootstrap(make_drill, monkeypatch):
    from tests.runbooks.bootstrap_fake import age_key

    def make(scenario: dict | None = None, user_secret_written: bool = True):
        """A project with a repository, rendered, the user-written SOPS Secret, an age key and a token, and its
        twin in maintenance mode."""
        drill = make_drill({"maintenance": "all", **(scenario or {})}, edit=lambda text: text + REPOSITORY)
        shutil.copytree(ROOT / "templates", drill.directory / "templates")
        rendered = drill.homeops("render")
        assert rendered.code == 0, rendered.stdout + rendered.stderr
        # What the user writes and commits before the bootstrap (tree.USER_SECRETS): the twin's Flux applies it
        # from the project, as Flux from the repository; without it cluster-secrets never becomes Ready.
        if user_secret_written:
            (drill.directory / USER_SECRET_FILE).write_text(
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: cloudflare\n  namespace: external-secrets\n"
                "stringData:\n  api-token: ENC[AES256_GCM,data:Zm9v,type:str]\nsops:\n  age: []\n")
        monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(age_key(drill.directory, str(load_cluster(ROOT / 'cluster.yaml').secrets.age_public_key))))
        monkeypatch.setenv("GITHUB_TOKEN", BOOTSTRAP_TOKEN)
        return drill

    return make


