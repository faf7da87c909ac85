"""Taking one node out of service and back, step by step, against the in-memory cluster: the exact
changes (and why each is made), what a refusal, a failure or an interrupt leaves and says, and how
the maintenance stays protected once Rook's disruption controller lets go of the host's noout."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field

import pytest

from homeops.runner.outcome import RERUN_NOTEBOOK
from homeops.errors import RunbookStopped
from homeops.procedures import node_maintenance
from homeops.procedures.node_maintenance import InPlace
from homeops.tools import process

from tests.runbooks import fake_faults
from tests.runbooks.conftest import API_REFUSED, PDB_REFUSAL, TOOLBOX
from tests.runbooks.fake_faults import FaultyCluster
from tests.said import gate_lines, said

CEPH = " ".join(TOOLBOX)
RADOS_TIMEOUT = "[errno 110] RADOS timed out (error connecting to the cluster)\n"
INTERRUPTED = "interrupted (Ctrl-C, Kernel > Interrupt or a signal)"
AGAIN = f"; {RERUN_NOTEBOOK} to finish worker-1"
DRAIN = "kubectl drain worker-1 --ignore-daemonsets --delete-emptydir-data --timeout=0.5s"
ROOK_LET_GO = ("warning: Rook's disruption controller cleared noout on host worker-1 while its OSDs are down "
               "(its osdMaintenanceTimeout passed); setting the cluster-wide noout until the node is back")
# What a look at Ceph saw while it recovers: how many PGs are not clean, of how many, in which states.
PROGRESS = re.compile(r"^waiting for every Ceph PG active\+clean: 64 of 64 PGs not active\+clean "
                      r"\(64 active\+undersized\+degraded\) \(\d+s of 0\.5s\)$")


@dataclass
class AwayCluster(FaultyCluster):
    """The in-memory cluster with faults, plus a node whose OSDs are down while it is away, the pods
    that say where Rook runs each OSD, and Rook's disruption controller."""

    down: set[int] = field(default_factory=set)  # OSDs `ceph osd tree` reports down
    unclean_looks: int = 0  # `ceph status` reads that still see degraded PGs (the node's OSDs down)
    rook_lets_go: bool = False  # osdMaintenanceTimeout has passed: Rook clears noout on a host whose OSDs are down

    def away(self, name: str, *, looks: int) -> None:
        """`name` went down (a reboot): its OSDs are down and PGs degraded for `looks` reads of the status."""
        self.down = set(self.osds[name])
        self.unclean_looks = looks

    def _kubectl(self, args: list[str]) -> tuple[int, str, str]:
        if args[:5] == ["-n", "rook-ceph", "get", "pods", "-l"]:
            return 0, json.dumps({"items": self._osd_pods()}), ""
        return super()._kubectl(args)

    def _osd_pods(self) -> list[dict]:
        """Rook's `rook-ceph-osd` pods: each OSD pinned to its node, which here names its CRUSH host."""
        return [{"metadata": {"labels": {"app": "rook-ceph-osd", "ceph-osd-id": str(i),
                                         "topology-location-host": host}},
                 "spec": {"nodeName": host}} for host, ids in self.osds.items() for i in ids]

    def _ceph(self, args: list[str]) -> tuple[int, str, str]:
        if args == ["status", "-f", "json"]:
            self.pgs_clean = not self.unclean_looks
            if self.unclean_looks:
                self.unclean_looks -= 1
            else:
                self.down.clear()  # the node is back: its OSDs are up and Ceph recovered
        if args == ["osd", "tree", "-f", "json"]:
            hosts = [{"id": -2 - i, "name": h, "type": "host", "children": ids}
                     for i, (h, ids) in enumerate(self.osds.items())]
            osds = [{"id": i, "name": f"osd.{i}", "type": "osd", "status": "down" if i in self.down else "up"}
                    for ids in self.osds.values() for i in ids]
            return 0, json.dumps({"nodes": hosts + osds, "stray": []}), ""
        if args == ["osd", "dump", "-f", "json"] and self.rook_lets_go:
            for host, ids in self.osds.items():
                if self.down & set(ids):
                    self.host_flags.get(host, set()).discard("noout")
        return super()._ceph(args)


