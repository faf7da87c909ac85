"""The one-node upgrade where it is easy to get wrong, against the in-memory cluster with faults: a node
an earlier run left out of service, an interrupt in each step, the lock held through a forced reboot,
nodes that report odd versions or boot IDs, and what a stop says of a node that rebooted."""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from homeops.tools.shapes import NodeStatus
from homeops.runner.outcome import RERUN_NOTEBOOK
from homeops.errors import RunbookStopped
from homeops.gate import Gate
from homeops.procedures import node_upgrade
from homeops.procedures.session import Session
from homeops.tools import process

from tests.runbooks import fake_faults
from tests.runbooks.conftest import API_REFUSED, TOOLBOX
from tests.runbooks.fake_faults import FaultyCluster

TARGET = "v1.11.1"
WORKERS = ["worker-1", "worker-2", "worker-3"]
CEPH = " ".join(TOOLBOX)
INTERRUPTED = "interrupted (Ctrl-C, Kernel > Interrupt or a signal)"
LEFT_OUT = f"; {RERUN_NOTEBOOK} to finish worker-1; left in place: worker-1 cordoned, noout set for host worker-1"
# A stop while the node may be rebooting says so, and what to look at by hand.
REBOOTING = ("; warning: worker-1 may still be rebooting: wait until `kubectl get node worker-1` shows it Ready before "
             "anything else; check by hand: `talosctl -n 10.0.10.21 get machinestatus`, `kubectl get node worker-1`, "
             "`kubectl -n rook-ceph exec deploy/rook-ceph-tools -- ceph status`")
# The gate is to start what it says (not PLAN lines) with the time of day; progress lines already do.
_CLOCK = re.compile(r"^(\d\d:\d\d:\d\d )+")


@dataclass
class UpgradeCluster(FaultyCluster):
    """The in-memory cluster with faults, plus what nodes do around an upgrade's reboot."""

    # talosctl gives up (its wait times out) while the node reboots; the node comes back Ready anyway.
    back_after_talosctl_gave_up: set[str] = field(default_factory=set)
    looks_until_ready: dict[str, int] = field(default_factory=dict)  # reads of the node, after its upgrade, that see it not Ready yet
    interrupt_once_upgraded: bool = False  # Ctrl-C at the first command after a `talosctl upgrade` returned
    node_list_reads: int | None = None  # how many reads of the node list answer before the API goes away
    uuid_boot_ids: bool = False  # boot IDs as the kubelet reports them (a UUID), not `boot-N`
    no_boot_id: set[str] = field(default_factory=set)  # nodes whose status reports no bootID
    os_images: dict[str, str] = field(default_factory=dict)  # node -> osImage reported instead of Talos's

    def run(self, argv, *, timeout, input=None, check=True, **follow):
        if self.interrupt_once_upgraded and any(c[3:4] == ["upgrade"] for c in self.calls):
            self.calls.append(list(map(str, argv)))
            raise KeyboardInterrupt
        return super().run(argv, timeout=timeout, input=input, check=check, **follow)

    def _talosctl(self, args: list[str]) -> tuple[int, str, str]:
        node = next((n for n in self.nodes.values() if n.address == args[1]), None)
        if args[2:3] == ["upgrade"] and node.name in self.back_after_talosctl_gave_up:
            node.boot += 1
            return 1, "", f"1 error occurred:\n\t* {node.address}: context deadline exceeded\n"
        answer = super()._talosctl(args)
        if args[2:3] == ["upgrade"] and node.name in self.looks_until_ready and not answer[0]:
            node.ready = "Unknown"
        return answer

    def _kubectl(self, args: list[str]) -> tuple[int, str, str]:
        if args == ["get", "nodes", "-o", "json"] and self.node_list_reads is not None:
            if not self.node_list_reads:
                return 1, "", API_REFUSED
            self.node_list_reads -= 1
        if args[:2] == ["get", "node"] and args[2] in self.looks_until_ready and self.nodes[args[2]].ready != "True":
            self.looks_until_ready[args[2]] -= 1
            if not self.looks_until_ready[args[2]]:
                self.nodes[args[2]].ready = "True"
        code, out, err = super()._kubectl(args)
        if code or args[:1] != ["get"] or not args[1].startswith("node"):
            return code, out, err
        answer = json.loads(out)
        for item in answer.get("items", [answer]):
            self._report(item)
        return code, json.dumps(answer), err

    def _report(self, item: dict) -> None:
        name, info = item["metadata"]["name"], item["status"]["nodeInfo"]
        if self.uuid_boot_ids:
            info["bootID"] = f"{0xb0070000 + self.nodes[name].boot:08x}-7d1e-4c2a-9f3b-5e6a8c0d2f14"
        if name in self.no_boot_id:
            del info["bootID"]
        if name in self.os_images:
            info["osImage"] = self.os_images[name]


