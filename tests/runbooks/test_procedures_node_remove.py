"""node_remove in process: its refusals and stops in whole (what they leave in place), the order of its
steps, and what it says. The tools it calls are replaced by a recording fake; osd_removal's own steps are
pinned in test_procedures_osd_removal.py, so here they are recorded calls that change the Removal."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from homeops.errors import RunbookStopped
from homeops.gate import Gate
from homeops.procedures import ceph_capacity, node_remove, osd_removal
from homeops.procedures.ceph_capacity import Capacity
from homeops.procedures.etcd import TWO_MEMBER_RISK
from homeops.procedures.session import Session
from homeops.tools import ceph, ceph_osds, kubectl, node_removal, talosctl
from homeops.tools.node_removal import BoundVolume
from homeops.tools.process import ToolError
from homeops.tools.shapes import CephStatus
from tests.runbooks.in_process import KEEPS, SHORT, STOPS, CoveringGuard

BROKEN = ToolError(["tool"], 1, "Error EIO: it broke\n")
ROOM_KEEPS = "Ceph can keep every copy without host worker-1 (3 hosts for size 3)"
ROOM_SHORT = ("Ceph cannot keep every copy without host worker-1: with 3 OSD hosts, pool rbd has size 3 and failure "
              "domain host, and only 2 hosts would be left, so it would stay degraded (2 of 3 copies) until another "
              "host with OSDs joins")
LAST = "remove {0} from cluster.yaml and run homeops render, so that nothing renders it again"


def status(clean: bool) -> CephStatus:
    states = (("active+clean", 8),) if clean else (("active+undersized+degraded", 8),)
    return CephStatus("HEALTH_OK" if clean else "HEALTH_WARN", (), 6, 6, 6, states, 8)


@dataclass
class Fake:
    members: list = field(default_factory=lambda: ["cp-1", "cp-2"])
    members_after: list | None = None  # what etcd says after the removal; `members` without the node if None
    volumes: list = field(default_factory=list)
    osds: dict = field(default_factory=lambda: {"worker-1": {10, 3}})  # a set that iterates 10 before 3
    pools: tuple = KEEPS
    registered: set = field(default_factory=lambda: {"cp-1", "cp-2", "worker-1", "worker-2"})
    clean: list = field(default_factory=lambda: [True])  # what each `ceph status` sees; the last repeats
    failing: set = field(default_factory=set)  # names of the calls that raise BROKEN
    status_fails_at: int = 0  # the `ceph status` call (counted from 1) that raises BROKEN
    calls: list = field(default_factory=list)
    given: list = field(default_factory=list)  # the session or gate each step was handed
    removed: str = ""

    def _call(self, name, *args):
        self.calls.append((name, *args))
        if name in self.failing:
            raise BROKEN

    def etcd_members(self, address, **_):
        self._call("etcd members", address)
        names = self.members if not self.removed else (
            self.members_after if self.members_after is not None else [m for m in self.members if m != self.removed])
        return [SimpleNamespace(hostname=n) for n in names]

    def bound_volumes(self, node):
        self._call("bound volumes", node)
        return list(self.volumes)

    def tree_document(self):
        self._call("osd tree")
        return {"tree": "of the fake"}

    def osds_of_host(self, tree, host):
        assert tree == {"tree": "of the fake"}
        return set(self.osds.get(host, ()))

    def without_host(self, host):
        self._call("without host", host)
        return Capacity(f"host {host}", self.pools)

    def status(self, **_):
        self._call("ceph status")
        if self.names().count("ceph status") == self.status_fails_at:
            raise BROKEN
        return status(self.clean.pop(0) if len(self.clean) > 1 else self.clean[0])

    def read(self, session, osds, subject):
        self._call("read OSDs", osds, subject)
        self.given.append(session)
        return osd_removal.Removal(tuple(osds), subject=subject)

    def remove(self, session, state, *, degraded_accepted):
        self._call("remove OSDs", state.osds, degraded_accepted, list(state.notes))
        self.given.append(session)
        state.operator_stopped = True
        state.purged.update(state.osds)
        state.deployment_gone.update(state.osds)

    def operator_back(self, session, state):
        self._call("operator back")
        self.given.append(session)
        state.operator_stopped = False

    def nodes(self, **_):
        self._call("nodes")
        return [SimpleNamespace(name=n) for n in sorted(self.registered)]

    def drain(self, gate, name, *, timeout, why=""):
        self._call("drain", name, timeout, why)
        self.given.append(gate)

    def reset(self, gate, address, *, why="", node=""):
        self._call("reset", address, node, why)
        self.given.append(gate)
        self.removed = node

    def delete_node(self, gate, name, *, why=""):
        self._call("delete node", name, why)
        self.given.append(gate)
        self.registered.discard(name)

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]


@pytest.fixture
def fake(monkeypatch) -> Fake:
    fake = Fake()
    for module, names in ((talosctl, ["etcd_members"]), (node_removal, ["bound_volumes", "reset", "delete_node"]),
                          (ceph_osds, ["tree_document"]), (ceph_capacity, ["osds_of_host", "without_host"]),
                          (ceph, ["status"]), (osd_removal, ["read", "remove", "operator_back"]),
                          (kubectl, ["nodes", "drain"])):
        for name in names:
            monkeypatch.setattr(module, name, getattr(fake, name))
    return fake


@pytest.fixture
def guard() -> CoveringGuard:
    return CoveringGuard()


@pytest.fixture
def session(cluster_model, guard):
    def make(apply: bool = True) -> Session:
        return Session(cluster_model, Gate(apply), wait_timeout=0.5, poll_interval=0.01, guard=guard)

    return make


def check(session, name, *, degraded=False, two=False):
    return node_remove.checked(session, name, accept_degraded=degraded, accept_two_member_etcd_risk=two)


def refused(session, name, **kw) -> str:
    with pytest.raises(RunbookStopped) as stopped:
        check(session, name, **kw)
    return str(stopped.value)


# ---- checked: nothing changes before these pass -----------------------------------------------------


def test_no_name_and_an_unknown_name_are_refused_naming_the_nodes(fake, session):
    nodes = "cp-1, cp-2, worker-1, worker-2, worker-3"
    assert refused(session(), " ") == f"no node given: pass -p node=NAME (one of {nodes}); nothing changed"
    assert refused(session(), " worker-9 ") == (f"no node named 'worker-9' in cluster.yaml (nodes: {nodes}); "
                                                "nothing changed")
    assert fake.calls == []


def test_a_plan_reads_etcd_from_a_control_plane_that_stays(fake, session, cluster_model, capsys):
    fake.volumes = [BoundVolume("pvc-a", "media/data", "openebs-zfs", "zfs")]
    plan = check(session(), " worker-1 ")
    assert plan == node_remove.Plan(cluster_model.node("worker-1"), "worker-1", (3, 10), tuple(fake.volumes),
                                    ("cp-1", "cp-2"), cluster_model.node("cp-1"), True, ROOM_KEEPS)
    assert fake.calls == [("etcd members", "10.0.10.11"), ("bound volumes", "worker-1"), ("osd tree",),
                          ("without host", "worker-1")]
    assert check(session(), "cp-2", two=True).witness == cluster_model.node("cp-1")
    assert fake.calls[-3] == ("etcd members", "10.0.10.11")
    fake.calls.clear()
    assert check(session(), "cp-1", two=True).witness == cluster_model.node("cp-2")
    assert fake.calls[0] == ("etcd members", "10.0.10.12")


def test_a_plan_names_a_volume_without_a_claim(fake, session):
    fake.volumes = [BoundVolume("pvc-b", "", "openebs-zfs", "zfs")]
    assert check(session(), "worker-1").summary().splitlines()[2] == (
        "volumes bound to worker-1, whose data goes with it: pvc-b (claim none, openebs-zfs)")


def test_a_host_without_osds_does_not_ask_ceph(fake, session, cluster_model):
    plan = check(session(), "worker-2")
    assert (plan.osds, plan.keeps_every_copy, plan.room) == ((), True, "")
    assert "without host" not in fake.names()


def test_a_failed_read_stops_before_anything_changes(fake, session):
    for failing in ("etcd members", "bound volumes", "osd tree"):
        fake.failing = {failing}
        assert refused(session(), "worker-1") == f"worker-1: cannot read the cluster: {BROKEN}; nothing changed"
    fake.failing = {"without host"}
    assert refused(session(), "worker-1") == f"worker-1: cannot judge Ceph: {BROKEN}; nothing changed"


def test_the_second_to_last_etcd_member_is_refused_unless_the_risk_is_accepted(fake, session, capsys, monkeypatch):
    monkeypatch.setenv("HOMEOPS_STARTER", "cli")  # under `homeops run`
    fake.osds = {}
    assert refused(session(), "cp-1") == (
        f"refused: removing cp-1 leaves etcd with 1 member: {TWO_MEMBER_RISK}. Add a control-plane node first "
        "(node-add), or re-run with -p accept_two_member_etcd_risk=True to remove it anyway; nothing changed")
    fake.members = ["cp-1"]
    assert "leaves etcd with 0 member:" in refused(session(), "cp-1")
    fake.members = ["cp-1", "cp-2"]
    plan = check(session(), "cp-1", two=True)
    assert plan.members == ("cp-1", "cp-2")
    assert capsys.readouterr().out.rstrip().endswith(
        "accepted risk (accept_two_member_etcd_risk): removing cp-1 leaves etcd with 1 member, which tolerates no "
        "failure")


def test_two_members_refuse_only_a_control_plane_that_is_one_of_them(fake, session, capsys):
    fake.osds = {}
    fake.members = ["cp-1", "cp-2", "cp-3"]
    check(session(), "cp-1")
    fake.members = ["cp-2", "cp-3"]
    check(session(), "cp-1")
    fake.members = ["cp-1", "cp-2"]
    check(session(), "worker-1")
    assert "accepted risk" not in capsys.readouterr().out


def test_ceph_without_the_host_decides(fake, session):
    fake.pools = STOPS
    assert refused(session(), "worker-1", degraded=True) == (
        "Ceph cannot keep every copy without host worker-1: with 2 OSD hosts, pool rbd has size 3 and failure domain "
        "host, and only 1 hosts would be left, fewer than its min_size 2: its I/O would stop; refused whatever is "
        "accepted; nothing changed")
    fake.pools = SHORT
    assert refused(session(), "worker-1") == (  # in a notebook, where there is no command line
        f"{ROOM_SHORT}: refused; add a host with OSDs first, or set accept_degraded = True in the parameters cell and "
        "Run All again to remove it anyway and stay degraded; nothing changed")
    plan = check(session(), "worker-1", degraded=True)
    assert (plan.keeps_every_copy, plan.room) == (False, f"{ROOM_SHORT}; accepted by the operator (accept_degraded)")


# ---- remove: each step in order, what a stop leaves ----------------------------------------------------


def removing(fake, session, name="worker-1", *, apply=True, **kw):
    plan = check(session(apply), name, **kw)
    fake.calls.clear()
    return plan


def test_a_worker_goes_in_order_and_the_end_says_what_is_left_to_do(fake, session, guard, capsys):
    fake.volumes = [BoundVolume("pvc-a", "media/data", "openebs-zfs", "zfs"),
                    BoundVolume("pvc-b", "", "openebs-zfs", "zfs")]
    plan = removing(fake, session)
    fake.clean = [True, False, True]  # Ceph recovers during the wait at the end
    fake.given.clear()
    one = session()
    said = node_remove.remove(one, plan)
    assert fake.given == [one, one, one.gate, one.gate, one.gate, one]
    assert fake.calls == [
        ("read OSDs", (3, 10), "worker-1"),
        ("ceph status",),
        ("remove OSDs", (3, 10), False, ["volumes bound to it (their data goes with it): pvc-a, pvc-b"]),
        ("nodes",),
        ("drain", "worker-1", 0.5, "move its pods elsewhere"),
        ("reset", "10.0.10.21", "worker-1", "wipe it and shut it down"),
        ("delete node", "worker-1", "worker-1 is gone for good"),
        ("operator back",),
        ("etcd members", "10.0.10.11"),
        ("ceph status",),
        ("ceph status",),
        ("ceph status",),
    ]
    assert guard.covered == [(node_removal.RESET_TIMEOUT, "worker-1's reset")]
    assert said == ("worker-1 removed: OSDs osd.3, osd.10 purged, reset, Node deleted; etcd members: cp-1, cp-2; "
                    "Ceph HEALTH_OK; " + LAST.format("worker-1"))
    assert ("waiting for every Ceph PG active+clean: 8 of 8 PGs not active+clean (8 active+undersized+degraded)"
            in capsys.readouterr().out)


def test_a_control_plane_without_osds_leaves_etcd_and_ceph_untouched(fake, session):
    fake.members = ["cp-1", "cp-2", "cp-3"]
    plan = removing(fake, session, "cp-1")
    said = node_remove.remove(session(), plan)
    assert ("reset", "10.0.10.11", "cp-1", "wipe it and shut it down, leaving etcd") in fake.calls
    assert "ceph status" not in fake.names()
    assert fake.calls[-1] == ("etcd members", "10.0.10.12")
    assert said == ("cp-1 removed: OSDs none purged, reset, Node deleted; etcd members: cp-2, cp-3; Ceph untouched; "
                    + LAST.format("cp-1"))


def test_unclean_pgs_refuse_a_fresh_removal_but_not_one_already_started(fake, session):
    plan = removing(fake, session)
    fake.clean = [False, True]
    with pytest.raises(RunbookStopped) as stopped:
        node_remove.remove(session(), plan)
    assert str(stopped.value) == ("worker-1: PGs are not clean (8 of 8 PGs not active+clean (8 "
                                  "active+undersized+degraded)): wait for Ceph to recover before removing a host's "
                                  "OSDs; nothing changed")
    assert fake.names() == ["read OSDs", "ceph status"]
    for started in ("stopped", "out", "purged"):
        fake.clean = [False, True]
        original = fake.read

        def read(session_, osds, subject, started=started, original=original):
            state = original(session_, osds, subject)
            getattr(state, started).add(3)
            return state

        osd_removal.read = read
        try:
            assert node_remove.remove(session(), plan).startswith("worker-1 removed: ")
        finally:
            osd_removal.read = original


def test_a_ceph_that_cannot_be_read_stops_before_the_osds(fake, session):
    plan = removing(fake, session)
    fake.failing = {"ceph status"}
    with pytest.raises(RunbookStopped) as stopped:
        node_remove.remove(session(), plan)
    assert str(stopped.value) == f"worker-1: stopped at step 'read Ceph': {BROKEN}; left in place: nothing"


@pytest.mark.parametrize(("failing", "step", "notes"), [
    ("drain", "drain", "worker-1 cordoned (the drain cordons first)"),
    ("reset", "talosctl reset --graceful", "worker-1 drained"),
    ("delete node", "kubectl delete node", "worker-1 drained; worker-1 reset and shut down"),
])
def test_a_failed_step_names_it_and_what_is_left(fake, session, failing, step, notes):
    plan = removing(fake, session)
    fake.failing = {failing}
    with pytest.raises(RunbookStopped) as stopped:
        node_remove.remove(session(), plan)
    assert str(stopped.value) == (
        f"worker-1: stopped at step '{step}': {BROKEN}; {notes}; {osd_removal.rerun_hint()} to finish the removal; "
        "left in place: the Rook operator at 0 replicas")
    assert fake.names()[-1] == failing


def test_a_node_already_gone_is_not_drained_again(fake, session, capsys):
    plan = removing(fake, session)
    fake.registered.discard("worker-1")
    fake.removed = "worker-1"
    node_remove.remove(session(), plan)
    assert not {"drain", "reset", "delete node"} & set(fake.names())
    assert ("worker-1 is no longer a Node of the cluster: not draining or resetting it again"
            in capsys.readouterr().out)


def test_a_plan_says_what_would_happen_and_reads_nothing_after(fake, session, capsys):
    plan = removing(fake, session, apply=False)
    said = node_remove.remove(session(False), plan)
    assert said == ("worker-1 would be removed: OSDs osd.3, osd.10 purged, reset, Node deleted; etcd's members would "
                    "be read from cp-1; Ceph would be clean; " + LAST.format("worker-1"))
    assert fake.names()[-1] == "operator back"
    assert "PLAN: would wait for every Ceph PG active+clean (up to 0.5s)" in capsys.readouterr().out


def test_a_node_still_in_etcd_stops_naming_the_members(fake, session):
    fake.members = ["cp-1", "cp-2", "cp-3"]
    plan = removing(fake, session, "cp-1")
    fake.members_after = ["cp-1", "cp-2", "cp-3"]
    with pytest.raises(RunbookStopped) as stopped:
        node_remove.remove(session(), plan)
    assert str(stopped.value) == ("cp-1: stopped at step 'read etcd's members': cp-1 is still an etcd member "
                                  "(cp-1, cp-2, cp-3); cp-1 drained; cp-1 reset and shut down; left in place: nothing")
    fake.failing = {"etcd members"}
    with pytest.raises(RunbookStopped) as failed:
        node_remove.remove(session(), plan)
    assert str(failed.value).startswith(f"cp-1: stopped at step 'read etcd's members': {BROKEN}; ")


def test_without_another_control_plane_etcd_is_not_read(fake, session, cluster_model):
    plan = removing(fake, session)
    alone = node_remove.Plan(plan.node, plan.host, plan.osds, plan.volumes, plan.members, None, True, plan.room)
    said = node_remove.remove(session(), alone)
    assert "etcd members" not in fake.names()
    assert "; no other control plane to read etcd from; " in said


def test_an_accepted_degraded_ceph_is_not_waited_for(fake, session):
    fake.pools = SHORT
    plan = removing(fake, session, degraded=True)
    said = node_remove.remove(session(), plan)
    assert ("remove OSDs", (3, 10), True, []) in fake.calls
    assert fake.names().count("ceph status") == 1
    assert "; Ceph stays degraded until another host with OSDs joins (accepted); " in said


def test_ceph_that_stays_unclean_stops_the_wait(fake, session, capsys):
    plan = removing(fake, session)
    fake.clean = [True, False]
    with pytest.raises(RunbookStopped) as stopped:
        node_remove.remove(session(), plan)
    message = str(stopped.value)
    assert message.startswith("worker-1: stopped at step 'wait for every Ceph PG active+clean': every Ceph PG "
                              "active+clean did not happen within 0.5s")
    assert message.endswith("worker-1 drained; worker-1 reset and shut down; left in place: nothing")
    assert ("waiting for every Ceph PG active+clean: 8 of 8 PGs not active+clean (8 active+undersized+degraded) "
            "(0s of 0.5s)") in capsys.readouterr().out


def test_a_health_that_cannot_be_read_after_the_wait_stops_naming_the_step(fake, session):
    plan = removing(fake, session)
    fake.status_fails_at = 3  # before the OSDs, the wait's look, then the health at the end
    with pytest.raises(RunbookStopped) as stopped:
        node_remove.remove(session(), plan)
    assert str(stopped.value) == (f"worker-1: stopped at step 'wait for every Ceph PG active+clean': {BROKEN}; "
                                  "worker-1 drained; worker-1 reset and shut down; left in place: nothing")


class OneControlPlane:
    """cluster.yaml's nodes, but cp-1 the only control plane."""

    def __init__(self, cluster):
        self.nodes = [n for n in cluster.nodes if n.name != "cp-2"]
        self.control_planes = [n for n in self.nodes if n.role == "control-plane"]
        self.node = cluster.node


def test_the_only_control_plane_has_no_witness_and_etcd_is_not_read(fake, cluster_model):
    fake.osds = {}
    alone = Session(OneControlPlane(cluster_model), Gate(True), wait_timeout=0.5, poll_interval=0.01)
    plan = check(alone, "cp-1")
    assert plan == node_remove.Plan(cluster_model.node("cp-1"), "cp-1", (), (), (), None, True, "")
    assert fake.names() == ["bound volumes", "osd tree"]


def test_a_plan_names_every_osd_and_volume(fake, session):
    fake.volumes = [BoundVolume("pvc-a", "media/data", "openebs-zfs", "zfs"),
                    BoundVolume("pvc-b", "", "local-hostpath", "zfs")]
    assert check(session(), "worker-1").summary().splitlines() == [
        "worker-1 (worker), OSDs: osd.3, osd.10", ROOM_KEEPS,
        "volumes bound to worker-1, whose data goes with it: pvc-a (claim media/data, openebs-zfs), "
        "pvc-b (claim none, local-hostpath)",
        "etcd members now: cp-1, cp-2"]