@pytest.fixture
def fake(monkeypatch, cluster_model) -> AwayCluster:
    cluster = fake_faults.make(AwayCluster, cluster_model)
    monkeypatch.setattr(process, "run", cluster.run)
    return cluster


def node(session, name="worker-1"):
    return session.cluster.node(name)


def stopped(call, *args, **kwargs) -> str:
    with pytest.raises(RunbookStopped) as caught:
        call(*args, **kwargs)
    return str(caught.value)


def out_of_service(fake, session, name="worker-1") -> InPlace:
    state = node_maintenance.take_out_of_service(session, node(session, name), purpose="maintenance")
    fake.calls.clear()
    return state


# Out of service: ok-to-stop, noout for the host, cordon, drain.

def test_a_node_goes_out_with_its_host_flagged_then_cordoned_then_drained_each_saying_why(fake, session_for, capsys):
    fake.osds["worker-1"] = [0, 3]
    session = session_for(apply=True)

    state = node_maintenance.take_out_of_service(session, node(session), purpose="a new disk")

    out = capsys.readouterr().out
    assert "ceph osd ok-to-stop 0 3: yes" in said(out)
    assert gate_lines(out) == [
        f"RUN: {CEPH} osd set-group noout worker-1  # keep Ceph from rebalancing while worker-1 is away",
        "RUN: kubectl cordon worker-1  # no new pods on worker-1 (a new disk)",
        f"RUN: {DRAIN}  # move its pods elsewhere",
    ]
    assert state == InPlace("worker-1", osds=(0, 3), crush_hosts=("worker-1",), cordoned=True, noout=True, step="drain")
    assert fake.nodes["worker-1"].unschedulable and fake.host_flags["worker-1"] == {"noout"}


def test_a_node_without_osds_is_cordoned_and_drained_with_no_ceph_flag(fake, session_for, capsys):
    session = session_for(apply=True)

    state = node_maintenance.take_out_of_service(session, node(session, "cp-1"), purpose="maintenance")

    assert "cp-1 holds no OSD: no Ceph flag needed" in said(capsys.readouterr().out)
    assert fake.changed() == ["kubectl cordon cp-1",
                             "kubectl drain cp-1 --ignore-daemonsets --delete-emptydir-data --timeout=0.5s"]
    assert not any("ok-to-stop" in c for c in fake.calls)
    assert (state.osds, state.cordoned, state.noout) == ((), True, False)


def test_a_node_whose_osds_ceph_says_are_not_ok_to_stop_is_left_untouched_and_the_stop_names_the_osds(
        fake, session_for, capsys):
    fake.osds["worker-1"] = [0, 3]
    fake.ok_to_stop_refused.add("worker-1")
    session = session_for(apply=True)

    message = stopped(node_maintenance.take_out_of_service, session, node(session), purpose="maintenance")

    assert message == ("worker-1: stopped at step 'ceph osd ok-to-stop': Ceph says stopping OSD(s) 0, 3 is not safe: "
                       "Error EBUSY: unsafe to stop osd(s) at this time (12 PGs are or would become offline); "
                       "left in place: nothing")
    assert "ceph osd ok-to-stop 0 3: no" in said(capsys.readouterr().out)
    assert fake.changed() == []


def test_an_ok_to_stop_that_hangs_stops_before_any_change(fake, session_for):
    fake.hung.add("ceph osd ok-to-stop")
    session = session_for(apply=True)

    message = stopped(node_maintenance.take_out_of_service, session, node(session), purpose="maintenance")

    assert message == (f"worker-1: stopped at step 'ceph osd ok-to-stop': `{CEPH} osd ok-to-stop 0 -f json` "
                       "did not finish within 30s; left in place: nothing")
    assert fake.changed() == []