@pytest.fixture
def fake(monkeypatch, cluster_model) -> UpgradeCluster:
    cluster = fake_faults.make(UpgradeCluster, cluster_model)
    monkeypatch.setattr(process, "run", cluster.run)
    return cluster


def worker(session, name="worker-1"):
    return session.cluster.node(name)


def said(out: str) -> list[str]:
    """Every line printed, without the time of day it may start with."""
    return [_CLOCK.sub("", line) for line in out.splitlines()]


def stopped(call, *args, **kwargs) -> str:
    with pytest.raises(RunbookStopped) as caught:
        call(*args, **kwargs)
    return str(caught.value)


def left_out_by_an_earlier_run(fake, name: str) -> None:
    """`name` rebooted into the target, but the run stopped before it was returned to service."""
    node = fake.nodes[name]
    node.talos, node.boot, node.unschedulable = TARGET, 2, True
    fake.host_flags[name] = {"noout"}


# A node an earlier run left out of service, already on the target.

def test_a_node_left_out_on_the_target_is_returned_to_service_without_a_reboot(fake, session_for, capsys):
    left_out_by_an_earlier_run(fake, "worker-1")
    session = session_for(apply=True)

    assert node_upgrade.upgrade_node(session, worker(session), TARGET) is False

    lines = said(capsys.readouterr().out)
    assert lines[0] == ("worker-1: already runs Talos v1.11.1 but is still out of service (worker-1 cordoned, "
                        "noout set for host worker-1): returning it to service")
    assert lines[-1] == "worker-1: back in service"
    assert fake.changed() == ["kubectl uncordon worker-1", "ceph osd unset-group noout worker-1"]
    node = fake.nodes["worker-1"]
    assert (node.talos, node.boot, node.unschedulable) == (TARGET, 2, False)
    assert fake.host_flags["worker-1"] == set()


def test_a_node_left_only_flagged_on_the_target_is_named_with_just_its_flag(fake, session_for, capsys):
    left_out_by_an_earlier_run(fake, "worker-1")
    fake.nodes["worker-1"].unschedulable = False  # uncordoned by hand; the flag is still set
    session = session_for(apply=True)

    node_upgrade.upgrade_node(session, worker(session), TARGET)

    assert said(capsys.readouterr().out)[0] == ("worker-1: already runs Talos v1.11.1 but is still out of service "
                                                "(noout set for host worker-1): returning it to service")
    assert fake.host_flags["worker-1"] == set() and not fake.nodes["worker-1"].unschedulable


