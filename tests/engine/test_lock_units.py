"""The maintenance lock in process: its decisions against an in-memory Lease API and a clock the test moves.

tests/engine/test_lock.py runs the same lock against the twin's kubectl; here every call stays in
this process, so mutmut maps the tests to each function of homeops.runner.lock and a mutant costs
a fraction of a second. The fake API keeps the rules the lock relies on: a create over an
existing Lease and a replace over a stale resourceVersion (or a deleted Lease) are conflicts.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

import pytest

from homeops.runner import lock as lock_module
from homeops.runner.lock import Holder, LockHeld, LockLost, LockUnavailable, MaintenanceLock, holder_of
from homeops.tools.lease import LeaseApiError, LeaseClient, LeaseConflict

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=timezone.utc)
ME = "ana@laptop:101"
THIEF = "thief@elsewhere:9"
BOUNDED = 30  # seconds a test waits at most for the renewal thread's next pause (it never takes one)


class Clock:
    """The lock's clock: time moves only when the test (or the renewal thread's sleep) moves it."""

    def __init__(self, start: datetime = NOW):
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += timedelta(seconds=seconds)


class FakeApi:
    """One Lease, as the API server keeps it behind LeaseClient; `fail` queues an exception per operation.

    A replace without resourceVersion overwrites, as `kubectl replace` does (it reads the current
    version first); one of a deleted Lease is a conflict, as LeaseClient reports the twin's NotFound.
    """

    def __init__(self):
        self.lease: dict | None = None
        self.version = 0
        self.calls: list[tuple[str, float]] = []  # (operation, the calling client's timeout)
        self.written: list[dict] = []  # every create and replace the API accepted
        self.fail: dict[str, list[BaseException]] = {}
        self.before: dict[str, Callable[[], None]] = {}  # runs once, before the operation's next call

    def call(self, operation: str, timeout: float) -> None:
        self.calls.append((operation, timeout))
        if hook := self.before.pop(operation, None):
            hook()
        if self.fail.get(operation):
            raise self.fail[operation].pop(0)

    def get(self) -> dict | None:
        return json.loads(json.dumps(self.lease)) if self.lease is not None else None

    def create(self, lease: dict) -> None:
        if self.lease is not None:
            raise LeaseConflict('leases.coordination.k8s.io "homeops-maintenance" already exists')
        self._store(lease)

    def replace(self, lease: dict) -> None:
        if self.lease is None:
            raise LeaseConflict("the Lease kube-system/homeops-maintenance was deleted since it was read")
        wanted = lease["metadata"].get("resourceVersion")
        if wanted is not None and wanted != self.lease["metadata"]["resourceVersion"]:
            raise LeaseConflict("the object has been modified; please apply your changes to the latest version")
        self._store(lease)

    def delete(self) -> bool:
        gone, self.lease = self.lease is not None, None
        return gone

    def put(self, holder: str, *, runbook: str = "upgrade-k8s", renewed: datetime = NOW, seconds: int = 600) -> None:
        """Another run writes the Lease (created, or taken over)."""
        self._store({"metadata": {"name": "homeops-maintenance", "namespace": "kube-system",
                                  "annotations": {"homeops.dev/runbook": runbook}},
                     "spec": {"holderIdentity": holder, "leaseDurationSeconds": seconds,
                              "acquireTime": renewed.isoformat(), "renewTime": renewed.isoformat()}})
        self.written.pop()

    def operations(self) -> list[str]:
        return [operation for operation, _ in self.calls]

    def _store(self, lease: dict) -> None:
        self.written.append(lease)
        self.version += 1
        stored = json.loads(json.dumps(lease))
        stored["metadata"]["resourceVersion"] = str(self.version)
        self.lease = stored


def fail_next(api: FakeApi, operation: str = "get", error: Exception | None = None) -> Callable[[], None]:
    """An event: the next `operation` fails (the API server did not answer, by default)."""
    return lambda: api.fail.setdefault(operation, []).append(error or LeaseApiError("TLS handshake timeout"))


@dataclass(frozen=True)
class FakeClient(LeaseClient):
    """A LeaseClient whose calls reach `api` instead of kubectl; copies (the renewal client) share it."""

    api: FakeApi = field(default_factory=FakeApi)

    def get(self) -> dict | None:
        self.api.call("get", self.timeout)
        return self.api.get()

    def create(self, lease: dict) -> None:
        self.api.call("create", self.timeout)
        self.api.create(lease)

    def replace(self, lease: dict) -> None:
        self.api.call("replace", self.timeout)
        self.api.replace(lease)

    def delete(self) -> bool:
        self.api.call("delete", self.timeout)
        return self.api.delete()


def new_lock(api: FakeApi | None = None, *, seconds: int = 60, clock: Clock | None = None, identity: str = ME,
             runbook: str = "upgrade-talos", sleep: Callable[[float], None] | None = None,
             timeout: float = 20.0) -> MaintenanceLock:
    return MaintenanceLock(FakeClient(timeout=timeout, api=api or FakeApi()), runbook, seconds, identity=identity,
                           clock=clock or Clock(), sleep=sleep)


def api_of(lock: MaintenanceLock) -> FakeApi:
    return lock.client.api


# --- Holder and holder_of ------------------------------------------------------------------------

def test_a_holder_expires_at_its_expiry_not_a_moment_before():
    holder = Holder(THIEF, "upgrade-k8s", NOW)
    assert not holder.expired(NOW - timedelta(microseconds=1))
    assert holder.expired(NOW)
    assert holder.expired(NOW + timedelta(seconds=1))


def test_a_holder_without_an_expiry_never_expires():
    assert not Holder(THIEF, "upgrade-k8s", None).expired(NOW + timedelta(days=3650))


def test_a_holder_describes_itself_in_utc_to_the_second():
    expires = datetime(2026, 11, 26, 14, 30, 5, 999999, tzinfo=timezone(timedelta(hours=2)))
    assert Holder(THIEF, "upgrade-k8s", expires).describe() == (
        "maintenance lock held by thief@elsewhere:9 running upgrade-k8s until 2026-11-26T12:30:05Z")


def test_a_holder_without_an_expiry_says_so():
    assert Holder(THIEF, "upgrade-k8s", None).until() == "an unknown time (no renewTime)"


def lease_with(spec: dict, annotations: dict | None = None) -> dict:
    return {"metadata": {"annotations": annotations or {"homeops.dev/runbook": "upgrade-k8s"}}, "spec": spec}


def test_holder_of_reads_identity_runbook_and_the_expiry_from_the_last_renewal():
    holder = holder_of(lease_with({"holderIdentity": THIEF, "leaseDurationSeconds": 60,
                                   "acquireTime": "2026-11-26T11:00:00.000000Z",
                                   "renewTime": "2026-11-26T12:00:00.000000Z"}))
    assert holder == Holder(THIEF, "upgrade-k8s", NOW + timedelta(seconds=60))


def test_holder_of_falls_back_on_the_acquire_time_without_a_renewal():
    holder = holder_of(lease_with({"holderIdentity": THIEF, "leaseDurationSeconds": 60,
                                   "acquireTime": "2026-11-26T12:00:00.000000Z"}))
    assert holder.expires == NOW + timedelta(seconds=60)


@pytest.mark.parametrize("spec", [
    {"leaseDurationSeconds": 60},  # no time at all
    {"renewTime": "2026-11-26T12:00:00.000000Z"},  # no duration
    {"renewTime": "2026-11-26T12:00:00.000000Z", "leaseDurationSeconds": "60"},  # not a number of seconds
    {"renewTime": "yesterday noon", "leaseDurationSeconds": 60},  # not a time
], ids=["no-time", "no-duration", "duration-text", "time-text"])
def test_a_lease_whose_expiry_cannot_be_read_has_none(spec: dict):
    holder = holder_of(lease_with({"holderIdentity": THIEF, **spec}))
    assert holder.expires is None
    assert holder.identity == THIEF


@pytest.mark.parametrize("lease", [{}, {"metadata": None, "spec": None}, {"metadata": {"annotations": None}}],
                         ids=["empty", "nulls", "null-annotations"])
def test_a_lease_without_holder_or_runbook_is_held_by_an_unknown_run(lease: dict):
    assert holder_of(lease) == Holder("an unknown holder", "an unknown runbook", None)


# --- default_identity ----------------------------------------------------------------------------

def test_the_default_identity_is_user_at_host_colon_pid(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(lock_module.getpass, "getuser", lambda: "ana")
    monkeypatch.setattr(lock_module.socket, "gethostname", lambda: "laptop")
    monkeypatch.setattr(lock_module.os, "getpid", lambda: 4242)
    assert lock_module.default_identity() == "ana@laptop:4242"


@pytest.mark.parametrize("error", [KeyError("getpwuid(): uid not found: 1000"), OSError("No username set")])
def test_a_user_without_a_name_is_named_by_uid(monkeypatch: pytest.MonkeyPatch, error: Exception):
    def no_name() -> str:
        raise error

    monkeypatch.setattr(lock_module.getpass, "getuser", no_name)
    monkeypatch.setattr(lock_module.os, "getuid", lambda: 1000)
    monkeypatch.setattr(lock_module.socket, "gethostname", lambda: "runner")
    monkeypatch.setattr(lock_module.os, "getpid", lambda: 7)
    assert lock_module.default_identity() == "uid1000@runner:7"


def test_a_lock_without_an_identity_takes_the_default_one(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(lock_module, "default_identity", lambda: "bo@ci:202")
    lock = MaintenanceLock(FakeClient(), "upgrade-talos", 60, clock=Clock())
    lock.acquire()
    assert api_of(lock).lease["spec"]["holderIdentity"] == "bo@ci:202"


# --- the duration and its cadence ----------------------------------------------------------------

def test_a_lock_of_three_seconds_is_the_shortest_allowed():
    assert new_lock(seconds=3).duration_seconds == 3
    with pytest.raises(ValueError) as caught:
        new_lock(seconds=2)
    assert str(caught.value) == "a maintenance lock lasts at least 3s, not 2s"


def test_a_duration_in_a_float_is_leased_as_whole_seconds():
    # holder_of reads only an integer leaseDurationSeconds: a 90.0 would make the Lease one that never expires.
    lock = new_lock(seconds=90.0)
    lock.acquire()
    written = api_of(lock).lease["spec"]["leaseDurationSeconds"]
    assert written == 90 and type(written) is int
    assert holder_of(api_of(lock).lease).expires == NOW + timedelta(seconds=90)


def test_a_lease_is_renewed_three_times_per_duration_and_retried_four_times_per_renewal():
    lock = new_lock(seconds=60)
    assert lock.renew_interval_seconds == 20
    assert lock.retry_interval_seconds == 5


@pytest.mark.parametrize("client_timeout, seconds, call_limit", [(20, 3, 1.0), (20, 9, 1.5), (20, 60, 10.0),
                                                                 (20, 3600, 20.0), (4, 60, 4.0)])
def test_a_renewal_call_is_given_half_an_interval_at_least_a_second_and_at_most_the_client_limit(
        client_timeout: float, seconds: int, call_limit: float):
    lock = new_lock(seconds=seconds, timeout=client_timeout)
    renewal = lock_module._renewal_client(lock)
    assert renewal.timeout == call_limit
    assert renewal.api is lock.client.api and lock.client.timeout == client_timeout


# --- acquire ------------------------------------------------------------------------------------

def test_acquire_creates_the_lease_naming_this_run():
    lock = new_lock(seconds=60)
    lock.acquire()
    assert api_of(lock).written == [{
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "homeops-maintenance", "namespace": "kube-system",
                     "annotations": {"homeops.dev/runbook": "upgrade-talos"}},
        "spec": {"holderIdentity": ME, "leaseDurationSeconds": 60,
                 "acquireTime": "2026-11-26T12:00:00.000000Z", "renewTime": "2026-11-26T12:00:00.000000Z"},
    }]
    assert lock.acquired == NOW and lock.expires == NOW + timedelta(seconds=60)
    assert lock.taken_over is None


def test_acquire_writes_times_in_utc_with_microseconds():
    lock = new_lock(clock=Clock(datetime(2026, 11, 26, 13, 0, 0, 250, tzinfo=timezone(timedelta(hours=1)))))
    lock.acquire()
    assert api_of(lock).lease["spec"]["renewTime"] == "2026-11-26T12:00:00.000250Z"


@pytest.fixture
def tokyo(monkeypatch: pytest.MonkeyPatch):
    """The machine's local time is 9 hours ahead of UTC, as on a laptop in Tokyo."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_a_machine_in_another_time_zone_still_writes_and_describes_utc(tokyo):
    lock = new_lock(clock=Clock(NOW))
    lock.acquire()
    assert api_of(lock).lease["spec"]["renewTime"] == "2026-11-26T12:00:00.000000Z"
    assert lock.describe().endswith(" until 2026-11-26T12:01:00Z")
    assert holder_of(api_of(lock).lease).describe().endswith(" until 2026-11-26T12:01:00Z")


