"""osd_replace in process: which OSD and disk it picks, its refusals, the wipe, the wait for the new OSD,
the order of a whole replacement and the undo, each stop in whole (what it says and leaves in place).

Ceph's reads, `talosctl get disks` and the capacity judgement are a recording fake with a small Ceph
behind it (CRUSH hosts, each OSD's devices, the OSD map); the wipe runs through the real gate into a
recorded `process.run`; osd_removal's steps are recorded calls that change the Removal (they are pinned
in test_procedures_osd_removal.py). The twin drills of the runbook are tests/runbooks/test_osd_replace.py."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from homeops.errors import RunbookStopped
from homeops.gate import Gate
from homeops.procedures import ceph_capacity, osd_removal, osd_replace
from homeops.procedures.ceph_capacity import Capacity
from homeops.procedures.osd_removal import Removal
from homeops.procedures.osd_replace import ZAP_HINT, Target
from homeops.procedures.session import Session
from homeops.runner.outcome import rerun_hint
from homeops.tools import ceph, ceph_osds, node_removal, process
from homeops.tools.process import Completed, ToolError
from homeops.tools.shapes import CephStatus, Disk

from tests.said import gate_lines, said
from tests.runbooks.in_process import KEEPS, SHORT, STOPS

BROKEN = ToolError(["tool"], 1, "Error EIO: it broke\n")
BY_ID = "/dev/disk/by-id/nvme-Samsung_SSD_980_1TB_S64ANS0T10000{}"  # worker-N's osd_devices in cluster.yaml
ADDRESS = {"worker-1": "10.0.10.21", "worker-2": "10.0.10.22", "worker-3": "10.0.10.23", "cp-1": "10.0.10.11"}
ROOM_KEEPS = "Ceph can keep every copy without osd.0 (3 hosts for size 3)"
ROOM_SHORT = ("Ceph cannot keep every copy without osd.0: with 3 OSD hosts, pool rbd has size 3 and failure domain "
              "host, and only 2 hosts would be left, so it would stay degraded (2 of 3 copies) until another host with "
              "OSDs joins")
ROOM_STOPS = ("Ceph cannot keep every copy without osd.0: with 2 OSD hosts, pool rbd has size 3 and failure domain "
              "host, and only 1 hosts would be left, fewer than its min_size 2: its I/O would stop")
WHY_WIPE = "clear osd.0's data so that Rook makes a new OSD on it"
UNCLEAN = "8 of 8 PGs not active+clean (8 active+undersized+degraded)"


def status(health: str = "HEALTH_OK", clean: bool = True) -> CephStatus:
    states = (("active+clean", 8),) if clean else (("active+undersized+degraded", 8),)
    return CephStatus(health, (), 3, 3, 3, states, 8)


def disk(node: str, name: str, *links: str) -> Disk:
    return Disk(node, name, f"/dev/{name}", 10 ** 12, False, False, "a disk", "S64", links)


def node_disks(number: int) -> list[Disk]:
    """worker-N's install disk sda and its OSD disk nvme0n1, the one cluster.yaml's osd_devices names."""
    node = f"worker-{number}"
    return [disk(node, "sda", f"/dev/disk/by-id/ata-QEMU_HARDDISK_{number}", "/dev/disk/by-path/pci-0000:00:1f.2"),
            disk(node, "nvme0n1", BY_ID.format(number), f"/dev/disk/by-id/nvme-eui.00{number}")]


@dataclass
class Fake:
    hosts: dict = field(default_factory=lambda: {"worker-1": [0], "worker-2": [1], "worker-3": [2]})  # CRUSH hosts
    devices: dict = field(default_factory=lambda: {0: ("nvme0n1",), 1: ("nvme0n1",), 2: ("nvme0n1",)})  # osd metadata
    osd_map: dict = field(default_factory=lambda: {0: "up", 1: "up", 2: "up"})  # up (and in), down (in), out (up)
    later: list = field(default_factory=list)  # what changes in the OSD map before each `osd dump` is read
    disks: dict = field(default_factory=lambda: {ADDRESS[f"worker-{n}"]: node_disks(n) for n in (1, 2, 3)})
    pools: tuple = KEEPS
    statuses: list = field(default_factory=lambda: [status()])  # what each `ceph status` sees; the last repeats
    before: dict = field(default_factory=dict)  # what osd_removal.read finds an earlier run left: {"out": {0}}
    rook_makes: int | None = 0  # the id Rook's new OSD on the wiped disk gets once the operator is back; None: none
    failing: set = field(default_factory=set)  # calls that raise BROKEN: "osd tree", or "osd metadata 4"
    interrupting: str = ""  # the call during which the operator presses Ctrl-C
    calls: list = field(default_factory=list)
    given: list = field(default_factory=list)  # the session each osd_removal step was handed
    wiped: list = field(default_factory=list)

    def _call(self, name, *args):
        self.calls.append((name, *args))
        if name == self.interrupting:
            raise KeyboardInterrupt
        if name in self.failing or " ".join(map(str, (name, *args))) in self.failing:
            raise BROKEN

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]

    # Ceph, through the toolbox
    def tree_document(self):
        self._call("osd tree")
        nodes = [{"id": -1, "name": "default", "type": "root", "type_id": 11,
                  "children": [-3 - 2 * i for i in range(len(self.hosts))]}]
        for i, (host, osds) in enumerate(self.hosts.items()):
            nodes.append({"id": -3 - 2 * i, "name": host, "type": "host", "type_id": 1, "pool_weights": {},
                          "children": list(osds)})
            nodes += [{"id": o, "device_class": "ssd", "name": f"osd.{o}", "type": "osd", "type_id": 0,
                       "crush_weight": 0.9, "depth": 2, "pool_weights": {}, "exists": 1, "status": "up",
                       "reweight": 1, "primary_affinity": 1} for o in osds]
        return {"nodes": nodes, "stray": []}

    def metadata(self, osd):
        self._call("osd metadata", osd)
        return ceph_osds.OsdMetadata(osd, "", tuple(self.devices.get(osd, ())))

    def json_object_of(self, args):
        assert list(args) == ["osd", "dump"], args
        self._call("osd dump")
        if self.later:
            self.osd_map.update(self.later.pop(0))
        return {"epoch": 42, "osds": [{"osd": o, "uuid": f"uuid-{o}", "up": int(s != "down"), "in": int(s != "out"),
                                       "weight": 1.0} for o, s in sorted(self.osd_map.items())]}

    def status(self, **_):
        self._call("ceph status")
        return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]

    def without_osds(self, osds, without):
        self._call("without osds", set(osds), without)
        return Capacity(without, self.pools)

    # Talos
    def disks_of(self, address):
        self._call("disks", address)
        return list(self.disks.get(address, ()))

    def run(self, argv, *, timeout, input=None, check=True, on_line=None, quiet=None, on_quiet=None):
        assert argv[:4] == ["talosctl", "-n", argv[2], "wipe"], argv  # the only command this fake runs
        self._call("wipe", *argv)
        self.wiped.append((argv[2], argv[-1]))
        return Completed(tuple(argv), 0, "", "")

    # osd_removal's steps, as they change the Removal and Ceph
    def read(self, session, osds, subject):
        self._call("read OSDs", osds, subject)
        self.given.append(session)
        state = Removal(tuple(osds), subject=subject)
        for name, value in self.before.items():
            setattr(state, name, value)
        return state

    def remove(self, session, state, *, degraded_accepted):
        self._call("remove OSDs", state.osds, degraded_accepted, list(state.notes))
        self.given.append(session)
        state.operator_stopped = True
        state.purged.update(state.osds)
        state.deployment_gone.update(state.osds)
        state.step = f"delete rook-ceph-osd-{state.osds[-1]}"  # where the real removal ends
        if session.apply:
            for osd in state.osds:
                for osds in self.hosts.values():
                    if osd in osds:
                        osds.remove(osd)
                self.osd_map.pop(osd, None)
                self.devices.pop(osd, None)

    def operator_back(self, session, state):
        self._call("operator back")
        self.given.append(session)
        state.operator_stopped = False
        state.step = "scale the Rook operator back"
        if session.apply and self.wiped and self.rook_makes is not None:
            address, name = self.wiped[-1]
            host = next(h for h, a in ADDRESS.items() if a == address)
            self.hosts[host].append(self.rook_makes)
            self.devices[self.rook_makes] = (name,)
            self.osd_map[self.rook_makes] = "up"

    def undo(self, session, state):
        self._call("undo", state.osds)
        self.given.append(session)
        state.out.clear()
        state.stopped.clear()
        state.operator_stopped = False


@pytest.fixture
def fake(monkeypatch) -> Fake:
    fake = Fake()
    for module, names in ((ceph_osds, ["tree_document", "metadata", "json_object_of"]), (ceph, ["status"]),
                          (ceph_capacity, ["without_osds"]), (process, ["run"]),
                          (osd_removal, ["read", "remove", "operator_back", "undo"])):
        for name in names:
            monkeypatch.setattr(module, name, getattr(fake, name))
    monkeypatch.setattr(node_removal, "disks", fake.disks_of)
    return fake


@pytest.fixture
def session(cluster_model):
    def make(apply: bool = True) -> Session:
        return Session(cluster_model, Gate(apply), wait_timeout=0.5, poll_interval=0.01)

    return make


def with_node(cluster, name, **changes):
    """cluster.yaml's cluster with one node changed."""
    nodes = tuple(n.model_copy(update=changes) if n.name == name else n for n in cluster.nodes)
    return cluster.model_copy(update={"nodes": nodes})