def test_plan_for_a_node_left_out_on_the_target_shows_its_return_and_changes_nothing(fake, session_for, capsys):
    left_out_by_an_earlier_run(fake, "worker-1")
    session = session_for(apply=False)

    assert node_upgrade.upgrade_node(session, worker(session), TARGET) is False

    lines = said(capsys.readouterr().out)
    assert [line.split("  # ")[0] for line in lines if line.startswith("PLAN: ")] == [
        "PLAN: kubectl uncordon worker-1",
        "PLAN: would wait for every Ceph PG active+clean (up to 0.5s)",
        f"PLAN: {CEPH} osd unset-group noout worker-1",
    ]
    assert lines[-1] == "worker-1: planned"
    assert fake.changes() == []
    assert fake.nodes["worker-1"].unschedulable and fake.host_flags["worker-1"] == {"noout"}


def test_a_node_left_out_is_finished_before_any_other_node_is_touched(fake, session_for, capsys):
    left_out_by_an_earlier_run(fake, "worker-3")
    session = session_for(apply=True)

    assert node_upgrade.upgrade_nodes(session, session.cluster.workers, TARGET) == ["worker-1", "worker-2"]

    changed = fake.changed()
    assert changed[:2] == ["kubectl uncordon worker-3", "ceph osd unset-group noout worker-3"]
    assert [c.split()[-1] for c in changed if c.startswith("kubectl cordon")] == ["worker-1", "worker-2"]
    assert {name: (n.talos, n.boot, n.unschedulable) for name, n in fake.nodes.items() if n.role == "worker"} == {
        "worker-1": (TARGET, 2, False), "worker-2": (TARGET, 2, False), "worker-3": (TARGET, 2, False)}
    assert all(flags == set() for flags in fake.host_flags.values())


def test_nodes_go_in_the_order_given_when_the_node_list_cannot_be_read_again(fake, session_for):
    fake.node_list_reads = 1  # the upgrade path's check reads it; then the API goes away for lists
    session = session_for(apply=True)

    assert node_upgrade.upgrade_nodes(session, session.cluster.workers, TARGET) == WORKERS

    assert [c.split()[-1] for c in fake.changed() if c.startswith("kubectl cordon")] == WORKERS
    assert {n.talos for n in fake.nodes.values() if n.role == "worker"} == {TARGET}


# Interrupts: a stop that names the step the upgrade was in, leaving the node as it is.

def test_an_interrupt_during_talosctl_upgrade_names_that_step_and_leaves_the_node_out(fake, session_for):
    fake.interrupted.add("talosctl -n 10.0.10.21 upgrade")
    session = session_for(apply=True)

    message = stopped(node_upgrade.upgrade_node, session, worker(session), TARGET)

    sent = f"talosctl -n 10.0.10.21 upgrade -i {session.cluster.installer_image(TARGET)} --timeout 0.5s"
    assert message == f"worker-1: stopped at step 'talosctl upgrade': {INTERRUPTED} before `{sent}` answered{REBOOTING}{LEFT_OUT}"
    assert fake.nodes["worker-1"].unschedulable and fake.host_flags["worker-1"] == {"noout"}


def test_an_interrupt_while_waiting_for_the_node_names_the_wait_and_leaves_the_node_out(fake, session_for):
    fake.interrupt_once_upgraded = True
    session = session_for(apply=True)

    message = stopped(node_upgrade.upgrade_node, session, worker(session), TARGET)

    assert message == f"worker-1: stopped at step 'wait for Ready': {INTERRUPTED}{REBOOTING}{LEFT_OUT}"
    node = fake.nodes["worker-1"]
    assert (node.talos, node.boot, node.unschedulable) == (TARGET, 2, True)
    assert fake.host_flags["worker-1"] == {"noout"}


def test_the_wait_for_the_node_says_what_it_sees(fake, session_for, capsys):
    fake.looks_until_ready["worker-1"] = 3
    session = session_for(apply=True)

    assert node_upgrade.upgrade_node(session, worker(session), TARGET) is True

    progress = [line for line in said(capsys.readouterr().out) if line.startswith("waiting for worker-1 Ready")]
    assert len(progress) == 2, progress
    assert progress[0] == "waiting for worker-1 Ready with a new boot ID and Talos v1.11.1 (up to 0.5s)"
    # What the look saw, not a bare "not yet": the node as Kubernetes shows it while it reboots.
    assert re.fullmatch(r"waiting for worker-1 Ready with a new boot ID and Talos v1\.11\.1: "
                        r"worker-1 NotReady \(Ready=Unknown\): rebooting \(\d+s of 0\.5s\)", progress[1]), progress[1]
    node = fake.nodes["worker-1"]
    assert (node.ready, node.talos, node.unschedulable) == ("True", TARGET, False)


