"""osd_removal and node_remove in process: what a stop names, what a plan says before anything changes."""

from __future__ import annotations

from homeops.procedures import node_remove, osd_removal
from homeops.procedures.node_maintenance import MAYBE
from homeops.tools.node_removal import BoundVolume


def test_a_removal_names_what_it_left_in_the_order_it_did_it():
    state = osd_removal.Removal((0, 3), subject="worker-1")
    assert state.describe() == "left in place: nothing"
    state.operator_stopped = True
    state.stopped.update({0, 3})
    state.out.add(0)
    assert state.describe() == ("left in place: the Rook operator at 0 replicas, osd.0 marked out, "
                                "rook-ceph-osd-0 at 0 replicas, rook-ceph-osd-3 at 0 replicas")
    state.purged.add(0)
    state.operator_stopped = MAYBE
    assert state.left() == ["the Rook operator at 0 replicas (maybe)", "osd.0 purged, its Deployment "
                            "rook-ceph-osd-0 still there", "rook-ceph-osd-3 at 0 replicas"]
    state.deployment_gone.add(0)
    assert "osd.0" not in state.describe()


def test_a_stop_says_the_step_the_reason_and_how_to_finish():
    state = osd_removal.Removal((2,), subject="osd.2", operator_stopped=True)
    state.notes.append("its disk: /dev/disk/by-id/x on worker-3")
    message = str(osd_removal.stop(state, "ceph osd out 2", "Error EINVAL"))
    assert message.startswith("osd.2: stopped at step 'ceph osd out 2': Error EINVAL; its disk: /dev/disk/by-id/x "
                              "on worker-3; ")
    assert "to finish the removal; left in place: the Rook operator at 0 replicas" in message
    nothing = str(osd_removal.stop(osd_removal.Removal((2,), subject="osd.2"), "read", "no"))
    assert nothing == "osd.2: stopped at step 'read': no; left in place: nothing"


def test_a_plan_names_the_volumes_that_go_with_the_node(cluster_model):
    worker = cluster_model.node("worker-1")
    plan = node_remove.Plan(worker, "worker-1", (0,), (BoundVolume("pvc-a", "media/data", "openebs-zfs", "zfs"),),
                            ("cp-1", "cp-2"), cluster_model.node("cp-1"), True, "Ceph can keep every copy")
    assert plan.summary().splitlines() == [
        "worker-1 (worker), OSDs: osd.0", "Ceph can keep every copy",
        "volumes bound to worker-1, whose data goes with it: pvc-a (claim media/data, openebs-zfs)",
        "etcd members now: cp-1, cp-2"]
    bare = node_remove.Plan(worker, "worker-1", (), (), (), None, True, "")
    assert bare.summary().splitlines() == ["worker-1 (worker), OSDs: none", "no PersistentVolume is bound to worker-1"]


# ---- osd_removal's steps against an in-memory Rook (homeops.tools.process.run replaced) ----------------

import json  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

import pytest  # noqa: E402

from homeops.errors import RunbookStopped  # noqa: E402
from homeops.tools import process  # noqa: E402
from homeops.tools.process import Completed  # noqa: E402

from tests.runbooks.conftest import TOOLBOX, hear_followed  # noqa: E402