def refused(session, osd, disk="") -> str:
    with pytest.raises(RunbookStopped) as stopped:
        osd_replace.chosen(session, osd, disk)
    return str(stopped.value)


def target(cluster_model, osd=0, number=1, exists=True) -> Target:
    return Target(osd, cluster_model.node(f"worker-{number}"), f"worker-{number}", BY_ID.format(number), "nvme0n1",
                  exists)


# ---- chosen: the OSD, its node and its disk; nothing changes before a replacement is sure of them --------


def test_an_osd_is_found_by_its_id_under_its_crush_host_on_its_by_id_disk(fake, session, cluster_model):
    assert osd_replace.chosen(session(), " osd.1 ") == Target(1, cluster_model.node("worker-2"), "worker-2",
                                                               BY_ID.format(2), "nvme0n1", True)
    assert fake.calls == [("osd tree",), ("osd metadata", 1), ("disks", "10.0.10.22")]
    assert osd_replace.chosen(session(), 2) == target(cluster_model, 2, 3)


def test_osd_devices_may_name_the_disk_by_its_dev_path_as_rook_takes_it(fake, session, cluster_model):
    by_path = with_node(cluster_model, "worker-2", osd_devices=("/dev/nvme0n1",))
    assert osd_replace.chosen(Session(by_path, Gate(True), 0.5, 0.01), 1) == Target(
        1, by_path.node("worker-2"), "worker-2", "/dev/nvme0n1", "nvme0n1", True)
    fake.hosts["worker-2"] = []  # after the purge: found again as the free disk
    assert osd_replace.chosen(Session(by_path, Gate(True), 0.5, 0.01), 1) == Target(
        1, by_path.node("worker-2"), "worker-2", "/dev/nvme0n1", "nvme0n1", False)