def test_osds_that_cannot_be_read_stop_before_any_change(fake, session_for):
    fake.hung.add("ceph osd tree")
    session = session_for(apply=True)

    message = stopped(node_maintenance.take_out_of_service, session, node(session), purpose="maintenance")

    assert message == (f"worker-1: stopped at step 'read the OSDs of the host': `{CEPH} osd tree -f json` "
                       "did not finish within 30s; left in place: nothing")
    assert fake.changed() == []


def test_a_host_flag_ceph_refuses_stops_before_the_cordon(fake, session_for):
    fake.failing["ceph osd set-group"] = RADOS_TIMEOUT
    session = session_for(apply=True)

    message = stopped(node_maintenance.take_out_of_service, session, node(session), purpose="maintenance")

    assert message == (f"worker-1: stopped at step 'set noout for the host': `{CEPH} osd set-group noout worker-1` "
                       f"exited 1: {RADOS_TIMEOUT.strip()}; left in place: nothing")
    assert fake.changed() == ["ceph osd set-group noout worker-1"]
    assert not fake.nodes["worker-1"].unschedulable


def test_a_refused_cordon_clears_the_host_flag_again_and_says_so(fake, session_for, capsys):
    fake.failing["kubectl cordon"] = API_REFUSED
    session = session_for(apply=True)

    message = stopped(node_maintenance.take_out_of_service, session, node(session), purpose="maintenance")

    assert message == ("worker-1: stopped at step 'cordon': `kubectl cordon worker-1` exited 1: "
                       f"{API_REFUSED.strip()}; undone: noout cleared for host worker-1; left in place: nothing")
    assert gate_lines(capsys.readouterr().out)[-1] == (
        f"RUN: {CEPH} osd unset-group noout worker-1  # the node was not disrupted")
    assert fake.changed()[-1] == "ceph osd unset-group noout worker-1"
    assert fake.host_flags["worker-1"] == set()


def test_a_refused_drain_whose_uncordon_fails_too_stays_cordoned_and_names_both_failures(fake, session_for, capsys):
    fake.drain_refused.add("worker-1")
    fake.failing["kubectl uncordon"] = API_REFUSED
    session = session_for(apply=True)

    message = stopped(node_maintenance.take_out_of_service, session, node(session), purpose="maintenance")

    assert message == ("worker-1: stopped at step 'drain': "
                       f"`{DRAIN}` exited 1: error: global timeout reached: 1s"
                       f"; uncordon failed too: `kubectl uncordon worker-1` exited 1: {API_REFUSED.strip()}"
                       f"; undone: noout cleared for host worker-1{AGAIN}; left in place: worker-1 cordoned")
    assert "RUN: kubectl uncordon worker-1  # the node was not disrupted: give it back" in gate_lines(
        capsys.readouterr().out)
    assert fake.nodes["worker-1"].unschedulable and fake.host_flags["worker-1"] == set()


def test_a_refused_drain_whose_flag_cannot_be_cleared_keeps_the_flag_and_names_it(fake, session_for):
    fake.drain_refused.add("worker-1")
    fake.failing["ceph osd unset-group"] = RADOS_TIMEOUT
    session = session_for(apply=True)

    message = stopped(node_maintenance.take_out_of_service, session, node(session), purpose="maintenance")

    assert message.endswith(f"; undone: worker-1 uncordoned; clearing noout failed too: `{CEPH} osd unset-group noout "
                            f"worker-1` exited 1: {RADOS_TIMEOUT.strip()}{AGAIN}"
                            "; left in place: noout set for host worker-1")
    assert not fake.nodes["worker-1"].unschedulable and fake.host_flags["worker-1"] == {"noout"}
    assert PDB_REFUSAL.splitlines()[-1] in message