@dataclass
class FakeRook:
    replicas: dict = field(default_factory=lambda: {"rook-ceph-operator": 1, "rook-ceph-osd-0": 1,
                                                    "rook-ceph-osd-1": 1})
    osds: dict = field(default_factory=lambda: {0: True, 1: True})  # id -> in
    safe_after: int = 1  # safe-to-destroy says yes at this look
    looks: int = 0
    calls: list = field(default_factory=list)
    failing: dict = field(default_factory=dict)  # a word of the command -> "error" or "timeout"
    pgs: str = "active+remapped+backfilling"

    def changes(self) -> list[str]:
        return [" ".join(c) for c in self.calls if {"scale", "out", "purge", "delete", "in"} & set(c)]

    def run(self, argv, *, timeout, input=None, check=True, on_line=None, quiet=None, on_quiet=None):
        argv = [a for a in map(str, argv) if not a.startswith("--request-timeout=")]
        self.calls.append(argv)
        for word, how in self.failing.items():
            if word in " ".join(argv):
                if how == "timeout":
                    raise process.ToolTimeout(argv, timeout)
                raise process.ToolError(argv, 1, "Error EIO: it broke\n", "")
        code, out, err = self._answer(argv)
        hear_followed(on_line, out, err)
        if check and code:
            raise process.ToolError(argv, code, err, out)
        return Completed(tuple(argv), code, out, err)

    def _answer(self, argv):
        if argv[:len(TOOLBOX)] == TOOLBOX:
            words = argv[len(TOOLBOX):]
            if words[:2] == ["osd", "dump"]:
                return 0, json.dumps({"osds": [{"osd": o, "in": int(i)} for o, i in self.osds.items()]}), ""
            if words[:2] in (["osd", "out"], ["osd", "in"]):
                self.osds[int(words[2])] = words[1] == "in"
                return 0, "", f"marked {words[1]} osd.{words[2]}. \n"
            if words[:2] == ["osd", "purge"]:
                self.osds.pop(int(words[2]))
                return 0, "", f"purged osd.{words[2]}\n"
            if words[:2] == ["osd", "safe-to-destroy"]:
                self.looks += 1
                osd = int(words[2])
                lists = {"safe_to_destroy": [osd] if self.looks >= self.safe_after else [],
                         "active": [] if self.looks >= self.safe_after else [osd], "missing_stats": [],
                         "stored_pgs": []}
                return 0, json.dumps(lists), ""
            if words[:1] == ["status"]:
                return 0, json.dumps({"health": {"status": "HEALTH_WARN"}, "pgmap": {
                    "num_pgs": 8, "pgs_by_state": [{"state_name": self.pgs, "count": 8}]}}), ""
        if argv[:3] == ["kubectl", "-n", "rook-ceph"] and argv[3:5] == ["get", "deployment"]:
            name = argv[5]
            if name not in self.replicas:
                return 1, "", f'Error from server (NotFound): deployments.apps "{name}" not found\n'
            return 0, json.dumps({"spec": {"replicas": self.replicas[name]}}), ""
        if argv[3:5] == ["scale", "deployment"]:
            self.replicas[argv[5]] = int(argv[6].split("=")[1])
            return 0, f"deployment.apps/{argv[5]} scaled\n", ""
        if argv[3:5] == ["delete", "deployment"]:
            self.replicas.pop(argv[5], None)
            return 0, f'deployment.apps "{argv[5]}" deleted\n', ""
        return 97, "", f"unexpected {argv}"


@pytest.fixture
def rook(monkeypatch) -> FakeRook:
    fake = FakeRook()
    monkeypatch.setattr(process, "run", fake.run)
    return fake


def test_remove_follows_rooks_order_and_keeps_the_operator_at_zero(rook, session_for):
    session = session_for(True)
    state = osd_removal.read(session, (0,), "osd.0")
    assert state.describe() == "left in place: nothing" and state.operator_replicas == 1
    osd_removal.remove(session, state, degraded_accepted=False)
    assert rook.changes() == [
        "kubectl -n rook-ceph scale deployment rook-ceph-operator --replicas=0",
        "kubectl -n rook-ceph scale deployment rook-ceph-osd-0 --replicas=0",
        " ".join(TOOLBOX) + " osd out 0",
        " ".join(TOOLBOX) + " osd purge 0 --yes-i-really-mean-it",
        "kubectl -n rook-ceph delete deployment rook-ceph-osd-0 --ignore-not-found",
    ]
    assert rook.replicas == {"rook-ceph-operator": 0, "rook-ceph-osd-1": 1} and 0 not in rook.osds
    assert state.describe() == "left in place: the Rook operator at 0 replicas"
    osd_removal.operator_back(session, state)
    assert rook.replicas["rook-ceph-operator"] == 1 and state.describe() == "left in place: nothing"


def test_a_rerun_skips_what_is_done(rook, session_for):
    rook.replicas.update({"rook-ceph-operator": 0, "rook-ceph-osd-0": 0})
    rook.osds[0] = False
    session = session_for(True)
    state = osd_removal.read(session, (0,), "osd.0")
    assert state.describe() == ("left in place: the Rook operator at 0 replicas, osd.0 marked out, "
                                "rook-ceph-osd-0 at 0 replicas")
    osd_removal.remove(session, state, degraded_accepted=False)
    assert rook.changes() == [" ".join(TOOLBOX) + " osd purge 0 --yes-i-really-mean-it",
                              "kubectl -n rook-ceph delete deployment rook-ceph-osd-0 --ignore-not-found"]