def test_an_id_that_is_no_number_is_refused_before_ceph_is_asked(fake, session):
    assert refused(session(), "osd.one") == ("osd must be an OSD id (a number, as in `ceph osd tree`), got 'osd.one'; "
                                             "nothing changed")
    assert refused(session(), "") == "osd must be an OSD id (a number, as in `ceph osd tree`), got ''; nothing changed"
    assert fake.calls == []


def test_a_tree_that_cannot_be_read_stops(fake, session):
    fake.failing = {"osd tree"}
    assert refused(session(), 1) == f"cannot read the OSD tree: {BROKEN}; nothing changed"


def test_an_osd_under_a_crush_host_that_is_no_node_is_refused(fake, session):
    fake.hosts["worker-9"] = [7]
    assert refused(session(), 7) == ("osd.7 sits under CRUSH host worker-9, which is no node of cluster.yaml; "
                                     "nothing changed")
    assert fake.names() == ["osd tree"]


def test_an_osd_whose_disk_cannot_be_read_is_refused(fake, session):
    for failing in ("osd metadata", "disks"):
        fake.failing = {failing}
        assert refused(session(), 1) == f"cannot read osd.1's disk: {BROKEN}; nothing changed"


def test_an_osd_on_several_devices_or_none_is_refused(fake, session):
    fake.devices[1] = ("nvme0n1", "nvme1n1")
    assert refused(session(), 1) == ("osd.1 uses 2 devices (nvme0n1, nvme1n1): this runbook replaces OSDs on one whole "
                                     "disk only; nothing changed")
    fake.devices[1] = ()
    assert refused(session(), 1) == ("osd.1 uses 0 devices (none): this runbook replaces OSDs on one whole disk only; "
                                     "nothing changed")


def test_a_disk_that_is_none_of_the_nodes_osd_devices_is_refused(fake, session, cluster_model):
    fake.devices[1] = ("nvme1n1",)  # a disk of worker-2 that cluster.yaml does not give Rook
    fake.disks["10.0.10.22"].append(disk("worker-2", "nvme1n1", "/dev/disk/by-id/nvme-other"))
    assert refused(session(), 1) == (f"osd.1's disk nvme1n1 on worker-2 is none of its osd_devices in cluster.yaml "
                                     f"({BY_ID.format(2)}); nothing changed")
    fake.devices[1] = ("sdz",)  # Talos does not see it at all
    assert refused(session(), 1).startswith("osd.1's disk sdz on worker-2 is none of its osd_devices")
    two = with_node(cluster_model, "worker-2", osd_devices=(BY_ID.format(2), "/dev/disk/by-id/nvme-second"))
    assert refused(Session(two, Gate(True), 0.5, 0.01), 1) == (
        f"osd.1's disk sdz on worker-2 is none of its osd_devices in cluster.yaml ({BY_ID.format(2)}, "
        "/dev/disk/by-id/nvme-second); nothing changed")
    fake.hosts["cp-1"] = [5]
    fake.devices[5] = ("nvme0n1",)
    fake.disks["10.0.10.11"] = [disk("cp-1", "nvme0n1", BY_ID.format(1))]
    assert refused(session(), 5) == ("osd.5's disk nvme0n1 on cp-1 is none of its osd_devices in cluster.yaml (none); "
                                     "nothing changed")


