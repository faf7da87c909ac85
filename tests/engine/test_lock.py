"""The maintenance lock against the twin's Leases (create, replace with resourceVersion, delete,
NotFound / AlreadyExists / Conflict, as kubectl prints them)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from engine_support import SpiedTwin
from homeops.runner.lock import LockHeld, LockUnavailable, MaintenanceLock, holder_of
from homeops.tools.lease import LeaseClient

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=timezone.utc)


def lock_for(cluster: SpiedTwin, identity: str, runbook: str = "upgrade-talos", seconds: int = 3600,
             now: datetime = NOW, client: LeaseClient | None = None) -> MaintenanceLock:
    client = client or LeaseClient(kubectl=str(cluster.directory / "bin" / "kubectl"))
    return MaintenanceLock(client, runbook, seconds, identity=identity, clock=lambda: now)


def test_acquire_creates_the_lease_with_holder_runbook_and_duration(cluster: SpiedTwin):
    lock_for(cluster, "ana@laptop:101").acquire()
    lease = cluster.lease()
    assert lease["metadata"]["namespace"] == "kube-system"
    assert lease["metadata"]["annotations"] == {"homeops.dev/runbook": "upgrade-talos"}
    assert lease["spec"]["holderIdentity"] == "ana@laptop:101"
    assert lease["spec"]["leaseDurationSeconds"] == 3600
    assert lease["spec"]["acquireTime"] == lease["spec"]["renewTime"] == "2026-11-26T12:00:00.000000Z"


def test_a_second_run_is_refused_with_the_holder_runbook_and_expiry(cluster: SpiedTwin):
    lock_for(cluster, "ana@laptop:101").acquire()
    with pytest.raises(LockHeld) as caught:
        lock_for(cluster, "bo@ci:202", runbook="cluster-health", now=NOW + timedelta(minutes=5)).acquire()
    assert str(caught.value) == (
        "maintenance lock held by ana@laptop:101 running upgrade-talos until 2026-11-26T13:00:00Z")
    assert cluster.lease()["spec"]["holderIdentity"] == "ana@laptop:101"


def test_an_expired_lease_is_taken_over(cluster: SpiedTwin):
    lock_for(cluster, "ghost@old:1", seconds=60).acquire()
    later = NOW + timedelta(minutes=2)
    taker = lock_for(cluster, "bo@ci:202", runbook="upgrade-k8s", now=later)
    taker.acquire()
    assert taker.taken_over.identity == "ghost@old:1"
    lease = cluster.lease()
    assert lease["spec"]["holderIdentity"] == "bo@ci:202"
    assert lease["metadata"]["annotations"]["homeops.dev/runbook"] == "upgrade-k8s"
    assert ["replace", "-f", "-"] in cluster.calls()


def test_a_takeover_that_loses_the_race_refuses_and_names_the_winner(cluster: SpiedTwin):
    lock_for(cluster, "ghost@old:1", seconds=60).acquire()
    later = NOW + timedelta(minutes=2)
    kubectl = str(cluster.directory / "bin" / "kubectl")

    class RivalFirst(LeaseClient):
        """Lets a rival take the expired lease over between our read and our replace."""

        def replace(self, lease: dict) -> None:
            lock_for(cluster, "rival@ci:303", runbook="upgrade-k8s", now=later).acquire()
            super().replace(lease)

    with pytest.raises(LockHeld) as caught:
        lock_for(cluster, "bo@ci:202", now=later, client=RivalFirst(kubectl=kubectl)).acquire()
    assert "held by rival@ci:303 running upgrade-k8s" in str(caught.value)
    assert cluster.lease()["spec"]["holderIdentity"] == "rival@ci:303"


def test_release_deletes_only_a_lease_this_run_still_holds(cluster: SpiedTwin):
    mine = lock_for(cluster, "ana@laptop:101", seconds=60)
    mine.acquire()
    lock_for(cluster, "bo@ci:202", now=NOW + timedelta(minutes=2)).acquire()  # took over after expiry
    warning = mine.release()
    assert "taken over meanwhile" in warning and "bo@ci:202" in warning
    assert cluster.lease()["spec"]["holderIdentity"] == "bo@ci:202"
    theirs = lock_for(cluster, "bo@ci:202")
    assert theirs.release() is None
    assert cluster.lease() is None


def test_an_unreachable_api_server_is_reported_before_anything_runs(unreachable_cluster: SpiedTwin):
    with pytest.raises(LockUnavailable) as caught:
        lock_for(unreachable_cluster, "ana@laptop:101").acquire()
    assert "cannot take the maintenance lock kube-system/homeops-maintenance" in str(caught.value)
    assert "connection to the server 10.0.50.50:6443 was refused" in str(caught.value)


def test_a_lease_without_times_is_treated_as_held_not_expired():
    holder = holder_of({"metadata": {"annotations": {}}, "spec": {"holderIdentity": "x@y:1"}})
    assert not holder.expired(NOW + timedelta(days=365))
    assert holder.describe() == (
        "maintenance lock held by x@y:1 running an unknown runbook until an unknown time (no renewTime)")
