"""`Session.covering`: the Lease outlasts a step that may make the API unreachable, and the step is never cut short."""

from __future__ import annotations

import dataclasses
import sys
from datetime import datetime
from pathlib import Path

from engine_support import SpiedTwin
from homeops.runner.lock import MaintenanceLock
from homeops.tools.lease import LeaseClient
from test_lock import Watcher, kubectl_of, live_lock, wait_until


def test_cover_writes_a_longer_lease_at_once_and_the_next_renewal_after_it_the_short_one(cluster: SpiedTwin):
    lock = live_lock(cluster)
    lock.acquire()
    before = cluster.lease()["spec"]
    lock.cover(600)
    covered = cluster.lease()["spec"]
    assert covered["leaseDurationSeconds"] == lock.duration_seconds + 600
    assert datetime.fromisoformat(covered["renewTime"]) >= datetime.fromisoformat(before["renewTime"])
    lock.cover(0)
    assert cluster.lease()["spec"]["leaseDurationSeconds"] == lock.duration_seconds
    assert lock.release() is None


def unreachable_kubectl(directory: Path) -> tuple[str, Path]:
    """A kubectl that counts its calls and fails as one does when the API server is rebooting."""
    log = directory / "unreachable.log"
    script = directory / "kubectl-unreachable"
    script.write_text(f"#!{sys.executable} -S\nimport sys\nopen({str(log)!r}, 'a').write('call\\n')\n"
                      "sys.stderr.write('The connection to the server 10.0.50.50:6443 was refused\\n')\nsys.exit(1)\n")
    script.chmod(0o755)
    return str(script), log


def test_renewals_that_fail_while_covered_neither_lose_the_lock_nor_interrupt_the_step(cluster: SpiedTwin,
                                                                                      tmp_path: Path):
    lock = live_lock(cluster)
    lock.acquire()
    lock.cover(600)
    kubectl, log = unreachable_kubectl(tmp_path)
    lock.client = dataclasses.replace(lock.client, kubectl=kubectl)  # the API goes away with the node
    watcher = Watcher()
    lock.keep_renewed(watcher.notify, watcher.on_lost)
    try:
        # At a try every quarter of a second interval (1 s), 20 failed calls span far more than
        # the uncovered 3 s Lease, which would have been given up by then.
        wait_until(lambda: log.exists() and len(log.read_text().splitlines()) >= 20, "20 failed renewals")
        assert lock.lost is None
        assert watcher.stop_requests == 0 and watcher.messages == []
    finally:
        lock.client = LeaseClient(kubectl=kubectl_of(cluster))
        lock.release()
    assert cluster.lease() is None


def test_without_a_cover_the_same_outage_loses_the_lock_once_the_short_lease_expired(cluster: SpiedTwin,
                                                                                   tmp_path: Path):
    lock: MaintenanceLock = live_lock(cluster)
    lock.acquire()
    kubectl, _ = unreachable_kubectl(tmp_path)
    lock.client = dataclasses.replace(lock.client, kubectl=kubectl)
    watcher = Watcher()
    lock.keep_renewed(watcher.notify, watcher.on_lost)
    try:
        watcher.wait_for_stop_request()
        assert lock.lost == "lost the maintenance lock: it could not be renewed before it expired"
    finally:
        lock.release()