def test_the_install_disk_is_never_wiped_by_whichever_name_cluster_yaml_gives_it(fake, session, cluster_model):
    # cluster.yaml's by-id name of the OSD disk that, on the node, is the disk Talos is installed on
    fake.devices[0] = ("sda",)
    fake.disks["10.0.10.21"] = [disk("worker-1", "sda", BY_ID.format(1), "/dev/disk/by-id/ata-QEMU_HARDDISK_1"),
                                disk("worker-1", "nvme0n1")]
    assert refused(session(), 0) == "osd.0's disk sda is worker-1's install disk; nothing changed"
    by_id = with_node(cluster_model, "worker-1", install_disk="/dev/disk/by-id/ata-QEMU_HARDDISK_1")
    assert refused(Session(by_id, Gate(True), 0.5, 0.01), 0) == ("osd.0's disk sda is worker-1's install disk; "
                                                                  "nothing changed")
    elsewhere = with_node(cluster_model, "worker-1", install_disk="/dev/disk/by-id/ata-QEMU_HARDDISK_9")
    assert osd_replace.chosen(Session(elsewhere, Gate(True), 0.5, 0.01), 0).name == "sda"


def test_a_disk_that_holds_another_osd_too_is_refused_naming_it(fake, session):
    fake.hosts["worker-1"] = [0, 4, 6]
    fake.devices.update({4: ("nvme1n1",), 6: ("nvme0n1",)})
    assert refused(session(), 0) == ("the disk nvme0n1 on worker-1 also holds osd.6: wiping it would destroy osd.6 "
                                     "too; nothing changed")
    assert fake.calls[-2:] == [("osd metadata", 4), ("osd metadata", 6)]
    fake.devices[6] = ("nvme2n1",)
    assert osd_replace.chosen(session(), 0).osd == 0
    fake.failing = {"osd metadata 4"}
    assert refused(session(), 0) == f"cannot read the other OSDs of worker-1: {BROKEN}; nothing changed"


# ---- chosen on a re-run after the purge: Ceph no longer knows the OSD --------------------------------


def test_a_purged_osd_is_finished_on_the_one_free_disk(fake, session, cluster_model, capsys):
    fake.hosts["worker-1"] = []
    fake.devices.pop(0)
    assert osd_replace.chosen(session(), 0) == target(cluster_model, exists=False)
    # every node with osd_devices, in cluster.yaml's order: the disks its OSDs use, then the disks it has
    assert fake.calls == [("osd tree",), ("osd tree",), ("disks", "10.0.10.21"), ("osd metadata", 1),
                          ("disks", "10.0.10.22"), ("osd metadata", 2), ("disks", "10.0.10.23")]
    assert said(capsys.readouterr().out) == [
        f"osd.0 is no longer in Ceph: finishing its replacement on {BY_ID.format(1)} (worker-1), the free disk of "
        "cluster.yaml's osd_devices"]


def test_an_unknown_id_with_no_free_disk_is_refused(fake, session):
    assert refused(session(), 9) == ("osd.9 is not in Ceph's OSD tree (free osd_devices disks: none): pass its disk as "
                                     "-p disk=/dev/disk/by-id/...; nothing changed")
    assert refused(session(), 9, BY_ID.format(1)) == (
        f"osd.9 is not in Ceph's OSD tree (free osd_devices disks: none): {BY_ID.format(1)} is not a free disk of "
        "cluster.yaml's osd_devices; nothing changed")


def test_the_install_disk_is_never_a_free_disk(fake, session, cluster_model):
    fake.hosts["worker-1"] = []
    fake.disks["10.0.10.21"] = [disk("worker-1", "sda", BY_ID.format(1), "/dev/disk/by-id/ata-QEMU_HARDDISK_1")]
    assert refused(session(), 0).startswith("osd.0 is not in Ceph's OSD tree (free osd_devices disks: none): ")
    by_id = with_node(cluster_model, "worker-1", install_disk="/dev/disk/by-id/ata-QEMU_HARDDISK_1")
    assert refused(Session(by_id, Gate(True), 0.5, 0.01), 0).startswith(
        "osd.0 is not in Ceph's OSD tree (free osd_devices disks: none): ")
    elsewhere = with_node(cluster_model, "worker-1", install_disk="/dev/nvme0n1")
    assert osd_replace.chosen(Session(elsewhere, Gate(True), 0.5, 0.01), 0).name == "sda"


def test_two_free_disks_need_the_disk_named(fake, session, cluster_model):
    fake.hosts.update({"worker-1": [], "worker-2": []})
    free = f"worker-1:{BY_ID.format(1)}, worker-2:{BY_ID.format(2)}"
    assert refused(session(), 0) == (f"osd.0 is not in Ceph's OSD tree (free osd_devices disks: {free}): pass its disk "
                                     "as -p disk=/dev/disk/by-id/...; nothing changed")
    assert osd_replace.chosen(session(), 0, f" {BY_ID.format(2)} ") == target(cluster_model, 0, 2, exists=False)
    assert refused(session(), 0, BY_ID.format(3)) == (
        f"osd.0 is not in Ceph's OSD tree (free osd_devices disks: {free}): {BY_ID.format(3)} is not a free disk of "
        "cluster.yaml's osd_devices; nothing changed")


def test_disks_that_cannot_be_read_after_the_purge_stop(fake, session):
    fake.hosts["worker-1"] = []
    fake.failing = {"disks"}
    assert refused(session(), 0) == (f"osd.0 is not in Ceph's OSD tree, and the disks cannot be read: {BROKEN}; "
                                     "nothing changed")