def test_restore_gives_a_node_that_was_not_disrupted_back_and_records_what_it_undid(fake, session_for):
    session = session_for(apply=True)
    state = out_of_service(fake, session)

    node_maintenance.restore(session, state)

    assert state == InPlace("worker-1", osds=(0,), crush_hosts=("worker-1",), cordoned=False, noout=False, step="drain",
                            notes=["undone: worker-1 uncordoned", "undone: noout cleared for host worker-1"])
    assert fake.changed() == ["kubectl uncordon worker-1", "ceph osd unset-group noout worker-1"]


# Back in service: uncordon, PGs active+clean, clear the flag.

def test_a_node_comes_back_uncordoned_then_waits_for_clean_pgs_then_clears_its_host_flag(fake, session_for, capsys):
    session = session_for(apply=True)
    state = out_of_service(fake, session)
    fake.away("worker-1", looks=2)
    capsys.readouterr()

    node_maintenance.return_to_service(session, node(session), state)

    out = capsys.readouterr().out
    assert gate_lines(out) == [
        "RUN: kubectl uncordon worker-1  # the node is back",
        f"RUN: {CEPH} osd unset-group noout worker-1  # Ceph is clean again",
    ]
    assert "waiting for every Ceph PG active+clean (up to 0.5s)" in said(out)
    assert any(PROGRESS.match(line) for line in said(out)), out
    assert state == InPlace("worker-1", osds=(0,), crush_hosts=("worker-1",), step="clear noout for the host")
    assert not fake.nodes["worker-1"].unschedulable
    assert fake.host_flags["worker-1"] == set() and fake.flags == set()
    assert not fake.unclean_looks  # it waited through both degraded looks


def test_a_node_without_osds_still_waits_for_clean_pgs_and_asks_nothing_about_its_osds(fake, session_for, capsys):
    session = session_for(apply=True)
    state = out_of_service(fake, session, "cp-1")
    fake.unclean_looks = 1  # its reboot took a monitor away for a moment

    node_maintenance.return_to_service(session, node(session, "cp-1"), state)

    assert fake.changed() == ["kubectl uncordon cp-1"]
    assert [c for c in fake.calls if c[len(TOOLBOX):len(TOOLBOX) + 1] == ["status"]]
    assert not any(c[len(TOOLBOX):len(TOOLBOX) + 2] in (["osd", "dump"], ["osd", "tree"]) for c in fake.calls)
    assert not fake.unclean_looks
    assert "waiting for every Ceph PG active+clean (up to 0.5s)" in capsys.readouterr().out


def test_plan_describes_the_wait_and_the_changes_without_making_them(fake, session_for, capsys):
    session = session_for(apply=False)
    state = InPlace("worker-1", osds=(0,), crush_hosts=("worker-1",), cordoned=True, noout=True, cluster_noout=True)

    node_maintenance.return_to_service(session, node(session), state)

    assert gate_lines(capsys.readouterr().out) == [
        "PLAN: kubectl uncordon worker-1  # the node is back",
        "PLAN: would wait for every Ceph PG active+clean (up to 0.5s)",
        f"PLAN: {CEPH} osd unset-group noout worker-1  # Ceph is clean again",
        f"PLAN: {CEPH} osd unset noout  # worker-1 is back and Ceph is clean again",
    ]
    assert fake.calls == []


def test_an_uncordon_that_fails_on_the_way_back_leaves_the_node_out_and_the_flag_set(fake, session_for):
    session = session_for(apply=True)
    state = out_of_service(fake, session)
    fake.failing["kubectl uncordon"] = API_REFUSED

    message = stopped(node_maintenance.return_to_service, session, node(session), state)

    assert message == ("worker-1: stopped at step 'uncordon': `kubectl uncordon worker-1` exited 1: "
                       f"{API_REFUSED.strip()}"
                       f"{AGAIN}; left in place: worker-1 cordoned, noout set for host worker-1")
    assert fake.changed() == ["kubectl uncordon worker-1"]  # no wait, no flag cleared
    assert fake.host_flags["worker-1"] == {"noout"}