def test_the_default_clock_is_the_time_now_in_utc():
    lock = MaintenanceLock(FakeClient(), "upgrade-talos", 60, identity=ME)
    before = datetime.now(timezone.utc)
    lock.acquire()
    after = datetime.now(timezone.utc)
    assert before <= lock.acquired <= after
    assert lock.acquired.utcoffset() == timedelta(0)


def test_a_lease_held_until_later_refuses_the_run_and_is_not_touched():
    api = FakeApi()
    api.put(THIEF, renewed=NOW - timedelta(seconds=59), seconds=60)
    with pytest.raises(LockHeld) as caught:
        new_lock(api).acquire()
    assert str(caught.value) == (
        "maintenance lock held by thief@elsewhere:9 running upgrade-k8s until 2026-11-26T12:00:01Z")
    assert api.operations() == ["get"]
    assert api.lease["spec"]["holderIdentity"] == THIEF


def test_a_lease_expired_at_this_moment_is_taken_over_over_the_version_read():
    api = FakeApi()
    api.put(THIEF, renewed=NOW - timedelta(seconds=60), seconds=60)
    lock = new_lock(api, seconds=60)
    lock.acquire()
    assert lock.taken_over == Holder(THIEF, "upgrade-k8s", NOW)
    (written,) = api.written
    assert written["metadata"]["resourceVersion"] == "1"
    assert written["spec"]["holderIdentity"] == ME
    assert written["spec"]["acquireTime"] == written["spec"]["renewTime"] == "2026-11-26T12:00:00.000000Z"
    assert api.operations() == ["get", "replace"]
    assert lock.acquired == NOW and lock.expires == NOW + timedelta(seconds=60)