# ---- preflight: PGs clean and room for every copy, or a refusal that changes nothing ----------------------


def preflight(session, t, state=None, *, failing=False, degraded=False) -> bool:
    state = state if state is not None else Removal((t.osd,), subject=f"osd.{t.osd}")
    return osd_replace.preflight(session, t, state, failing_disk=failing, accept_degraded=degraded)


def stopped_preflight(session, t, state=None, **kw) -> str:
    with pytest.raises(RunbookStopped) as stopped:
        preflight(session, t, state, **kw)
    return str(stopped.value)


def test_clean_pgs_and_room_for_every_copy_go_on_saying_where_the_osd_is(fake, session, cluster_model, capsys):
    assert preflight(session(), target(cluster_model)) is False
    assert fake.calls == [("ceph status",), ("without osds", {0}, "osd.0")]
    assert said(capsys.readouterr().out) == [ROOM_KEEPS, f"osd.0: host worker-1 (worker-1), disk {BY_ID.format(1)} "
                                                         "(nvme0n1)"]


def test_unclean_pgs_refuse_unless_the_disk_is_failing(fake, session, cluster_model, capsys, monkeypatch):
    monkeypatch.setenv("HOMEOPS_STARTER", "cli")  # under `homeops run`
    fake.statuses = [status("HEALTH_WARN", clean=False)]
    assert stopped_preflight(session(), target(cluster_model)) == (
        f"osd.0: PGs are not clean ({UNCLEAN}): a replacement now could lose data; wait for Ceph to recover, or "
        "re-run with -p failing_disk=True if this disk is the failure; nothing changed")
    assert said(capsys.readouterr().out) == []
    assert preflight(session(), target(cluster_model), failing=True) is False
    assert said(capsys.readouterr().out)[0] == f"PGs not clean ({UNCLEAN}): going on because the disk is failing"


@pytest.mark.parametrize("started", ["stopped", "out"])
def test_unclean_pgs_do_not_keep_a_removal_half_done_from_finishing(fake, session, cluster_model, capsys, started):
    fake.statuses = [status("HEALTH_WARN", clean=False)]
    state = Removal((0,), subject="osd.0")
    getattr(state, started).add(0)
    assert preflight(session(), target(cluster_model), state, failing=True) is False
    assert said(capsys.readouterr().out)[0] == (f"PGs not clean ({UNCLEAN}): going on because an earlier run left this "
                                                "removal half done")


def test_clean_pgs_say_nothing_of_a_failing_disk(fake, session, cluster_model, capsys):
    preflight(session(), target(cluster_model), failing=True)
    assert "PGs not clean" not in capsys.readouterr().out


def test_ceph_without_room_refuses_in_words_unless_degraded_is_accepted(fake, session, cluster_model, capsys):
    fake.pools = SHORT
    state = Removal((0,), subject="osd.0", notes=[f"its disk: {BY_ID.format(1)} on worker-1"])
    assert stopped_preflight(session(), target(cluster_model), state) == (
        f"osd.0: stopped at step 'judge Ceph's room': {ROOM_SHORT}: refused; set accept_degraded = True in the "
        f"parameters cell and Run All again to replace it anyway and stay degraded until the new OSD is in; its disk: {BY_ID.format(1)} on worker-1; "
        "left in place: nothing")
    assert said(capsys.readouterr().out) == [ROOM_SHORT]
    assert preflight(session(), target(cluster_model), degraded=True) is True
    assert said(capsys.readouterr().out) == [
        ROOM_SHORT,
        "accepted by the operator (accept_degraded): the pools stay degraded until osd.0's replacement is in",
        f"osd.0: host worker-1 (worker-1), disk {BY_ID.format(1)} (nvme0n1)"]


def test_ceph_that_would_stop_serving_refuses_whatever_is_accepted(fake, session, cluster_model):
    fake.pools = STOPS
    assert stopped_preflight(session(), target(cluster_model), degraded=True) == (
        f"osd.0: stopped at step 'judge Ceph's room': {ROOM_STOPS}; refused whatever is accepted; left in place: "
        "nothing")
    state = Removal((0,), subject="osd.0", operator_stopped=True, out={0})
    assert stopped_preflight(session(), target(cluster_model), state, degraded=True) == (
        f"osd.0: stopped at step 'judge Ceph's room': {ROOM_STOPS}; refused whatever is accepted; {rerun_hint()} to "
        "finish the removal; left in place: the Rook operator at 0 replicas, osd.0 marked out")


def test_a_ceph_that_cannot_be_read_stops_naming_it(fake, session, cluster_model):
    for failing in ("ceph status", "without osds"):
        fake.failing = {failing}
        assert stopped_preflight(session(), target(cluster_model)) == (
            f"osd.0: stopped at step 'read Ceph': {BROKEN}; left in place: nothing")