def test_a_host_flag_that_cannot_be_cleared_at_the_end_is_named(fake, session_for):
    session = session_for(apply=True)
    state = out_of_service(fake, session)
    fake.failing["ceph osd unset-group"] = RADOS_TIMEOUT

    message = stopped(node_maintenance.return_to_service, session, node(session), state)

    assert message == (f"worker-1: stopped at step 'clear noout for the host': `{CEPH} osd unset-group noout worker-1` "
                       f"exited 1: {RADOS_TIMEOUT.strip()}{AGAIN}; left in place: noout set for host worker-1")
    assert not fake.nodes["worker-1"].unschedulable and fake.host_flags["worker-1"] == {"noout"}


def test_pgs_that_cannot_be_read_stop_the_wait_with_the_last_error_and_no_pg_detail(fake, session_for):
    session = session_for(apply=True)
    state = out_of_service(fake, session)
    fake.hung.add("ceph status")

    message = stopped(node_maintenance.return_to_service, session, node(session), state)

    assert message == ("worker-1: stopped at step 'wait for PGs active+clean': "
                       "every Ceph PG active+clean did not happen "
                       f"within 0.5s (last error: `{CEPH} status -f json` did not finish within 30s)"
                       f"{AGAIN}; left in place: noout set for host worker-1")


def test_a_wait_that_cannot_check_the_flags_stops_even_when_the_pgs_are_clean_and_says_they_are(fake, session_for):
    session = session_for(apply=True)
    state = out_of_service(fake, session)
    fake.failing["ceph osd dump"] = RADOS_TIMEOUT  # what keeps the down OSDs protected cannot be checked

    message = stopped(node_maintenance.return_to_service, session, node(session), state)

    assert message == ("worker-1: stopped at step 'wait for PGs active+clean': "
                       "every Ceph PG active+clean did not happen "
                       f"within 0.5s (last error: `{CEPH} osd dump -f json` exited 1: {RADOS_TIMEOUT.strip()})"
                       f"; PGs now: clean{AGAIN}; left in place: noout set for host worker-1")
    assert fake.host_flags["worker-1"] == {"noout"}


# Rook's disruption controller clears the host's noout after osdMaintenanceTimeout (30 min): the
# cluster-wide flag, which is not Rook's, takes over until the node is back.

def test_when_rook_clears_its_noout_while_the_osds_are_down_the_cluster_wide_flag_is_set_and_the_warning_says_why(
        fake, session_for, capsys):
    session = session_for(apply=True)
    state = out_of_service(fake, session)
    fake.away("worker-1", looks=3)
    fake.rook_lets_go = True
    capsys.readouterr()

    node_maintenance.return_to_service(session, node(session), state)

    out = capsys.readouterr().out
    assert ROOK_LET_GO in said(out)
    assert gate_lines(out) == [
        "RUN: kubectl uncordon worker-1  # the node is back",
        f"RUN: {CEPH} osd set noout  # keep Ceph from marking worker-1's OSDs out",
        f"RUN: {CEPH} osd unset noout  # worker-1 is back and Ceph is clean again",
    ]
    assert out.count("warning: ") == 1  # set once, not at every look
    assert state == InPlace("worker-1", osds=(0,), crush_hosts=("worker-1",), step="clear the cluster-wide noout")
    assert fake.flags == set() and fake.host_flags["worker-1"] == set()


def test_pgs_that_stay_degraded_after_rook_let_go_leave_the_cluster_wide_flag_and_name_it(fake, session_for, capsys):
    session = session_for(apply=True)
    state = out_of_service(fake, session)
    fake.away("worker-1", looks=10**6)
    fake.rook_lets_go = True

    message = stopped(node_maintenance.return_to_service, session, node(session), state)

    assert message == ("worker-1: stopped at step 'wait for PGs active+clean': "
                       "every Ceph PG active+clean did not happen "
                       "within 0.5s; PGs now: 64 active+undersized+degraded"
                       f"{AGAIN}; left in place: noout set for the whole cluster")
    assert fake.flags == {"noout"} and fake.host_flags["worker-1"] == set()
    assert ROOK_LET_GO in said(capsys.readouterr().out)