def test_a_takeover_that_loses_the_race_refuses_and_names_the_winner():
    api = FakeApi()
    api.put(THIEF, renewed=NOW - timedelta(hours=1), seconds=60)
    api.before["replace"] = lambda: api.put("rival@ci:303", runbook="cluster-health", renewed=NOW, seconds=60)
    lock = new_lock(api)
    with pytest.raises(LockHeld) as caught:
        lock.acquire()
    assert str(caught.value) == (
        "maintenance lock held by rival@ci:303 running cluster-health until 2026-11-26T12:01:00Z")
    assert api.lease["spec"]["holderIdentity"] == "rival@ci:303"
    assert lock.acquired is None and lock.taken_over is None


def test_a_create_that_loses_the_race_refuses_and_names_the_winner():
    api = FakeApi()
    api.before["create"] = lambda: api.put("rival@ci:303", runbook="cluster-health", renewed=NOW, seconds=60)
    lock = new_lock(api)
    with pytest.raises(LockHeld) as caught:
        lock.acquire()
    assert str(caught.value) == (
        "maintenance lock held by rival@ci:303 running cluster-health until 2026-11-26T12:01:00Z")
    assert lock.acquired is None


@pytest.mark.parametrize("after_conflict", ["deleted", "unreachable"])
def test_a_lost_race_whose_winner_cannot_be_read_still_refuses(after_conflict: str):
    api = FakeApi()
    api.fail["create"] = [LeaseConflict("AlreadyExists")]
    if after_conflict == "unreachable":  # the first read answers, the one after the conflict does not
        api.before["create"] = fail_next(api, "get")
    with pytest.raises(LockHeld) as caught:
        new_lock(api).acquire()
    assert str(caught.value) == "maintenance lock taken by another run at the same moment"