def test_an_osd_already_purged_is_not_judged_again(fake, session, cluster_model, capsys):
    fake.statuses = [status("HEALTH_WARN", clean=False)]
    fake.pools = STOPS
    assert preflight(session(), target(cluster_model, exists=False)) is False
    assert fake.calls == []
    assert said(capsys.readouterr().out) == [f"osd.0: host worker-1 (worker-1), disk {BY_ID.format(1)} (nvme0n1)"]


# ---- wipe: the kernel's name of the by-id disk, through the gate ------------------------------------------


def test_the_wipe_clears_the_disk_the_by_id_name_is_on_that_node(fake, session, cluster_model, capsys):
    state = Removal((0,), subject="osd.0")
    osd_replace.wipe(session(), target(cluster_model), state)
    assert fake.calls == [("wipe", "talosctl", "-n", "10.0.10.21", "wipe", "disk", "nvme0n1")]
    assert gate_lines(capsys.readouterr().out) == [f"RUN: talosctl -n 10.0.10.21 wipe disk nvme0n1  # {WHY_WIPE}"]
    assert (state.step, state.notes) == (f"wipe {BY_ID.format(1)}", [f"{BY_ID.format(1)} (nvme0n1) on worker-1 wiped"])
    osd_replace.wipe(session(False), target(cluster_model), Removal((0,), subject="osd.0"))
    assert gate_lines(capsys.readouterr().out) == [f"PLAN: talosctl -n 10.0.10.21 wipe disk nvme0n1  # {WHY_WIPE}"]
    assert len(fake.calls) == 1


def test_a_failed_wipe_stops_naming_the_disk_and_what_is_left(fake, session, cluster_model):
    fake.failing = {"wipe"}
    state = Removal((0,), subject="osd.0", operator_stopped=True, purged={0}, deployment_gone={0})
    with pytest.raises(RunbookStopped) as stopped:
        osd_replace.wipe(session(), target(cluster_model), state)
    assert str(stopped.value) == (f"osd.0: stopped at step 'wipe {BY_ID.format(1)}': {BROKEN}; {rerun_hint()} to "
                                  "finish the removal; left in place: the Rook operator at 0 replicas")
    assert state.notes == []


# ---- wait_new_osd: a new OSD up and in on the wiped disk, then HEALTH_OK ----------------------------------


def test_the_new_osd_is_awaited_up_and_in_on_the_disk_then_health(fake, session, cluster_model, capsys):
    fake.hosts["worker-1"] = [3, 5]  # osd.3 on another disk of worker-1; osd.5, the new one, not in the map yet
    fake.devices.update({3: ("nvme1n1",), 5: ("nvme0n1",)})
    fake.osd_map = {1: "up", 2: "up", 3: "up"}
    fake.later = [{}, {5: "down"}, {5: "out"}, {5: "up"}]
    fake.statuses = [status("HEALTH_WARN", clean=False), status("HEALTH_WARN"), status()]
    state = Removal((0,), subject="osd.0")
    said_at_end = osd_replace.wait_new_osd(session(), target(cluster_model), state)
    assert said_at_end == f"osd.0 replaced: osd.5 is up and in on {BY_ID.format(1)} (worker-1), Ceph HEALTH_OK"
    what = f"a new OSD up and in on {BY_ID.format(1)}"
    assert said(capsys.readouterr().out) == [
        f"waiting for {what} (up to 0.5s)",
        f"waiting for {what}: no OSD on it yet (0s of 0.5s)",
        f"waiting for {what}: osd.5 on it, not yet up and in (0s of 0.5s)",
        f"waiting for Ceph HEALTH_OK: HEALTH_WARN, {UNCLEAN} (0s of 0.5s)",
        "waiting for Ceph HEALTH_OK: HEALTH_WARN (0s of 0.5s)",
    ]
    assert state.step == "wait for HEALTH_OK" and state.notes == []
    assert fake.names().count("osd dump") == 4 and fake.names().count("ceph status") == 3


def test_a_plan_says_both_waits_and_reads_nothing(fake, session, cluster_model, capsys):
    assert osd_replace.wait_new_osd(session(False), target(cluster_model), Removal((0,), subject="osd.0")) == (
        f"osd.0 would be replaced on {BY_ID.format(1)}")
    assert gate_lines(capsys.readouterr().out) == [
        f"PLAN: would wait for a new OSD up and in on {BY_ID.format(1)} (up to 0.5s)",
        "PLAN: would wait for Ceph HEALTH_OK (up to 0.5s)"]
    assert fake.calls == []


def test_no_new_osd_stops_naming_rooks_zap_steps(fake, session, cluster_model, capsys):
    fake.hosts["worker-1"] = []
    state = Removal((0,), subject="osd.0", purged={0}, deployment_gone={0},
                    notes=[f"its disk: {BY_ID.format(1)} on worker-1"])
    with pytest.raises(RunbookStopped) as stopped:
        osd_replace.wait_new_osd(session(), target(cluster_model), state)
    assert str(stopped.value) == (
        f"osd.0: stopped at step 'wait for the new OSD': a new OSD up and in on {BY_ID.format(1)} did not happen "
        f"within 0.5s; its disk: {BY_ID.format(1)} on worker-1; {ZAP_HINT}; left in place: nothing")
    assert ZAP_HINT.startswith("the disk may still carry Ceph's label (siderolabs/talos#10797): zap it with Rook's "
                               "steps (sgdisk --zap-all, dd of zeros at its start, blkdiscard on an SSD, partprobe")
    assert f"waiting for a new OSD up and in on {BY_ID.format(1)}: no OSD on it yet (0s of 0.5s)" in said(
        capsys.readouterr().out)
    assert "ceph status" not in fake.names()


