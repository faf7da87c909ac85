"""The maintenance lock against the twin's Leases (create, replace with resourceVersion, delete,
NotFound / AlreadyExists / Conflict, as kubectl prints them), and its renewal."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from engine_support import COMMAND_TIMEOUT, SpiedTwin
from homeops.runner.lock import LockHeld, LockLost, LockUnavailable, MaintenanceLock, holder_of
from homeops.tools.lease import LeaseApiError, LeaseClient

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


# --- renewal -------------------------------------------------------------------------------------

class Ticking:
    """A clock that moves by `step` at every reading."""

    def __init__(self, start: datetime, step: timedelta):
        self.moment, self.step = start - step, step

    def __call__(self) -> datetime:
        self.moment += self.step
        return self.moment


class Watcher:
    """What the renewal thread tells the run: messages, and each request to stop it."""

    def __init__(self):
        self.messages: list[str] = []
        self.stop_requests = 0
        self._stopped = threading.Event()

    def notify(self, message: str) -> None:
        self.messages.append(message)

    def on_lost(self) -> None:
        self.stop_requests += 1
        self._stopped.set()

    def wait_for_stop_request(self) -> None:
        assert self._stopped.wait(COMMAND_TIMEOUT), f"the run was never told to stop; messages: {self.messages}"


def kubectl_of(cluster: SpiedTwin) -> str:
    return str(cluster.directory / "bin" / "kubectl")


def live_lock(cluster: SpiedTwin, client: LeaseClient | None = None, seconds: int = 3) -> MaintenanceLock:
    """A lock on the real clock with a short Lease, renewed every second."""
    return MaintenanceLock(client or LeaseClient(kubectl=kubectl_of(cluster)), "upgrade-talos", seconds,
                           identity="ana@laptop:101")


def wait_until(condition, what: str):
    deadline = time.monotonic() + COMMAND_TIMEOUT
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    pytest.fail(f"{what} did not happen within {COMMAND_TIMEOUT}s")


def hand_over(cluster: SpiedTwin, holder: str = "thief@elsewhere:9", runbook: str = "upgrade-k8s") -> None:
    """Another run writes itself into the Lease (as a takeover by someone else would)."""
    while True:  # the write races the run's own renewals: a Conflict means read again, write again
        lease = cluster.lease()
        lease["spec"]["holderIdentity"] = holder
        lease["spec"]["leaseDurationSeconds"] = 600
        lease["metadata"]["annotations"]["homeops.dev/runbook"] = runbook
        done = cluster.kubectl("replace", "-f", "-", stdin=json.dumps(lease))
        if done.returncode == 0:
            return
        assert "(Conflict)" in done.stderr, done.stderr


def renewal_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "maintenance-lock-renewal" and t.is_alive()]


def test_renew_moves_renew_time_keeps_acquire_time_and_writes_over_the_version_it_read(cluster: SpiedTwin):
    written: list[dict] = []

    class Recording(LeaseClient):
        def replace(self, lease: dict) -> None:
            written.append(lease)
            super().replace(lease)

    client = Recording(kubectl=kubectl_of(cluster))
    lock = MaintenanceLock(client, "upgrade-talos", 60, identity="ana@laptop:101",
                           clock=Ticking(NOW, timedelta(seconds=20)))
    lock.acquire()
    version = cluster.lease()["metadata"]["resourceVersion"]
    lock.renew()
    lease = cluster.lease()
    assert lease["spec"]["acquireTime"] == "2026-11-26T12:00:00.000000Z"
    assert lease["spec"]["renewTime"] == "2026-11-26T12:00:20.000000Z"
    assert lease["spec"]["holderIdentity"] == "ana@laptop:101"
    assert written[-1]["metadata"]["resourceVersion"] == version
    assert int(lease["metadata"]["resourceVersion"]) > int(version)
    assert lock.describe() == ("kube-system/homeops-maintenance held by ana@laptop:101 for upgrade-talos "
                               "until 2026-11-26T12:01:20Z")


def test_renew_after_a_takeover_reports_the_lock_lost_to_the_new_holder(cluster: SpiedTwin):
    lock = lock_for(cluster, "ana@laptop:101", seconds=60)
    lock.acquire()
    hand_over(cluster)
    with pytest.raises(LockLost) as caught:
        lock.renew()
    assert caught.value.reason == "lost the maintenance lock to thief@elsewhere:9"
    assert str(caught.value).startswith("lost the maintenance lock to thief@elsewhere:9 (maintenance lock held "
                                        "by thief@elsewhere:9 running upgrade-k8s until ")
    assert cluster.lease()["spec"]["holderIdentity"] == "thief@elsewhere:9", "the new holder keeps it"


def test_renew_of_a_deleted_lease_reports_the_lock_lost_and_creates_nothing(cluster: SpiedTwin):
    lock = lock_for(cluster, "ana@laptop:101", seconds=60)
    lock.acquire()
    assert cluster.kubectl("-n", "kube-system", "delete", "lease", "homeops-maintenance").returncode == 0
    with pytest.raises(LockLost) as caught:
        lock.renew()
    assert caught.value.reason == "lost the maintenance lock: its Lease was deleted by someone else"
    assert cluster.lease() is None


def test_a_lock_shorter_than_three_seconds_is_refused(cluster: SpiedTwin, homeops):
    with pytest.raises(ValueError, match="at least 3s, not 2s"):
        lock_for(cluster, "ana@laptop:101", seconds=2)
    result = homeops("run", "cordon", "--apply", "--twin", str(cluster.directory), "--lock-seconds", "2")
    assert result.returncode == 2
    assert ("argument --lock-seconds: must be at least 3 seconds (the Lease is renewed every third of it), "
            "got '2'") in result.stderr
    assert "Traceback" not in result.stderr
    assert cluster.calls() == [], "nothing ran"


def test_the_renewal_thread_outlives_the_duration_with_short_calls_and_release_stops_it(cluster: SpiedTwin):
    lock = live_lock(cluster)
    lock.acquire()
    acquired = datetime.fromisoformat(cluster.lease()["spec"]["acquireTime"])
    watcher = Watcher()
    lock.keep_renewed(watcher.notify, watcher.on_lost)
    try:
        # Held past the first expiry (acquireTime + 3 s) only because it was renewed.
        wait_until(lambda: datetime.fromisoformat(cluster.lease()["spec"]["renewTime"])
                   > acquired + timedelta(seconds=3), "a renewal past the first expiry")
    finally:
        warning = lock.release()
    assert warning is None
    assert cluster.lease() is None
    assert renewal_threads() == []
    assert watcher.messages == [] and watcher.stop_requests == 0 and lock.lost is None
    raw = [json.loads(line) for line in (cluster.directory / "calls.log").read_text().splitlines()]
    renewals = [call for call in raw if call[1:4] == ["replace", "-f", "-"]]
    # A renewal every second may take half of it per call (kubectl's request timeout: 1 s, its minimum).
    assert {call[0] for call in renewals} == {"--request-timeout=1s"}
    assert raw[0][0] == "--request-timeout=16s", "acquiring uses the ordinary 20 s limit"


def test_a_renewal_that_fails_for_a_moment_is_retried_and_the_lock_kept(cluster: SpiedTwin):
    class Blip(LeaseClient):
        failures_left = [2]

        def get(self) -> dict | None:
            if self.failures_left[0] > 0:
                self.failures_left[0] -= 1
                raise LeaseApiError("Unable to connect to the server: net/http: TLS handshake timeout")
            return super().get()

    lock = live_lock(cluster, Blip(kubectl=kubectl_of(cluster)))
    Blip.failures_left[0] = 0
    lock.acquire()
    Blip.failures_left[0] = 2
    watcher = Watcher()
    lock.keep_renewed(watcher.notify, watcher.on_lost)
    try:
        wait_until(lambda: cluster.lease()["spec"]["renewTime"] != cluster.lease()["spec"]["acquireTime"],
                   "a renewal after the blip")
    finally:
        warning = lock.release()
    assert Blip.failures_left == [0], "both failed attempts happened"
    assert lock.lost is None and watcher.stop_requests == 0 and watcher.messages == []
    assert warning is None and cluster.lease() is None


def test_an_api_server_down_until_the_lease_expires_loses_the_lock(cluster: SpiedTwin):
    class GoesDown(LeaseClient):
        down = [False]

        def get(self) -> dict | None:
            if self.down[0]:
                raise LeaseApiError("The connection to the server 10.0.50.50:6443 was refused")
            return super().get()

    lock = live_lock(cluster, GoesDown(kubectl=kubectl_of(cluster)))
    lock.acquire()
    expires = lock.expires
    GoesDown.down[0] = True
    watcher = Watcher()
    lock.keep_renewed(watcher.notify, watcher.on_lost)
    try:
        watcher.wait_for_stop_request()
        assert datetime.now(timezone.utc) + timedelta(seconds=lock.retry_interval_seconds) >= expires, (
            "given up only when no retry was left before the expiry")
    finally:
        warning = lock.release()
    assert lock.lost == "lost the maintenance lock: it could not be renewed before it expired"
    assert watcher.messages[0].startswith(f"{lock.lost} (expired at {expires:%Y-%m-%dT%H:%M:%SZ}; last error: ")
    assert watcher.messages[0].endswith("was refused); stopping the run")
    assert warning.startswith("could not release the maintenance lock (it expires by itself): ")


def test_a_lock_taken_over_mid_run_stops_the_run_and_keeps_stopping_it_until_released(cluster: SpiedTwin):
    lock = live_lock(cluster)
    lock.acquire()
    watcher = Watcher()
    lock.keep_renewed(watcher.notify, watcher.on_lost)
    try:
        wait_until(lambda: cluster.lease()["spec"]["renewTime"] != cluster.lease()["spec"]["acquireTime"],
                   "a first renewal")
        hand_over(cluster)
        watcher.wait_for_stop_request()
        # A run whose first interrupt fell between two cells is interrupted again.
        wait_until(lambda: watcher.stop_requests >= 2, "a second request to stop")
    finally:
        warning = lock.release()
    assert lock.lost == "lost the maintenance lock to thief@elsewhere:9"
    assert len(watcher.messages) == 1
    assert watcher.messages[0].startswith("lost the maintenance lock to thief@elsewhere:9 (maintenance lock held by "
                                          "thief@elsewhere:9 running upgrade-k8s until ")
    assert watcher.messages[0].endswith("); stopping the run")
    assert "taken over meanwhile" in warning and "left in place" in warning
    assert cluster.lease()["spec"]["holderIdentity"] == "thief@elsewhere:9"
    assert renewal_threads() == []