def test_a_cluster_wide_flag_that_cannot_be_cleared_at_the_end_is_named(fake, session_for):
    session = session_for(apply=True)
    state = out_of_service(fake, session)
    fake.away("worker-1", looks=1)
    fake.rook_lets_go = True
    fake.failing["ceph osd unset noout"] = RADOS_TIMEOUT

    message = stopped(node_maintenance.return_to_service, session, node(session), state)

    assert message == (f"worker-1: stopped at step 'clear the cluster-wide noout': `{CEPH} osd unset noout` exited 1: "
                       f"{RADOS_TIMEOUT.strip()}{AGAIN}; left in place: noout set for the whole cluster")
    assert fake.flags == {"noout"}


def away_state(**changed) -> InPlace:
    return dataclasses.replace(
        InPlace("worker-1", osds=(0,), crush_hosts=("worker-1",), cordoned=True, noout=True), **changed)


@pytest.mark.parametrize("flags, host_flags", [
    (set(), {"noout"}),  # the host's own noout is still there
    ({"noout"}, set()),  # someone's cluster-wide noout (ceph-maintenance, an operator) already covers the OSDs
], ids=["host noout", "cluster-wide noout"])
def test_down_osds_that_a_noout_still_covers_get_no_second_flag(fake, session_for, capsys, flags, host_flags):
    state = away_state()
    fake.down = {0}
    fake.flags, fake.host_flags["worker-1"] = set(flags), set(host_flags)
    before = dataclasses.replace(state)

    node_maintenance.keep_protected(session_for(apply=True), state)

    assert state == before
    assert fake.changed() == [] and "warning" not in capsys.readouterr().out


def test_osds_that_are_up_again_need_no_flag_once_rook_cleared_its_own(fake, session_for, capsys):
    state = away_state()

    node_maintenance.keep_protected(session_for(apply=True), state)  # no flag anywhere, OSD 0 up

    assert state == away_state()
    assert fake.changed() == [] and "warning" not in capsys.readouterr().out


@pytest.mark.parametrize("state, apply", [
    (away_state(cluster_noout=True), True),  # the cluster-wide flag it set is trusted: no look at every poll
    (InPlace("cp-1", cordoned=True), True),  # no OSD to protect
    (away_state(), False),  # plan mode waits for nothing
], ids=["cluster-wide flag already set", "no OSD", "plan"])
def test_keep_protected_asks_ceph_nothing_when_there_is_nothing_to_protect(fake, session_for, state, apply):
    fake.down = {0}
    before = dataclasses.replace(state)

    node_maintenance.keep_protected(session_for(apply=apply), state)

    assert fake.calls == [] and state == before


# A maintenance no runbook watches (ceph-maintenance enter) sets the cluster-wide noout at once.

def test_a_maintenance_no_runbook_watches_sets_the_cluster_wide_noout_at_once(fake, session_for, capsys):
    session = session_for(apply=True)
    state = out_of_service(fake, session)
    capsys.readouterr()

    node_maintenance.protect_beyond_rook(session, state)

    assert gate_lines(capsys.readouterr().out) == [
        f"RUN: {CEPH} osd set noout  # Rook clears the host's noout after osdMaintenanceTimeout (30 min); "
        "this one stays until the exit"]
    assert state == away_state(cluster_noout=True, step="drain")
    assert fake.flags == {"noout"}


def test_a_cluster_wide_noout_ceph_refuses_stops_with_the_node_left_out_and_named(fake, session_for):
    session = session_for(apply=True)
    state = out_of_service(fake, session)
    fake.failing["ceph osd set noout"] = RADOS_TIMEOUT

    message = stopped(node_maintenance.protect_beyond_rook, session, state)

    assert message == (f"worker-1: stopped at step 'set the cluster-wide noout': `{CEPH} osd set noout` exited 1: "
                       f"{RADOS_TIMEOUT.strip()}{AGAIN}; left in place: worker-1 cordoned, noout set for host worker-1")
    assert not state.cluster_noout and fake.flags == set()