@pytest.mark.parametrize(("interrupted", "step"), [("osd tree", "wait for the new OSD"),
                                                    ("ceph status", "wait for HEALTH_OK")])
def test_an_interrupt_during_a_wait_stops_naming_it(fake, session, cluster_model, interrupted, step):
    fake.interrupting = interrupted
    state = Removal((0,), subject="osd.0", notes=[f"its disk: {BY_ID.format(1)} on worker-1"])
    with pytest.raises(RunbookStopped) as stopped:
        osd_replace.wait_new_osd(session(), target(cluster_model), state)
    assert str(stopped.value) == (f"osd.0: stopped at step '{step}': interrupted (Ctrl-C, Kernel > Interrupt or a "
                                  f"signal); its disk: {BY_ID.format(1)} on worker-1; left in place: nothing")


def test_health_that_never_comes_stops_without_the_zap(fake, session, cluster_model, capsys):
    fake.statuses = [status("HEALTH_WARN")]
    state = Removal((0,), subject="osd.0")
    with pytest.raises(RunbookStopped) as stopped:
        osd_replace.wait_new_osd(session(), target(cluster_model), state)
    assert str(stopped.value) == ("osd.0: stopped at step 'wait for HEALTH_OK': Ceph HEALTH_OK did not happen within "
                                  "0.5s; left in place: nothing")
    assert said(capsys.readouterr().out)[-1] == "waiting for Ceph HEALTH_OK: HEALTH_WARN (0s of 0.5s)"


# ---- replace: the whole of it, in order -------------------------------------------------------------------


def replace(session, t, *, failing=False, degraded=False) -> str:
    return osd_replace.replace(session, t, failing_disk=failing, accept_degraded=degraded)


def test_a_replacement_removes_wipes_brings_the_operator_back_and_waits(fake, session, cluster_model, capsys):
    one = session()
    assert replace(one, target(cluster_model)) == (f"osd.0 replaced: osd.0 is up and in on {BY_ID.format(1)} "
                                                   "(worker-1), Ceph HEALTH_OK")
    assert fake.calls == [
        ("read OSDs", (0,), "osd.0"),
        ("ceph status",), ("without osds", {0}, "osd.0"),
        ("remove OSDs", (0,), False, [f"its disk: {BY_ID.format(1)} on worker-1"]),
        ("osd tree",), ("osd dump",),  # nothing on the disk yet: wipe it
        ("wipe", "talosctl", "-n", "10.0.10.21", "wipe", "disk", "nvme0n1"),
        ("operator back",),
        ("osd tree",), ("osd dump",), ("osd metadata", 0),
        ("ceph status",),
    ]
    assert fake.given == [one, one, one]
    assert said(capsys.readouterr().out) == [
        ROOM_KEEPS, f"osd.0: host worker-1 (worker-1), disk {BY_ID.format(1)} (nvme0n1)",
        f"RUN: talosctl -n 10.0.10.21 wipe disk nvme0n1  # {WHY_WIPE}",
        f"waiting for a new OSD up and in on {BY_ID.format(1)} (up to 0.5s)"]


def test_an_accepted_degraded_pool_is_removed_without_safe_to_destroy(fake, session, cluster_model):
    fake.pools = SHORT
    replace(session(), target(cluster_model), degraded=True)
    assert ("remove OSDs", (0,), True, [f"its disk: {BY_ID.format(1)} on worker-1"]) in fake.calls


def test_a_plan_shows_the_wipe_and_the_waits_and_reads_no_disk_after_the_removal(fake, session, cluster_model, capsys):
    assert replace(session(False), target(cluster_model)) == f"osd.0 would be replaced on {BY_ID.format(1)}"
    assert fake.names() == ["read OSDs", "ceph status", "without osds", "remove OSDs", "operator back"]
    assert gate_lines(capsys.readouterr().out) == [
        f"PLAN: talosctl -n 10.0.10.21 wipe disk nvme0n1  # {WHY_WIPE}",
        f"PLAN: would wait for a new OSD up and in on {BY_ID.format(1)} (up to 0.5s)",
        "PLAN: would wait for Ceph HEALTH_OK (up to 0.5s)"]


def test_a_failing_disk_is_replaced_though_pgs_are_not_clean(fake, session, cluster_model, capsys):
    fake.statuses = [status("HEALTH_WARN", clean=False), status()]
    assert replace(session(), target(cluster_model), failing=True).startswith("osd.0 replaced: ")
    assert f"PGs not clean ({UNCLEAN}): going on because the disk is failing" in said(capsys.readouterr().out)
    assert "wipe" in fake.names()