@pytest.mark.parametrize("operation", ["get", "create"])
def test_an_api_that_does_not_answer_makes_the_lock_unavailable(operation: str):
    api = FakeApi()
    api.fail[operation] = [LeaseApiError("The connection to the server 10.0.50.50:6443 was refused")]
    lock = new_lock(api)
    with pytest.raises(LockUnavailable) as caught:
        lock.acquire()
    assert str(caught.value) == ("cannot take the maintenance lock kube-system/homeops-maintenance: "
                                 "The connection to the server 10.0.50.50:6443 was refused")
    assert lock.acquired is None and lock.expires is None


# --- renew and cover -----------------------------------------------------------------------------

def taken(seconds: int = 60, clock: Clock | None = None, **kwargs) -> MaintenanceLock:
    lock = new_lock(seconds=seconds, clock=clock or Clock(), **kwargs)
    lock.acquire()
    api_of(lock).calls.clear()
    api_of(lock).written.clear()
    return lock


def test_renew_before_acquire_is_a_mistake():
    lock = new_lock()
    with pytest.raises(RuntimeError, match=r"^renew\(\) before acquire\(\)$"):
        lock.renew()
    assert api_of(lock).calls == []


def test_renew_moves_the_renew_time_keeps_the_acquire_time_and_writes_over_the_version_read():
    clock = Clock()
    lock = taken(clock=clock)
    clock.advance(20)
    lock.renew()
    (written,) = api_of(lock).written
    assert written["metadata"]["resourceVersion"] == "1"
    assert written["spec"]["acquireTime"] == "2026-11-26T12:00:00.000000Z"
    assert written["spec"]["renewTime"] == "2026-11-26T12:00:20.000000Z"
    assert written["spec"]["holderIdentity"] == ME and written["spec"]["leaseDurationSeconds"] == 60
    assert lock.expires == NOW + timedelta(seconds=80)
    assert lock.acquired == NOW