# What a previous run left, read back (ceph-maintenance exit, a resumed upgrade).

def test_the_state_a_previous_run_left_is_read_from_the_ceph_flags(fake, session_for):
    fake.host_flags["worker-1"], fake.flags = {"noout"}, {"noout"}
    session = session_for(apply=True)

    assert node_maintenance.current_state(node(session)) == away_state(cluster_noout=True)
    assert node_maintenance.current_state(node(session), cordoned=False) == away_state(cordoned=False,
                                                                                       cluster_noout=True)
    fake.host_flags["worker-1"], fake.flags = set(), set()
    assert node_maintenance.current_state(node(session)) == away_state(noout=False)


def test_ceph_flags_that_cannot_be_read_stop_naming_the_step(fake, session_for):
    fake.hung.add("ceph osd dump")
    session = session_for(apply=True)

    message = stopped(node_maintenance.current_state, node(session))

    assert message == (f"worker-1: stopped at step 'read the Ceph flags': `{CEPH} osd dump -f json` did not finish "
                       f"within 30s{AGAIN}; left in place: worker-1 cordoned")


# An interrupt is a stop that names the step it came in and what is left in place; nothing is undone.
# An interrupt while a change ran (sent, no answer yet) names the command, and what it may have changed.

def test_an_interrupt_before_any_change_leaves_nothing(fake, session_for):
    fake.interrupted.add("ceph osd ok-to-stop")
    session = session_for(apply=True)

    message = stopped(node_maintenance.take_out_of_service, session, node(session), purpose="maintenance")

    assert message == f"worker-1: stopped at step 'ceph osd ok-to-stop': {INTERRUPTED}; left in place: nothing"


@pytest.mark.parametrize("command, step, sent, left", [
    ("ceph osd set-group", "set noout for the host", f"{CEPH} osd set-group noout worker-1",
     "noout for host worker-1 may be set"),
    ("kubectl cordon", "cordon", "kubectl cordon worker-1", "worker-1 may be cordoned, noout set for host worker-1"),
    ("kubectl drain", "drain", DRAIN, "worker-1 cordoned, noout set for host worker-1"),
])
def test_an_interrupt_on_the_way_out_names_what_may_have_changed_and_undoes_nothing(
        fake, session_for, command, step, sent, left, capsys):
    fake.interrupted.add(command)
    session = session_for(apply=True)

    message = stopped(node_maintenance.take_out_of_service, session, node(session), purpose="maintenance")

    assert message == (f"worker-1: stopped at step '{step}': {INTERRUPTED} before `{sent}` answered{AGAIN}"
                       f"; left in place: {left}")
    assert not any(c[1:2] == ["uncordon"] or "unset-group" in c for c in fake.calls)
    assert said(capsys.readouterr().out)[-1].startswith(f"interrupted while `{sent}` ran, before its answer: ")


@pytest.mark.parametrize("command, step, sent, left", [
    ("kubectl uncordon", "uncordon", "kubectl uncordon worker-1",
     "worker-1 may be cordoned, noout set for host worker-1"),
    ("ceph osd unset-group", "clear noout for the host", f"{CEPH} osd unset-group noout worker-1",
     "noout for host worker-1 may be set"),
])
def test_an_interrupt_on_the_way_back_names_what_may_be_left(fake, session_for, command, step, sent, left):
    session = session_for(apply=True)
    state = out_of_service(fake, session)
    fake.interrupted.add(command)

    message = stopped(node_maintenance.return_to_service, session, node(session), state)

    assert message == f"worker-1: stopped at step '{step}': {INTERRUPTED} before `{sent}` answered{AGAIN}; left in place: {left}"