# --force on a 2-member etcd: the maintenance lock must outlast the reboot.

@dataclass
class LockCover:
    """Stands in for the run's guard: records each extension of the lock and the commands run under it."""

    calls: list[list[str]]
    covers: list[tuple[float, str, list[list[str]]]] = field(default_factory=list)

    @contextmanager
    def covering(self, seconds: float, what: str):
        start = len(self.calls)
        try:
            yield
        finally:
            self.covers.append((seconds, what, self.calls[start:]))


def guarded_session(cluster_model, guard: LockCover) -> Session:
    return Session(cluster_model, Gate(True), wait_timeout=0.5, poll_interval=0.01, guard=guard)


def test_a_forced_upgrade_holds_the_lock_through_the_reboot_and_the_wait(fake, cluster_model):
    guard = LockCover(fake.calls)
    session = guarded_session(cluster_model, guard)

    node_upgrade.upgrade_node(session, worker(session), TARGET, force=True)

    [(seconds, what, covered)] = guard.covers
    assert (seconds, what) == (2 * 0.5 + 60, "worker-1: the Talos upgrade and the wait for the node")
    assert covered[0][:4] == ["talosctl", "-n", "10.0.10.21", "upgrade"] and covered[0][-1] == "--force"
    assert ["kubectl", "get", "node", "worker-1", "-o", "json"] in covered  # the wait for Ready
    assert not any("uncordon" in c for c in covered)  # the return to service is no longer covered
    assert fake.nodes["worker-1"].talos == TARGET and not fake.nodes["worker-1"].unschedulable


def test_an_upgrade_without_force_does_not_extend_the_lock(fake, cluster_model):
    guard = LockCover(fake.calls)
    session = guarded_session(cluster_model, guard)

    node_upgrade.upgrade_node(session, worker(session), TARGET)

    assert guard.covers == []
    assert fake.nodes["worker-1"].talos == TARGET


# What nodes report: versions the path check cannot read, boot IDs as the kubelet spells them.

def test_a_node_that_does_not_run_talos_stops_the_path_check_naming_its_image(fake, session_for):
    fake.os_images["worker-2"] = "Debian GNU/Linux 12 (bookworm)"
    session = session_for(apply=True)

    message = stopped(node_upgrade.upgrade_nodes, session, session.cluster.workers, TARGET)

    assert message == ("worker-2 does not report a Talos version (OS image 'Debian GNU/Linux 12 (bookworm)'); "
                       "nothing changed")
    assert fake.changes() == []


@pytest.mark.parametrize(("talos", "kubelet", "refusal"), [
    ("v1.11", "v1.34.1", "worker-2's Talos version 'v1.11' is not a version"),
    ("v1.11.0", "v1.34", "worker-2's kubelet version 'v1.34' is not a version"),
], ids=["talos", "kubelet"])
def test_a_version_a_node_reports_that_is_not_one_is_refused_naming_the_node(fake, session_for, talos, kubelet,
                                                                           refusal):
    fake.nodes["worker-2"].talos, fake.nodes["worker-2"].kubelet = talos, kubelet
    session = session_for(apply=True)

    message = stopped(node_upgrade.upgrade_nodes, session, session.cluster.workers, TARGET)

    assert message == f"{refusal} of the form vMAJOR.MINOR.PATCH; nothing changed"
    assert fake.changes() == []