def test_renew_through_another_client_uses_that_client():
    lock = taken()
    other = dataclasses.replace(lock.client, timeout=3.0)
    lock.renew(other)
    assert api_of(lock).calls == [("get", 3.0), ("replace", 3.0)]


def test_renew_over_a_lease_changed_since_it_was_read_is_a_conflict_not_an_overwrite():
    lock = taken()
    api = api_of(lock)
    api.before["replace"] = lambda: api.put(THIEF)
    with pytest.raises(LeaseConflict):
        lock.renew()
    assert api.lease["spec"]["holderIdentity"] == THIEF
    assert lock.expires == NOW + timedelta(seconds=60), "the expiry moves only with a renewal written"


def test_renew_of_a_lease_taken_over_loses_the_lock_to_the_new_holder_and_writes_nothing():
    lock = taken()
    api_of(lock).put(THIEF, renewed=NOW, seconds=600)
    with pytest.raises(LockLost) as caught:
        lock.renew()
    assert caught.value.reason == "lost the maintenance lock to thief@elsewhere:9"
    assert str(caught.value) == ("lost the maintenance lock to thief@elsewhere:9 (maintenance lock held by "
                                 "thief@elsewhere:9 running upgrade-k8s until 2026-11-26T12:10:00Z)")
    assert api_of(lock).operations() == ["get"]


def test_renew_of_a_deleted_lease_loses_the_lock_and_creates_nothing():
    lock = taken()
    api_of(lock).delete()
    with pytest.raises(LockLost) as caught:
        lock.renew()
    assert caught.value.reason == "lost the maintenance lock: its Lease was deleted by someone else"
    assert str(caught.value) == ("lost the maintenance lock: its Lease was deleted by someone else "
                                 "(kube-system/homeops-maintenance not found)")
    assert api_of(lock).operations() == ["get"] and api_of(lock).lease is None


def test_one_renewal_at_a_time():
    lock = taken()
    held_during: list[bool] = []
    api_of(lock).before["get"] = lambda: held_during.append(lock._renewing.locked())
    lock.renew()
    assert held_during == [True]
    assert not lock._renewing.locked()


@pytest.mark.parametrize("seconds, extra", [(600, 600), (0.2, 1), (1.0, 1), (-5, 0)])
def test_cover_writes_at_once_a_lease_longer_by_whole_seconds(seconds: float, extra: int):
    clock = Clock()
    lock = taken(clock=clock)
    clock.advance(7)
    lock.cover(seconds)
    (written,) = api_of(lock).written
    assert written["spec"]["leaseDurationSeconds"] == 60 + extra
    assert written["spec"]["renewTime"] == "2026-11-26T12:00:07.000000Z"
    assert lock.expires == NOW + timedelta(seconds=7 + 60 + extra)


def test_the_renewal_after_a_cover_is_back_to_the_duration_once_the_cover_is_lifted():
    lock = taken()
    lock.cover(600)
    lock.cover(0)
    lock.renew()
    assert [w["spec"]["leaseDurationSeconds"] for w in api_of(lock).written] == [660, 60, 60]


def test_a_cover_that_cannot_be_written_raises_what_renew_raises():
    lock = taken()
    api_of(lock).fail["replace"] = [LeaseApiError("connection refused")]
    with pytest.raises(LeaseApiError):
        lock.cover(600)
    api_of(lock).put(THIEF)
    with pytest.raises(LockLost):
        lock.cover(600)


# --- verify: asked before every change ------------------------------------------------------------

def test_verify_passes_while_this_run_holds_the_lease():
    lock = taken()
    lock.verify()
    assert lock.lost is None
    assert api_of(lock).operations() == ["get"]


