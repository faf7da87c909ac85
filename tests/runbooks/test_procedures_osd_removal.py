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