def test_a_stop_shows_the_first_8_characters_of_the_boot_id(fake, session_for):
    fake.uuid_boot_ids = True
    fake.never_back.add("worker-1")
    session = session_for(apply=True)

    message = stopped(node_upgrade.upgrade_node, session, worker(session), TARGET)

    assert "; now Ready=Unknown, Talos v1.11.1, boot ID b0070002;" in message
    assert message.endswith(LEFT_OUT)


def test_a_stop_shows_a_missing_boot_id_as_a_question_mark(fake, session_for):
    fake.never_back.add("worker-1")
    fake.no_boot_id.add("worker-1")
    session = session_for(apply=True)

    with pytest.raises(RunbookStopped) as caught:
        node_upgrade.upgrade_node(session, worker(session), TARGET)

    assert "; now Ready=Unknown, Talos v1.11.1, boot ID ?;" in str(caught.value)


# talosctl gave up while the node rebooted: it is back, but on a new boot, and Ceph may still be degraded.

def test_a_node_back_on_a_new_boot_after_talosctl_gave_up_stays_out_and_the_stop_says_it_is_back(fake, session_for):
    fake.back_after_talosctl_gave_up.add("worker-1")
    session = session_for(apply=True)

    message = stopped(node_upgrade.upgrade_node, session, worker(session), TARGET)

    assert message.startswith("worker-1: stopped at step 'talosctl upgrade': ")
    assert "context deadline exceeded" in message
    assert message.endswith("; now Ready=True, Talos v1.11.0, boot ID boot-2"
                            " (the node rebooted and is Ready again: it stays out of service)" + LEFT_OUT)
    node = fake.nodes["worker-1"]
    assert (node.ready, node.boot, node.unschedulable) == ("True", 2, True)
    assert fake.host_flags["worker-1"] == {"noout"}


# What the watch says while talosctl is silent: the node as Kubernetes shows it.

def status(ready: str = "True", boot: str = "boot-1", talos: str = "v1.11.0") -> NodeStatus:
    return NodeStatus("worker-1", "worker", ready, True, "10.0.10.21", "v1.34.1", f"Talos ({talos})", talos, boot)


def test_the_watch_tells_a_node_still_up_from_one_rebooting_and_one_back():
    before = status()

    assert node_upgrade.node_seen("worker-1", before, status()) == (
        "worker-1 Ready on its old boot, Talos v1.11.0: installing, not rebooted yet")
    assert node_upgrade.node_seen("worker-1", before, status(ready="Unknown")) == (
        "worker-1 NotReady (Ready=Unknown): rebooting")
    assert node_upgrade.node_seen("worker-1", before, status(boot="boot-2", talos=TARGET)) == (
        "worker-1 Ready on a new boot, Talos v1.11.1")


def test_the_watch_reads_the_node_itself_and_says_when_the_api_does_not_answer(fake):
    fake.api_down = True

    seen = node_upgrade.node_seen("worker-1", status())

    assert seen.startswith("worker-1: the Kubernetes API does not answer (`kubectl get node worker-1")
    assert [c for c in fake.calls if c[:3] == ["kubectl", "get", "node"]], "it looked"


def test_a_lost_lock_refusing_the_upgrade_does_not_warn_of_a_reboot_that_never_began(fake, cluster_model):
    def guard(command: str) -> None:
        if " upgrade " in command:
            raise RunbookStopped(f"lost the maintenance lock; stopped before {command}")

    session = Session(cluster_model, Gate(True, before_change=guard), wait_timeout=0.5, poll_interval=0.01)

    with pytest.raises(RunbookStopped) as caught:
        node_upgrade.upgrade_node(session, worker(session), TARGET)

    assert str(caught.value).startswith("lost the maintenance lock; stopped before talosctl -n 10.0.10.21 upgrade ")
    assert "may still be rebooting" not in str(caught.value)
    assert fake.nodes["worker-1"].boot == 1