@pytest.mark.parametrize("error", [LeaseApiError("connection refused"), LeaseConflict("Conflict")])
def test_verify_proves_nothing_when_the_api_does_not_answer(error: Exception):
    lock = taken()
    api_of(lock).fail["get"] = [error]
    lock.verify()
    assert lock.lost is None


def test_verify_of_a_deleted_lease_loses_the_lock():
    lock = taken()
    api_of(lock).delete()
    with pytest.raises(LockLost) as caught:
        lock.verify()
    assert str(caught.value) == ("lost the maintenance lock: its Lease was deleted by someone else "
                                 "(kube-system/homeops-maintenance not found)")
    assert lock.lost == "lost the maintenance lock: its Lease was deleted by someone else"


def test_verify_of_a_lease_taken_over_loses_the_lock_to_the_new_holder():
    lock = taken()
    api_of(lock).put(THIEF, renewed=NOW, seconds=600)
    with pytest.raises(LockLost) as caught:
        lock.verify()
    assert str(caught.value) == ("lost the maintenance lock to thief@elsewhere:9 (maintenance lock held by "
                                 "thief@elsewhere:9 running upgrade-k8s until 2026-11-26T12:10:00Z)")
    assert lock.lost == "lost the maintenance lock to thief@elsewhere:9"
    assert api_of(lock).operations() == ["get"], "verify never writes"


def test_verify_keeps_the_first_reason_the_lock_was_lost():
    lock = taken()
    lock.lost = "lost the maintenance lock: it could not be renewed before it expired"
    api_of(lock).put(THIEF)
    with pytest.raises(LockLost) as caught:
        lock.verify()
    assert caught.value.reason == "lost the maintenance lock to thief@elsewhere:9"
    assert lock.lost == "lost the maintenance lock: it could not be renewed before it expired"


# --- describe and release ------------------------------------------------------------------------

def test_describe_names_the_lease_holder_runbook_and_expiry():
    lock = new_lock(clock=Clock(datetime(2026, 11, 26, 13, 0, 0, 900000, tzinfo=timezone(timedelta(hours=1)))))
    assert lock.describe() == "kube-system/homeops-maintenance held by ana@laptop:101 for upgrade-talos until not taken"
    lock.acquire()
    assert lock.describe() == ("kube-system/homeops-maintenance held by ana@laptop:101 for upgrade-talos "
                               "until 2026-11-26T12:01:00Z")


def test_release_deletes_the_lease_this_run_holds():
    lock = taken()
    assert lock.release() is None
    assert api_of(lock).lease is None
    assert api_of(lock).operations() == ["get", "delete"]


def test_release_leaves_a_lease_taken_over_meanwhile_in_place():
    lock = taken()
    api_of(lock).put(THIEF, renewed=NOW, seconds=600)
    assert lock.release() == ("the maintenance lock was taken over meanwhile (maintenance lock held by "
                              "thief@elsewhere:9 running upgrade-k8s until 2026-11-26T12:10:00Z); left in place")
    assert api_of(lock).lease["spec"]["holderIdentity"] == THIEF
    assert "delete" not in api_of(lock).operations()


def test_release_of_a_lease_already_gone_says_so():
    lock = taken()
    api_of(lock).delete()
    assert lock.release() == "the maintenance lock kube-system/homeops-maintenance was already gone"
    assert "delete" not in api_of(lock).operations()


@pytest.mark.parametrize("operation, error", [("get", LeaseApiError("connection refused")),
                                              ("delete", LeaseApiError("connection refused")),
                                              ("get", LeaseConflict("Conflict"))])
def test_a_release_the_api_refuses_is_a_warning_not_an_error(operation: str, error: Exception):
    lock = taken()
    api_of(lock).fail[operation] = [error]
    assert lock.release() == f"could not release the maintenance lock (it expires by itself): {error}"


def test_release_waits_for_a_renewal_in_flight_as_long_as_its_two_calls_may_take():
    lock = taken(seconds=60)

    class Renewer:
        def __init__(self):
            self.joined: list[float] = []

        def join(self, timeout: float) -> None:
            self.joined.append(timeout)

    renewer = Renewer()
    lock._renewer = renewer
    lock.release()
    assert renewer.joined == [2 * 10.0 + 1]
    assert lock._renewer is None


# --- the renewal thread --------------------------------------------------------------------------