def test_a_purged_osd_is_not_purged_again_and_a_kept_deployment_is_deleted(rook, session_for):
    rook.osds.pop(0)
    rook.replicas["rook-ceph-operator"] = 0
    session = session_for(True)
    state = osd_removal.read(session, (0,), "osd.0")
    assert state.left() == ["the Rook operator at 0 replicas",
                            "osd.0 purged, its Deployment rook-ceph-osd-0 still there"]
    osd_removal.remove(session, state, degraded_accepted=False)
    assert rook.changes() == ["kubectl -n rook-ceph delete deployment rook-ceph-osd-0 --ignore-not-found"]
    assert not any("safe-to-destroy" in c for c in rook.calls)


def test_safe_to_destroy_that_never_comes_stops_naming_what_is_left(rook, session_for, capsys):
    rook.safe_after = 10 ** 6
    session = session_for(True)
    state = osd_removal.read(session, (0,), "osd.0")
    with pytest.raises(RunbookStopped) as stopped:
        osd_removal.remove(session, state, degraded_accepted=False)
    message = str(stopped.value)
    assert message.startswith("osd.0: stopped at step 'wait until ceph osd safe-to-destroy 0': "
                              "ceph osd safe-to-destroy 0 did not happen within 0.5s")
    assert ("waiting for ceph osd safe-to-destroy 0: osd.0 still has PGs mapped to it (8 active+remapped+backfilling)"
            " (0s of 0.5s)") in capsys.readouterr().out
    assert "osd.0 still has PGs mapped to it (8 active+remapped+backfilling)" in message
    assert message.endswith("left in place: the Rook operator at 0 replicas, osd.0 marked out, "
                            "rook-ceph-osd-0 at 0 replicas")
    assert 0 in rook.osds


def test_an_accepted_degraded_pool_is_purged_without_waiting(rook, session_for):
    rook.safe_after = 10 ** 6
    session = session_for(True)
    state = osd_removal.read(session, (0,), "osd.0")
    osd_removal.remove(session, state, degraded_accepted=True)
    assert 0 not in rook.osds and rook.looks == 0
    assert "degraded pools accepted: purged without waiting for safe-to-destroy" in state.notes


def test_a_plan_changes_nothing_and_a_missing_operator_stops(rook, session_for):
    session = session_for(False)
    state = osd_removal.read(session, (0,), "osd.0")
    osd_removal.remove(session, state, degraded_accepted=False)
    osd_removal.operator_back(session, state)
    assert rook.changes() == [] and rook.replicas["rook-ceph-operator"] == 1 and rook.osds[0]
    rook.replicas.pop("rook-ceph-operator")
    with pytest.raises(RunbookStopped, match="no Deployment rook-ceph/rook-ceph-operator; nothing changed"):
        osd_removal.read(session, (0,), "osd.0")


def test_undo_gives_back_what_was_done_and_refuses_after_the_purge(rook, session_for):
    rook.replicas.update({"rook-ceph-operator": 0, "rook-ceph-osd-0": 0})
    rook.osds[0] = False
    session = session_for(True)
    state = osd_removal.read(session, (0,), "osd.0")
    osd_removal.undo(session, state)
    assert rook.changes() == [" ".join(TOOLBOX) + " osd in 0",
                              "kubectl -n rook-ceph scale deployment rook-ceph-osd-0 --replicas=1",
                              "kubectl -n rook-ceph scale deployment rook-ceph-operator --replicas=1"]
    assert state.describe() == "left in place: nothing"
    rook.osds.pop(0)
    purged = osd_removal.read(session, (0,), "osd.0")
    with pytest.raises(RunbookStopped, match="osd.0 already purged: it cannot come back"):
        osd_removal.undo(session, purged)