def test_an_interrupt_during_the_pg_wait_names_that_step(fake, session_for):
    session = session_for(apply=True)
    state = out_of_service(fake, session)
    fake.interrupted.add("ceph status")

    message = stopped(node_maintenance.return_to_service, session, node(session), state)

    assert message == (f"worker-1: stopped at step 'wait for PGs active+clean': {INTERRUPTED}{AGAIN}"
                       "; left in place: noout set for host worker-1")


def test_an_interrupt_while_clearing_the_cluster_wide_flag_names_that_step(fake, session_for):
    session = session_for(apply=True)
    state = out_of_service(fake, session)
    fake.away("worker-1", looks=1)
    fake.rook_lets_go = True
    fake.interrupted.add("ceph osd unset noout")

    message = stopped(node_maintenance.return_to_service, session, node(session), state)

    assert message == (f"worker-1: stopped at step 'clear the cluster-wide noout': {INTERRUPTED} before "
                       f"`{CEPH} osd unset noout` answered{AGAIN}; left in place: the cluster-wide noout may be set")


def test_a_change_timed_out_on_the_way_out_is_undone_as_if_it_was_made(fake, session_for):
    """No answer within its timeout: the flag may be set, so the stop clears it (unset-group is idempotent)."""
    fake.hung.add("ceph osd set-group")
    session = session_for(apply=True)

    message = stopped(node_maintenance.take_out_of_service, session, node(session), purpose="maintenance")

    assert message == (f"worker-1: stopped at step 'set noout for the host': `{CEPH} osd set-group noout worker-1` "
                       "did not finish within 60s; noout for host worker-1 may be set"
                       "; undone: noout cleared for host worker-1; left in place: nothing")
    assert [CEPH.split() + ["osd", "unset-group", "noout", "worker-1"]] == [c for c in fake.calls if "unset-group" in c]


# The stop line.

def test_the_stop_line_names_every_thing_left_in_place_and_every_note():
    state = InPlace("worker-1", osds=(0, 3), crush_hosts=("worker-1-a", "worker-1-b"), cordoned=True, noout=True,
                    cluster_noout=True, notes=["uncordon failed too: x"])

    assert str(node_maintenance.stop(state, "drain", "y")) == (
        "worker-1: stopped at step 'drain': y; uncordon failed too: x; " + RERUN_NOTEBOOK + " to finish worker-1; "
        "left in place: worker-1 cordoned, noout set for host worker-1-a, worker-1-b, noout set for the whole cluster")
    assert InPlace("worker-2").describe() == "left in place: nothing"
    assert InPlace("worker-2", noout=True).hosts == "worker-2"  # no CRUSH host known: the node's name


# What a look at Ceph saw during the PG wait, as the progress line says it.

def ceph_status(pgs: tuple[tuple[str, int], ...], num_pgs: int = 137, up: int = 3) -> "CephStatus":
    from homeops.tools.shapes import CephStatus

    return CephStatus("HEALTH_WARN", (), 3, up, 3, pgs, num_pgs)


def test_a_look_at_ceph_counts_the_pgs_not_clean_of_all_and_the_osds_down():
    seen = node_maintenance.pgs_seen(ceph_status((("active+clean", 97), ("active+recovering+degraded", 40)), up=2))

    assert seen == "40 of 137 PGs not active+clean (40 active+recovering+degraded), 1 of 3 OSDs down"


def test_a_look_at_ceph_counts_pgs_it_does_not_report_and_says_nothing_of_osds_when_all_are_up():
    seen = node_maintenance.pgs_seen(ceph_status((("active+clean", 100), ("peering", 7))))

    assert seen == "7 of 137 PGs not active+clean (7 peering), 30 not reported"


def test_a_look_at_ceph_with_every_pg_clean_ends_the_wait():
    assert node_maintenance.pgs_seen(ceph_status((("active+clean", 130), ("active+clean+scrubbing", 7)))) is True
    # A partial map proves nothing: not every PG counted, so not clean, though none is reported unclean.
    assert node_maintenance.pgs_seen(ceph_status((("active+clean", 100),))) == (
        "0 of 137 PGs not active+clean, 37 not reported")