def test_a_refusal_removes_nothing(fake, session, cluster_model):
    fake.statuses = [status("HEALTH_WARN", clean=False)]
    with pytest.raises(RunbookStopped, match=r"^osd.0: PGs are not clean"):
        replace(session(), target(cluster_model))
    assert fake.names() == ["read OSDs", "ceph status", "without osds"]


def test_a_rerun_after_the_purge_finishes_from_the_wipe(fake, session, cluster_model):
    fake.hosts["worker-1"] = []
    fake.osd_map.pop(0)
    fake.before = {"operator_stopped": True, "purged": {0}, "deployment_gone": {0}}
    assert replace(session(), target(cluster_model, exists=False)).startswith("osd.0 replaced: osd.0 is up and in")
    assert fake.names() == ["read OSDs", "remove OSDs", "osd tree", "osd dump", "wipe", "operator back", "osd tree",
                            "osd dump", "osd metadata", "ceph status"]


def test_a_disk_that_already_holds_a_new_osd_is_not_wiped_again(fake, session, cluster_model, capsys):
    fake.hosts["worker-1"] = [0, 3]  # Rook made osd.3 on the disk before the run that stopped
    fake.devices[3] = ("nvme0n1",)
    fake.osd_map[3] = "down"
    fake.later = [{}, {3: "up"}]
    fake.before = {"operator_stopped": True, "purged": {0}, "deployment_gone": {0}}
    assert replace(session(), target(cluster_model, exists=False)) == (
        f"osd.0 replaced: osd.3 is up and in on {BY_ID.format(1)} (worker-1), Ceph HEALTH_OK")
    assert "wipe" not in fake.names() and "operator back" in fake.names()
    assert f"{BY_ID.format(1)} already holds a new OSD: not wiping it" in said(capsys.readouterr().out)


def test_a_disk_that_cannot_be_read_before_the_wipe_stops_with_the_operator_at_zero(fake, session, cluster_model):
    fake.failing = {"osd dump"}
    with pytest.raises(RunbookStopped) as stopped:
        replace(session(), target(cluster_model))
    assert str(stopped.value) == (
        f"osd.0: stopped at step 'look for a new OSD on {BY_ID.format(1)}': {BROKEN}; its disk: {BY_ID.format(1)} on "
        f"worker-1; {rerun_hint()} to finish the removal; left in place: the Rook operator at 0 replicas")
    assert fake.names()[-1] == "osd dump" and "wipe" not in fake.names()


def test_a_failed_wipe_keeps_the_operator_at_zero_so_rook_cannot_start_the_old_osd(fake, session, cluster_model):
    fake.failing = {"wipe"}
    with pytest.raises(RunbookStopped) as stopped:
        replace(session(), target(cluster_model))
    assert str(stopped.value) == (
        f"osd.0: stopped at step 'wipe {BY_ID.format(1)}': {BROKEN}; its disk: {BY_ID.format(1)} on worker-1; "
        f"{rerun_hint()} to finish the removal; left in place: the Rook operator at 0 replicas")
    assert fake.names()[-1] == "wipe"


def test_no_new_osd_stops_after_the_operator_is_back(fake, session, cluster_model):
    fake.rook_makes = None
    with pytest.raises(RunbookStopped) as stopped:
        replace(session(), target(cluster_model))
    assert str(stopped.value) == (
        f"osd.0: stopped at step 'wait for the new OSD': a new OSD up and in on {BY_ID.format(1)} did not happen "
        f"within 0.5s; its disk: {BY_ID.format(1)} on worker-1; {BY_ID.format(1)} (nvme0n1) on worker-1 wiped; "
        f"{ZAP_HINT}; "
        "left in place: nothing")
    assert fake.names()[:8] == ["read OSDs", "ceph status", "without osds", "remove OSDs", "osd tree", "osd dump",
                                "wipe", "operator back"]


# ---- undo: the OSD back after a stop before its purge -----------------------------------------------------


def test_undo_gives_back_what_an_earlier_run_left(fake, session):
    fake.before = {"operator_stopped": True, "out": {0}, "stopped": {0}}
    one = session()
    assert osd_replace.undo(one, target_of(one)) == ("osd.0 is back: in, its Deployment at 1 replica, the Rook "
                                                     "operator running")
    assert fake.calls == [("read OSDs", (0,), "osd.0"), ("undo", (0,))] and fake.given == [one, one]
    assert osd_replace.undo(session(False), target_of(one)) == ("osd.0 would be back: in, its Deployment at 1 replica, "
                                                                "the Rook operator running")


def test_undo_with_nothing_left_changes_nothing(fake, session):
    assert osd_replace.undo(session(), target_of(session())) == "osd.0: nothing to undo"
    assert fake.names() == ["read OSDs"]


def target_of(session) -> Target:
    return Target(0, session.cluster.node("worker-1"), "worker-1", BY_ID.format(1), "nvme0n1", True)