def test_what_the_gate_says_for_each_change(rook, session_for, capsys):
    from tests.said import gate_lines

    session = session_for(True)
    state = osd_removal.read(session, (0,), "osd.0")
    osd_removal.remove(session, state, degraded_accepted=False)
    osd_removal.operator_back(session, state)
    out = capsys.readouterr().out
    toolbox = " ".join(TOOLBOX)
    assert gate_lines(out) == [
        "RUN: kubectl -n rook-ceph scale deployment rook-ceph-operator --replicas=0  "
        "# Rook must not start the OSD again while it is removed",
        "RUN: kubectl -n rook-ceph scale deployment rook-ceph-osd-0 --replicas=0  # stop osd.0",
        f"RUN: {toolbox} osd out 0  # let Ceph copy osd.0's data elsewhere",
        f"RUN: {toolbox} osd purge 0 --yes-i-really-mean-it  # remove osd.0 from the CRUSH map, the OSD map and auth",
        "RUN: kubectl -n rook-ceph delete deployment rook-ceph-osd-0 --ignore-not-found  # osd.0 is gone",
        "RUN: kubectl -n rook-ceph scale deployment rook-ceph-operator --replicas=1  # Rook manages the OSDs again",
    ]
    assert "waiting until ceph osd safe-to-destroy 0 (up to 0.5s)" in out


def test_what_the_gate_says_for_an_undo_and_an_accepted_degraded_pool(rook, session_for, capsys):
    from tests.said import gate_lines

    rook.replicas.update({"rook-ceph-operator": 0, "rook-ceph-osd-0": 0, "rook-ceph-osd-1": 0})
    rook.osds.update({0: False, 1: False})
    session = session_for(True)
    osd_removal.undo(session, osd_removal.read(session, (0, 1), "worker-1"))
    toolbox = " ".join(TOOLBOX)
    assert gate_lines(capsys.readouterr().out) == [
        f"RUN: {toolbox} osd in 0  # osd.0 stays: undo",
        "RUN: kubectl -n rook-ceph scale deployment rook-ceph-osd-0 --replicas=1  # start osd.0 again",
        f"RUN: {toolbox} osd in 1  # osd.1 stays: undo",
        "RUN: kubectl -n rook-ceph scale deployment rook-ceph-osd-1 --replicas=1  # start osd.1 again",
        "RUN: kubectl -n rook-ceph scale deployment rook-ceph-operator --replicas=1  # Rook manages the OSDs again",
    ]
    rook.replicas["rook-ceph-operator"] = 1
    osd_removal.remove(session, osd_removal.read(session, (0, 1), "worker-1"), degraded_accepted=True)
    assert ("not waiting for safe-to-destroy of osd.0, osd.1: Ceph cannot re-replicate their copies and the "
            "operator accepted degraded pools (accept_degraded)") in capsys.readouterr().out


def test_a_plan_shows_the_wait(rook, session_for, capsys):
    session = session_for(False)
    osd_removal.remove(session, osd_removal.read(session, (0, 1), "worker-1"), degraded_accepted=False)
    assert "PLAN: would wait for ceph osd safe-to-destroy 0 1" in capsys.readouterr().out


def test_the_first_osd_already_purged_does_not_keep_the_second_from_going(rook, session_for):
    rook.osds.pop(0)
    rook.replicas.pop("rook-ceph-osd-0")
    rook.replicas["rook-ceph-operator"] = 0
    session = session_for(True)
    state = osd_removal.read(session, (0, 1), "worker-1")
    assert (state.purged, state.deployment_gone) == ({0}, {0})
    osd_removal.remove(session, state, degraded_accepted=False)
    assert rook.changes() == [
        "kubectl -n rook-ceph scale deployment rook-ceph-osd-1 --replicas=0",
        " ".join(TOOLBOX) + " osd out 1",
        " ".join(TOOLBOX) + " osd purge 1 --yes-i-really-mean-it",
        "kubectl -n rook-ceph delete deployment rook-ceph-osd-1 --ignore-not-found",
    ]


def test_an_osd_dump_without_in_reads_as_in(rook, session_for, monkeypatch):
    original = rook._answer

    def without_in(argv):
        code, out, err = original(argv)
        if "dump" in argv:
            out = json.dumps({"osds": [{"osd": 0}]})
        return code, out, err

    monkeypatch.setattr(rook, "_answer", without_in)
    assert osd_removal.read(session_for(True), (0,), "osd.0").out == set()