class Schedule:
    """The renewal thread's sleep: each pause moves the clock by what it asked, then runs the next
    scripted event (the API failing, another run taking over...). Once the script is done the pause
    lasts until the test releases the lock, so the test looks at a thread that is waiting."""

    def __init__(self, clock: Clock, script: list[Callable[[], None]] | None = None):
        self.clock = clock
        self.script = list(script or [])
        self.pauses: list[float] = []
        self.threads: list[threading.Thread] = []
        self.lock: MaintenanceLock | None = None
        self.idle = threading.Event()

    def __call__(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.threads.append(threading.current_thread())
        self.clock.advance(seconds)
        if self.script:
            self.script.pop(0)()
            return
        self.idle.set()
        assert self.lock is not None
        self.lock._stopping.wait(BOUNDED)


class Run:
    """What the renewal thread tells the run: messages, and each request to stop it."""

    def __init__(self, clock: Clock, fails: bool = False):
        self.clock = clock
        self.messages: list[str] = []
        self.stopped_at: list[datetime] = []
        self.fails = fails

    def notify(self, message: str) -> None:
        self.messages.append(message)

    def on_lost(self) -> None:
        self.stopped_at.append(self.clock())
        if self.fails:
            raise RuntimeError("no cell is running")


def renewing(script: list[Callable[[], None]] | None = None, *, seconds: int = 60, fails: bool = False,
             api: FakeApi | None = None) -> tuple[MaintenanceLock, Schedule, Run]:
    """A lock taken at NOW and renewed by its thread until `script` is done and the thread waits."""
    clock = Clock()
    schedule = Schedule(clock, script)
    lock = new_lock(api, seconds=seconds, clock=clock, sleep=schedule)
    schedule.lock = lock
    lock.acquire()
    api_of(lock).calls.clear()
    api_of(lock).written.clear()
    run = Run(clock, fails)
    lock.keep_renewed(run.notify, run.on_lost)
    thread = lock._renewer
    for _ in range(BOUNDED * 20):
        if schedule.idle.wait(0.05) or not thread.is_alive():
            break
    assert schedule.idle.is_set(), f"the renewal thread never reached its last pause; messages: {run.messages}"
    return lock, schedule, run


def release_and_join(lock: MaintenanceLock) -> str | None:
    thread = lock._renewer
    warning = lock.release()
    assert not thread.is_alive(), "release() stops the renewal thread"
    return warning


def test_the_thread_renews_every_third_of_the_duration_through_calls_of_half_an_interval():
    lock, schedule, run = renewing([lambda: None, lambda: None], seconds=60)
    try:
        assert schedule.pauses == [20, 20, 20]
        assert [w["spec"]["renewTime"] for w in api_of(lock).written] == [
            "2026-11-26T12:00:20.000000Z", "2026-11-26T12:00:40.000000Z"]
        assert set(api_of(lock).calls) == {("get", 10.0), ("replace", 10.0)}
        assert lock.expires == NOW + timedelta(seconds=100)
        assert run.messages == [] and run.stopped_at == [] and lock.lost is None
    finally:
        assert release_and_join(lock) is None
    assert api_of(lock).lease is None


def test_the_thread_is_a_named_daemon_and_there_is_only_one_per_lock():
    lock, schedule, run = renewing()
    try:
        (thread,) = set(schedule.threads)
        assert thread is not threading.current_thread()
        assert thread.name == "maintenance-lock-renewal"
        assert thread.daemon, "a run that ends without release() must not hang on its renewal thread"
        with pytest.raises(RuntimeError, match="^the maintenance lock is already being renewed$"):
            lock.keep_renewed(run.notify, run.on_lost)
    finally:
        release_and_join(lock)


def test_a_failed_renewal_is_retried_every_quarter_interval_then_the_cadence_is_back():
    api = FakeApi()
    lock, schedule, run = renewing([fail_next(api), fail_next(api, "replace"), lambda: None, lambda: None],
                                   api=api)
    try:
        # renew at 20 fails, retry at 25 fails, retry at 30 succeeds, next at 50, at 70.
        assert schedule.pauses == [20, 5, 5, 20, 20]
        assert [w["spec"]["renewTime"][11:19] for w in api.written] == ["12:00:30", "12:00:50"]
        assert run.messages == [] and lock.lost is None
    finally:
        release_and_join(lock)


def test_any_failure_of_a_renewal_is_retried_not_only_an_api_error():
    api = FakeApi()
    lock, schedule, run = renewing([fail_next(api, "get", OSError(28, "No space left on device")), lambda: None],
                                   api=api)
    try:
        assert schedule.pauses == [20, 5, 20]
        assert run.messages == [] and lock.lost is None
    finally:
        release_and_join(lock)


def test_renewals_failing_until_no_retry_is_left_before_the_expiry_lose_the_lock_in_time():
    api = FakeApi()
    down = [fail_next(api) for _ in range(8)]
    lock, schedule, run = renewing(down, api=api, seconds=60)
    try:
        # Expires at 60: tries at 20, 25 ... 50 fail; at 55 one more retry would land at the expiry.
        assert schedule.pauses == [20, 5, 5, 5, 5, 5, 5, 5, 20]
        assert run.stopped_at[0] == NOW + timedelta(seconds=55)
        assert lock.lost == "lost the maintenance lock: it could not be renewed before it expired"
        assert run.messages == ["lost the maintenance lock: it could not be renewed before it expired "
                                "(expired at 2026-11-26T12:01:00Z; last error: TLS handshake timeout); "
                                "stopping the run"]
    finally:
        release_and_join(lock)


def test_a_lock_lost_to_another_run_stops_the_run_then_again_every_interval_until_released():
    api = FakeApi()
    lock, schedule, run = renewing([lambda: api.put(THIEF, renewed=NOW + timedelta(seconds=20)), lambda: None,
                                    lambda: None], api=api)
    try:
        assert lock.lost == "lost the maintenance lock to thief@elsewhere:9"
        assert run.messages == ["lost the maintenance lock to thief@elsewhere:9 (maintenance lock held by "
                                "thief@elsewhere:9 running upgrade-k8s until 2026-11-26T12:10:20Z); stopping the run"]
        assert run.stopped_at == [NOW + timedelta(seconds=20), NOW + timedelta(seconds=40),
                                  NOW + timedelta(seconds=60)]
        assert schedule.pauses == [20, 20, 20, 20]
        assert api.operations() == ["get"], "after the loss, nothing more is asked or written"
    finally:
        warning = release_and_join(lock)
    assert warning.endswith("; left in place")
    assert api.lease["spec"]["holderIdentity"] == THIEF


def test_a_run_that_cannot_be_stopped_is_warned_about_at_every_attempt():
    api = FakeApi()
    lock, schedule, run = renewing([api.delete, lambda: None], api=api, fails=True)
    try:
        assert run.messages == [
            "lost the maintenance lock: its Lease was deleted by someone else "
            "(kube-system/homeops-maintenance not found); stopping the run",
            "warning: could not interrupt the run: RuntimeError: no cell is running",
            "warning: could not interrupt the run: RuntimeError: no cell is running"]
        assert len(run.stopped_at) == 2
    finally:
        release_and_join(lock)


def test_a_renewal_that_fails_because_the_run_released_meanwhile_is_not_a_loss():
    api = FakeApi()
    clock = Clock()
    run = Run(clock)
    lock: MaintenanceLock

    def released_during_the_renewal() -> None:
        lock._stopping.set()  # release() has begun: its delete may beat the renewal's read
        api.delete()

    schedule = Schedule(clock, [lambda: api.before.update(get=released_during_the_renewal)])
    lock = new_lock(api, clock=clock, sleep=schedule)
    schedule.lock = lock
    lock.acquire()
    lock.keep_renewed(run.notify, run.on_lost)
    lock._renewer.join(BOUNDED)
    assert not lock._renewer.is_alive()
    assert run.messages == [] and run.stopped_at == [] and lock.lost is None


def test_a_renewal_that_fails_after_the_release_began_is_not_retried():
    api = FakeApi()
    clock = Clock()
    run = Run(clock)
    lock: MaintenanceLock

    def released_then_unreachable() -> None:
        lock._stopping.set()
        raise LeaseApiError("connection refused")

    schedule = Schedule(clock, [lambda: api.before.update(get=released_then_unreachable)])
    lock = new_lock(api, clock=clock, sleep=schedule)
    schedule.lock = lock
    lock.acquire()
    lock.keep_renewed(run.notify, run.on_lost)
    lock._renewer.join(BOUNDED)
    assert not lock._renewer.is_alive()
    assert schedule.pauses == [20], "no retry after the release"
    assert run.messages == [] and lock.lost is None


def test_without_a_sleep_the_thread_waits_on_the_release():
    lock = new_lock()
    assert lock._pause(0) is False
    lock._stopping.set()
    assert lock._pause(3600) is True, "a released lock ends the wait at once"