@pytest.mark.parametrize(("word", "step", "left"), [
    ("rook-ceph-operator --replicas=0", "scale the Rook operator to 0", "nothing"),
    ("rook-ceph-osd-0 --replicas=0", "scale rook-ceph-osd-0 to 0", "the Rook operator at 0 replicas"),
    ("osd out", "ceph osd out 0", "the Rook operator at 0 replicas, rook-ceph-osd-0 at 0 replicas"),
    ("osd purge", "ceph osd purge 0", "the Rook operator at 0 replicas, osd.0 marked out, rook-ceph-osd-0 at 0 "
                                      "replicas"),
    ("delete deployment", "delete rook-ceph-osd-0", "the Rook operator at 0 replicas, osd.0 purged, its Deployment "
                                                    "rook-ceph-osd-0 still there"),
])
def test_a_failed_step_stops_naming_it_and_what_is_left(rook, session_for, word, step, left):
    rook.failing[word] = "error"
    session = session_for(True)
    with pytest.raises(RunbookStopped) as stopped:
        osd_removal.remove(session, osd_removal.read(session, (0,), "osd.0"), degraded_accepted=False)
    message = str(stopped.value)
    assert message.startswith(f"osd.0: stopped at step '{step}': ")
    assert "Error EIO: it broke" in message and message.endswith(f"left in place: {left}")


def test_a_change_without_an_answer_is_named_as_maybe(rook, session_for):
    rook.failing["rook-ceph-operator --replicas=0"] = "timeout"
    session = session_for(True)
    state = osd_removal.read(session, (0,), "osd.0")
    with pytest.raises(RunbookStopped) as stopped:
        osd_removal.remove(session, state, degraded_accepted=False)
    assert str(stopped.value).endswith("left in place: the Rook operator at 0 replicas (maybe)")
    rook.failing.clear()
    rook.failing["rook-ceph-operator --replicas=1"] = "timeout"
    with pytest.raises(RunbookStopped) as back:
        osd_removal.operator_back(session, state)
    assert str(back.value).startswith("osd.0: stopped at step 'scale the Rook operator back': ")
    assert str(back.value).endswith("left in place: the Rook operator at 0 replicas (maybe)")


def test_failures_of_read_and_undo_name_their_steps(rook, session_for):
    session = session_for(True)
    rook.failing["osd dump"] = "error"
    with pytest.raises(RunbookStopped, match=r"^osd.0: stopped at step 'read the OSDs': .*Error EIO"):
        osd_removal.read(session, (0,), "osd.0")
    rook.failing.clear()
    rook.replicas.pop("rook-ceph-operator")
    with pytest.raises(RunbookStopped, match=r"^osd.0: stopped at step 'read the Rook operator': no Deployment"):
        osd_removal.read(session, (0,), "osd.0")
    rook.replicas["rook-ceph-operator"] = 0
    rook.osds[0] = False
    state = osd_removal.read(session, (0,), "osd.0")
    rook.failing["osd in"] = "error"
    with pytest.raises(RunbookStopped, match=r"^osd.0: stopped at step 'ceph osd in 0': .*Error EIO"):
        osd_removal.undo(session, state)
    rook.failing.clear()
    rook.replicas["rook-ceph-osd-0"] = 0
    state = osd_removal.read(session, (0,), "osd.0")
    state.out.clear()
    rook.failing["rook-ceph-osd-0 --replicas=1"] = "error"
    with pytest.raises(RunbookStopped, match=r"^osd.0: stopped at step 'scale rook-ceph-osd-0 to 1': "):
        osd_removal.undo(session, state)
    rook.osds.pop(0)
    rook.osds.pop(1)
    gone = osd_removal.read(session, (0, 1), "worker-1")
    with pytest.raises(RunbookStopped) as refused:
        osd_removal.undo(session, gone)
    assert str(refused.value).startswith("worker-1: stopped at step 'undo': osd.0, osd.1 already purged: it cannot "
                                         "come back; run without undo to finish the replacement; ")


def test_a_wait_for_two_osds_says_what_each_lacks(rook, session_for):
    rook.safe_after = 10 ** 6
    session = session_for(True)
    with pytest.raises(RunbookStopped) as stopped:
        osd_removal.remove(session, osd_removal.read(session, (0, 1), "worker-1"), degraded_accepted=False)
    assert ("; last seen: osd.0 still has PGs mapped to it; osd.1 still has PGs mapped to it "
            "(8 active+remapped+backfilling); ") in str(stopped.value)
    rook.pgs = "active+clean"
    state = osd_removal.read(session, (0, 1), "worker-1")
    state.notes += ["first note", "second note"]
    with pytest.raises(RunbookStopped) as clean:
        osd_removal.remove(session, state, degraded_accepted=False)
    assert ("last seen: osd.0 still has PGs mapped to it; osd.1 still has PGs mapped to it; first note; "
            "second note; ") in str(clean.value)
