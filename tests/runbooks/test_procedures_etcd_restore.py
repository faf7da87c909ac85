"""etcd-restore's procedures in process, step by step, with talosctl's answers set per test: the
triage and its refusal, where the identity comes from, which snapshot is chosen and what is checked
before anything is wiped, and the commands the gate is given."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import os
import re
import time
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pyrage
import pytest
from pyrage import x25519

from homeops.backup import sets, snapshots, unsealing
from homeops.backup.sealing import recipient, seal_bytes
from homeops.errors import RunbookStopped
from homeops.gate import Gate
from homeops.procedures import etcd_restore, etcd_triage
from homeops.procedures.session import Session
from homeops.tools import talos_recovery, talosctl
from homeops.tools.decode import ToolOutputInvalid
from homeops.tools.process import ToolError
from homeops.tools.shapes import EtcdMember, EtcdStatus

UPSTREAM = Path(__file__).resolve().parents[1] / "tools" / "fixtures" / "upstream"
CP1, CP2 = "10.0.10.11", "10.0.10.12"
UNREACHABLE = ToolError(["talosctl"], 1, "error listing services: 1 error occurred:\n\t* 10.0.10.12: rpc error: "
                                         "code = Unavailable desc = connection refused\n\n")


@pytest.fixture
def memory(monkeypatch, tmp_path):
    if not os.path.isdir("/dev/shm"):
        pytest.skip("no /dev/shm")
    import tempfile
    path = Path(tempfile.mkdtemp(prefix="homeops-test-", dir="/dev/shm"))
    monkeypatch.setenv("HOMEOPS_SCRATCH", str(path))
    yield path
    import shutil
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def identity():
    return x25519.Identity.generate()


@pytest.fixture
def make_session(cluster_model, identity, tmp_path):
    model = cluster_model.model_copy(update={"secrets": cluster_model.secrets.model_copy(
        update={"age_public_key": str(identity.to_public())})})

    def make(apply: bool) -> Session:
        return Session(model, Gate(apply, out=io.StringIO()), wait_timeout=0.5, poll_interval=0.01, project=tmp_path)

    return make


def said(session: Session) -> str:
    return session.gate._out.getvalue()


def talos(monkeypatch, services: dict[str, str | Exception], statuses: dict[str, tuple[str, str]] | None = None):
    """Per address: the etcd service's state (or the error), and etcd status's (LEADER, ERRORS)."""
    statuses = statuses or {}

    def service(address, **_):
        answer = services[address]
        if isinstance(answer, Exception):
            raise answer
        return talos_recovery.ServiceState(address, answer, "?")

    def status(address, **_):
        leader, errors = statuses.get(address, ("0000000000000000", "etcdserver: no leader"))
        return [EtcdStatus(address, "8f1e", leader, False, errors)]

    monkeypatch.setattr(talos_recovery, "etcd_service", service)
    monkeypatch.setattr(talosctl, "etcd_status", status)
    monkeypatch.setattr(talosctl, "etcd_members", lambda address, **_: [
        EtcdMember(address, "8f1e", "cp-1", False), EtcdMember(address, "9a2b", "cp-2", False)])


# --- talosctl's outputs -----------------------------------------------------------------------


def test_service_and_recovery_lines_are_read_from_talos_docs():
    argv = ["talosctl", "service", "etcd"]
    assert talos_recovery.parse_service((UPSTREAM / "talosctl-service-etcd-preparing.txt").read_text(), argv) == \
        talos_recovery.ServiceState("172.20.0.2", "Preparing", "?")
    line = (UPSTREAM / "talosctl-bootstrap-recover-from.txt").read_text()
    assert talos_recovery.parse_recovering(line, argv) == talos_recovery.Recovering(
        "./db.snapshot", "c25fd181", 4193, 1287, 3035136)
    with pytest.raises(ToolError, match="STATE row"):
        talos_recovery.parse_service("NODE 1.2.3.4\n", argv)
    with pytest.raises(ToolError, match="recovering from snapshot"):
        talos_recovery.parse_recovering("", argv)


def test_the_guides_commands_and_the_skip_flag_only_when_asked():
    assert talos_recovery.reset_ephemeral_argv(CP1, 900) == [
        "talosctl", "-n", CP1, "reset", "--graceful=false", "--reboot", "--system-labels-to-wipe=EPHEMERAL",
        "--timeout", "900s"]
    assert talos_recovery.recover_argv(CP1, "/m/db.snapshot", skip_hash_check=False) == [
        "talosctl", "-n", CP1, "bootstrap", "--recover-from=/m/db.snapshot"]
    assert talos_recovery.recover_argv(CP1, "/m/db", skip_hash_check=True)[-1] == "--recover-skip-hash-check"


# --- triage -----------------------------------------------------------------------------------


def test_a_member_with_a_leader_and_no_error_means_quorum_and_a_restore_is_refused(monkeypatch, make_session):
    talos(monkeypatch, {CP1: "Running", CP2: "Running"}, {CP1: ("8f1e", ""), CP2: ("8f1e", "")})
    found = etcd_triage.triage(make_session(True).cluster)
    assert found.quorum and [cp.node.name for cp in found.with_data] == ["cp-1", "cp-2"] and found.lost == []
    assert [row[2] for row in found.rows()[1:]] == ["healthy", "healthy"]
    with pytest.raises(RunbookStopped) as stop:
        etcd_triage.decide(make_session(True), found, why="  ")
    assert str(stop.value).startswith("refused: etcd has quorum (cp-1, cp-2 answer with a leader): bring the missing "
                                      "member back instead")
    assert str(stop.value).endswith("nothing changed")
    assert etcd_triage.decide(make_session(True), found, why="roll back a bad migration") == (
        "etcd has quorum (cp-1, cp-2 answer with a leader), restored anyway because: roll back a bad migration")


@pytest.mark.parametrize("leader, errors", [("0000000000000000", ""), ("8f1e", "etcdserver: no leader"),
                                            ("0000000000000000", "etcdserver: no leader")])
def test_no_leader_or_an_error_is_no_quorum(monkeypatch, make_session, leader, errors):
    talos(monkeypatch, {CP1: "Running", CP2: "Preparing"}, {CP1: (leader, errors), CP2: (leader, errors)})
    found = etcd_triage.triage(make_session(True).cluster)
    assert not found.quorum
    assert [cp.node.name for cp in found.with_data] == ["cp-1"]  # Preparing: no data to wipe
    assert [row[2] for row in found.rows()[1:]] == [errors or "no leader"] * 2
    assert etcd_triage.decide(make_session(True), found, "") == "etcd has no quorum: no member answers with a leader"


def test_one_healthy_member_is_quorum_even_beside_a_failing_one(monkeypatch, make_session):
    talos(monkeypatch, {CP1: "Running", CP2: "Running"}, {CP1: ("8f1e", "some error"), CP2: ("8f1e", "")})
    found = etcd_triage.triage(make_session(True).cluster)
    assert found.quorum
    with pytest.raises(RunbookStopped, match=r"etcd has quorum \(cp-2 answers with a leader\)"):
        etcd_triage.decide(make_session(True), found, "")


def test_a_node_that_does_not_answer_is_lost_and_named(monkeypatch, make_session):
    talos(monkeypatch, {CP1: "Running", CP2: UNREACHABLE})
    found = etcd_triage.triage(make_session(True).cluster)
    assert [cp.node.name for cp in found.lost] == ["cp-2"] and [cp.node.name for cp in found.reachable] == ["cp-1"]
    assert "connection refused" in found.lost[0].answer
    assert etcd_triage.decide(make_session(True), found, "disk died") == (
        "etcd has no quorum: no member answers with a leader; lost (no answer): cp-2; the operator's reason: disk died")
    assert "no answer: 10.0.10.12: rpc error" in found.table()


def test_with_no_control_plane_answering_there_is_nothing_to_restore_onto(monkeypatch, make_session):
    talos(monkeypatch, {CP1: UNREACHABLE, CP2: UNREACHABLE})
    with pytest.raises(RunbookStopped, match="refused: no control-plane node answers .* reinstall a control plane"):
        etcd_triage.decide(make_session(True), etcd_triage.triage(make_session(True).cluster), "why not")


# --- the identity -----------------------------------------------------------------------------


def key_text(identity) -> str:
    return f"# created: 2026-12-06\n# public key: {identity.to_public()}\n{identity}\n"


def test_the_identity_parameter_alone_is_read_when_given(tmp_path, identity):
    other = x25519.Identity.generate()
    named = tmp_path / "named.txt"
    named.write_text(key_text(identity))
    env = {"SOPS_AGE_KEY": str(other)}
    found = unsealing.find_identities(str(named), env)
    assert found.origins == (str(named),) and len(found.keys) == 1
    assert str(identity) not in found.describe()


def test_without_a_parameter_every_place_sops_looks_is_read(tmp_path, identity):
    other = x25519.Identity.generate()
    (tmp_path / "sops" / "age").mkdir(parents=True)
    default = tmp_path / "sops" / "age" / "keys.txt"
    default.write_text(key_text(identity))
    found = unsealing.find_identities(None, {"SOPS_AGE_KEY": str(other), "XDG_CONFIG_HOME": str(tmp_path)})
    assert found.origins == ("SOPS_AGE_KEY", str(default)) and len(found.keys) == 2
    chosen = tmp_path / "chosen.txt"
    chosen.write_text(key_text(other))
    found = unsealing.find_identities(None, {"SOPS_AGE_KEY_FILE": str(chosen), "XDG_CONFIG_HOME": str(tmp_path)})
    assert found.origins == (str(chosen),)


def test_no_identity_anywhere_or_a_bad_line_is_named_without_the_key(tmp_path):
    with pytest.raises(unsealing.IdentityMissing, match=r"no age identity found \(looked in SOPS_AGE_KEY, "):
        unsealing.find_identities(None, {"XDG_CONFIG_HOME": str(tmp_path)})
    bad = tmp_path / "bad.txt"
    bad.write_text("# comment\n\nAGE-SECRET-KEY-1NOTAKEY\n")
    with pytest.raises(unsealing.IdentityMissing, match=r"^line 3 of .*bad.txt is not an age identity"):
        unsealing.find_identities(str(bad), {})
    bad.write_text("# only comments\n")
    with pytest.raises(unsealing.IdentityMissing, match="holds no age identity"):
        unsealing.find_identities(str(bad), {})
    with pytest.raises(unsealing.IdentityMissing, match="cannot read the age identity in"):
        unsealing.find_identities(str(tmp_path / "missing"), {})


def test_a_file_opens_only_with_its_key_and_a_damaged_one_never(tmp_path, identity):
    path = tmp_path / "x.age"
    seal_bytes(b"etcd" * 100, path, recipient(str(identity.to_public())))
    mine = unsealing.Identities((identity,), ("mine",))
    assert unsealing.check_opens(path, mine) == 400
    stranger = unsealing.Identities((x25519.Identity.generate(),), ("theirs",))
    with pytest.raises(unsealing.WontOpen, match=r"\(it was encrypted to another key\)"):
        unsealing.check_opens(path, stranger)
    damaged = bytearray(path.read_bytes())
    damaged[-2] ^= 1
    path.write_bytes(bytes(damaged))
    with pytest.raises(unsealing.WontOpen, match=r"\(it is damaged or not an age file: decryption error\)"):
        unsealing.check_opens(path, mine)
    target = tmp_path / "plain"
    with pytest.raises(unsealing.WontOpen):
        unsealing.open_into(path, target, mine)
    assert not target.exists()  # nothing half-written left behind


def test_open_into_writes_a_private_file(tmp_path, identity):
    path = tmp_path / "x.age"
    seal_bytes(b"snapshot", path, recipient(str(identity.to_public())))
    target = tmp_path / "plain"
    assert unsealing.open_into(path, target, unsealing.Identities((identity,), ("mine",))) == 8
    assert target.read_bytes() == b"snapshot" and target.stat().st_mode & 0o077 == 0


# --- snapshot sources -------------------------------------------------------------------------


def backup(root: Path, stamp: str, identity, content: bytes = b"db", *, complete=True, revision=7,
           copy_of: str | None = None) -> Path:
    directory = root / (f"{sets.COPY_PREFIX}{stamp}" if copy_of else f"etcd-{stamp}")
    directory.mkdir(parents=True)
    file = sets.COPY_FILE if copy_of else sets.SNAPSHOT_FILE
    sealed = seal_bytes(content, directory / file, recipient(str(identity.to_public())))
    taken = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").strftime("%Y-%m-%dT%H:%M:%SZ")
    snapshot = {"file": file, "hash_appended": False, "revision": None} if copy_of else {"file": file, "revision": revision}
    sets.write_manifest(directory, {"complete": complete, "taken": taken, "snapshot": snapshot,
                                    "source": {"node": copy_of or "cp-1"},
                                    "files": [{"name": file, "sha256": sealed.sha256}]})
    return directory


def test_local_backups_are_listed_newest_first_without_incomplete_ones_or_copies(tmp_path, identity):
    old = backup(tmp_path, "20261201T000000Z", identity, revision=5)
    new = backup(tmp_path, "20261203T000000Z", identity, revision=9)
    backup(tmp_path, "20261204T000000Z", identity, complete=False)
    backup(tmp_path, "20261205T000000Z", identity, copy_of="cp-1")
    refs = snapshots.LocalSource(tmp_path).list()
    assert [(r.name, r.revision) for r in refs] == [(new.name, 9), (old.name, 5)]
    assert refs[0].taken_at == datetime(2026, 12, 3, tzinfo=timezone.utc)
    assert refs[0].sha256 == hashlib.sha256((new / sets.SNAPSHOT_FILE).read_bytes()).hexdigest()
    assert snapshots.copied_from(tmp_path / f"{sets.COPY_PREFIX}20261205T000000Z") == "cp-1"
    assert snapshots.copied_from(new) is None


def test_a_reference_never_leads_out_of_its_set(tmp_path, identity):
    directory = backup(tmp_path, "20261201T000000Z", identity)
    manifest = sets.read_manifest(directory)
    manifest["snapshot"]["file"] = "../../etc/passwd"
    sets.write_manifest(directory, manifest)
    source = snapshots.LocalSource(tmp_path)
    assert source.ref(directory) is None
    ref = snapshots.SnapshotRef(source.describe(), "../x", None, None, None)
    with pytest.raises(snapshots.SnapshotUnavailable):
        source.path_of(ref)


def test_sources_merge_newest_first_and_untimed_last():
    at = lambda day: datetime(2026, 12, day, tzinfo=timezone.utc)  # noqa: E731
    refs = [snapshots.SnapshotRef("a", "1", at(1), 1, None), snapshots.SnapshotRef("s3", "x", None, None, None),
            snapshots.SnapshotRef("s3", "3", at(3), 3, None)]
    assert [r.name for r in snapshots.newest_first(refs)] == ["3", "1", "x"]


# --- choosing and checking, before anything is wiped ------------------------------------------


def test_the_newest_backup_is_chosen_by_default_and_a_name_or_path_picks_another(make_session, identity):
    session = make_session(True)
    root = session.project / "backups"
    old = backup(root, "20261201T000000Z", identity)
    new = backup(root, "20261203T000000Z", identity)
    assert etcd_restore.choose(session, "newest", "backups", None).ref.name == new.name
    assert etcd_restore.choose(session, "", "backups", None).ref.name == new.name
    named = etcd_restore.choose(session, old.name, "backups", None)
    assert named.ref.name == old.name and not named.skip_hash_check
    by_path = etcd_restore.choose(session, str(old / sets.SNAPSHOT_FILE), "backups", None)
    assert by_path.ref.name == old.name
    with pytest.raises(RunbookStopped, match="refused: no backup named 'etcd-19990101T000000Z' in "):
        etcd_restore.choose(session, "etcd-19990101T000000Z", "backups", None)


def test_no_backup_at_all_stops_and_names_the_copy(make_session, identity):
    session = make_session(True)
    copied = etcd_restore.Copied(session.cluster.control_planes[0], None, None)
    with pytest.raises(RunbookStopped, match=r"refused: no backup in .*backups/; the database copied off cp-1 can be "
                                             r"restored with -p snapshot=copied"):
        etcd_restore.choose(session, "newest", "backups", copied)
    with pytest.raises(RunbookStopped, match="snapshot=copied, but no member had a database to copy"):
        etcd_restore.choose(session, "copied", "backups", None)


def test_the_copy_is_restored_with_the_skip_hash_check(make_session, identity):
    session = make_session(True)
    directory = backup(session.project / "backups", "20261205T000000Z", identity, copy_of="cp-1")
    copied = etcd_restore.Copied(session.cluster.control_planes[0], directory, None)
    chosen = etcd_restore.choose(session, "copied", "backups", copied)
    assert chosen.skip_hash_check and chosen.copied_from == "cp-1" and chosen.ref.name == directory.name
    assert etcd_restore.choose(session, directory.name, "backups", None).skip_hash_check


def test_a_changed_file_or_a_foreign_identity_stops_before_anything(make_session, identity, memory):
    session = make_session(True)
    directory = backup(session.project / "backups", "20261203T000000Z", identity, content=b"x" * 50)
    chosen = etcd_restore.choose(session, "newest", "backups", None)
    mine = unsealing.Identities((identity,), ("mine",))
    assert etcd_restore.verify(session, chosen, mine).size == 50
    assert "snapshot checked: sha256 matches its manifest, decrypts whole (50 bytes)" in said(session)
    with pytest.raises(RunbookStopped, match=r"\(it was encrypted to another key\) \(the identity must be"):
        etcd_restore.verify(session, chosen, unsealing.Identities((x25519.Identity.generate(),), ("theirs",)))
    file = directory / sets.SNAPSHOT_FILE
    file.write_bytes(file.read_bytes() + b"\n")
    with pytest.raises(RunbookStopped, match=r"has sha256 [0-9a-f]{64}, its manifest says "):
        etcd_restore.verify(session, chosen, mine)
    assert list(memory.iterdir()) == []


def test_a_source_without_a_manifest_hash_is_vouched_for_by_age_alone(make_session, identity, memory, tmp_path):
    session = make_session(True)
    held = tmp_path / "remote.age"
    seal_bytes(b"remote db", held, recipient(str(identity.to_public())))

    class Remote:
        def describe(self):
            return "s3://bucket/home"

        def list(self):
            return [snapshots.SnapshotRef("s3://bucket/home", "home-1.snap.age", None, None, None)]

        def fetch(self, ref, into):
            target = into / "fetched.age"
            target.write_bytes(held.read_bytes())
            return target

    chosen = etcd_restore.Chosen(Remote().list()[0], Remote(), None)
    assert etcd_restore.verify(session, chosen, unsealing.Identities((identity,), ("mine",))).size == 9
    assert lines(session)[-1] == "snapshot checked: no manifest sha256 (age authenticated it), decrypts whole (9 bytes)"


# --- the copy, the reset, the recovery --------------------------------------------------------


def found_with(monkeypatch, session, services):
    talos(monkeypatch, services)
    return etcd_triage.triage(session.cluster)


def test_the_database_is_copied_off_the_first_member_with_data_and_sealed(monkeypatch, make_session, identity, memory):
    session = make_session(True)
    found = found_with(monkeypatch, session, {CP1: "Preparing", CP2: "Running"})
    asked = []

    def copy(gate, address, directory, **_):
        asked.append(address)
        Path(directory).mkdir()
        (Path(directory) / "db").write_bytes(b'{"snapshot": "homeops-twin"}')
        return True

    monkeypatch.setattr(talos_recovery, "copy_database", copy)
    copied = etcd_restore.copy_database(session, found, "backups")
    assert asked == [CP2] and copied.node.name == "cp-2"
    assert copied.directory.name.startswith(sets.COPY_PREFIX)
    assert pyrage.decrypt(copied.sealed.path.read_bytes(), [identity]) == b'{"snapshot": "homeops-twin"}'
    assert snapshots.copied_from(copied.directory) == "cp-2"
    assert list(memory.iterdir()) == []


def test_no_copy_at_all_is_a_stop_before_any_wipe(monkeypatch, make_session, memory):
    session = make_session(True)
    found = found_with(monkeypatch, session, {CP1: "Running", CP2: "Failed"})

    def refused(gate, address, directory, **_):
        raise ToolError(["talosctl"], 1, f"error copying: {address}: no such file or directory")

    monkeypatch.setattr(talos_recovery, "copy_database", refused)
    with pytest.raises(RunbookStopped, match=r"could not be copied off any member that holds one \(cp-1: .*; cp-2: "):
        etcd_restore.copy_database(session, found, "backups")
    nothing = found_with(monkeypatch, session, {CP1: "Preparing", CP2: "Preparing"})
    assert etcd_restore.copy_database(session, nothing, "backups") is None


def test_plan_shows_the_copy_reset_and_recovery_with_the_guides_flags(monkeypatch, make_session, identity):
    session = make_session(False)
    found = found_with(monkeypatch, session, {CP1: "Running", CP2: UNREACHABLE})
    copied = etcd_restore.copy_database(session, found, "backups")
    chosen = etcd_restore.choose(session, "copied", "backups", copied)
    verified = etcd_restore.verify(session, chosen, unsealing.Identities((identity,), ("mine",)))
    assert etcd_restore.reset_members(session, found, verified) == ["cp-1"]
    assert etcd_restore.recover(session, found, verified, unsealing.Identities((identity,), ("mine",))) is None
    plans = [line.split("  # ")[0] for line in said(session).splitlines() if line.startswith("PLAN: talosctl")]
    assert plans == [
        f"PLAN: talosctl -n {CP1} cp /var/lib/etcd/member/snap/db homeops-backup-XXXX/copy",
        f"PLAN: talosctl -n {CP1} reset --graceful=false --reboot --system-labels-to-wipe=EPHEMERAL --timeout 0.5s",
        f"PLAN: talosctl -n {CP1} bootstrap --recover-from=homeops-backup-XXXX/db.snapshot --recover-skip-hash-check"]
    assert not (session.project / "backups").exists()
    summary = etcd_restore.summary(session, found, verified, None)
    assert summary.splitlines()[0].startswith("cp-2 did not answer (10.0.10.12: rpc error: code = Unavailable")
    assert "run node-add -p node=cp-2 to bring it back" in summary
    assert summary.splitlines()[-1].startswith("plan: etcd would be recovered on cp-1 from the database this run "
                                               "would copy; nothing changed")


def test_only_members_with_data_are_reset(monkeypatch, make_session, identity):
    session = make_session(True)
    found = found_with(monkeypatch, session, {CP1: "Running", CP2: "Preparing"})
    reset = []
    monkeypatch.setattr(talos_recovery, "reset_ephemeral", lambda gate, address, **_: reset.append(address))
    verified = etcd_restore.Verified(etcd_restore.Chosen(None, None, None), None)
    assert etcd_restore.reset_members(session, found, verified) == ["cp-1"] and reset == [CP1]


def test_the_recovery_runs_once_from_a_plain_copy_in_memory_that_is_gone_after(monkeypatch, make_session, identity,
                                                                               memory):
    session = make_session(True)
    backup(session.project / "backups", "20261203T000000Z", identity, content=b"the db", revision=4193)
    found = found_with(monkeypatch, session, {CP1: "Preparing", CP2: "Preparing"})
    keys = unsealing.Identities((identity,), ("mine",))
    verified = etcd_restore.verify(session, etcd_restore.choose(session, "newest", "backups", None), keys)
    calls = []

    def recover(gate, address, path, *, skip_hash_check, **_):
        calls.append((address, Path(path).read_bytes(), Path(path).parent.parent == memory, skip_hash_check))
        return talos_recovery.Recovering(path, "c25fd181", 4193, 1287, 3035136)

    monkeypatch.setattr(talos_recovery, "recover", recover)
    recovering = etcd_restore.recover(session, found, verified, keys)
    assert calls == [(CP1, b"the db", True, False)] and list(memory.iterdir()) == []
    assert etcd_restore.summary(session, found, verified, recovering) == (
        "etcd restored on cp-1 from the backup etcd-20261203T000000Z: the cluster's state went back to the "
        "snapshot's time, 2026-12-03T00:00:00Z (revision 4193); every change to Kubernetes since then is gone "
        "(Flux applies again what Git holds)")


def test_a_refused_recovery_stops_naming_what_to_look_at(monkeypatch, make_session, identity, memory):
    session = make_session(True)
    backup(session.project / "backups", "20261203T000000Z", identity)
    found = found_with(monkeypatch, session, {CP1: "Preparing", CP2: "Preparing"})
    keys = unsealing.Identities((identity,), ("mine",))
    verified = etcd_restore.verify(session, etcd_restore.choose(session, "newest", "backups", None), keys)

    def refused(*_, **__):
        raise ToolError(["talosctl"], 1, "error uploading snapshot: etcd service is not ready for recovery yet")

    monkeypatch.setattr(talos_recovery, "recover", refused)
    with pytest.raises(RunbookStopped, match=r"stopped at step 'bootstrap --recover-from': .*not ready for recovery "
                                             r"yet; left in place: every control plane wiped, etcd not recovered; "
                                             r"look at `talosctl -n 10.0.10.11 service etcd`"):
        etcd_restore.recover(session, found, verified, keys)
    assert list(memory.iterdir()) == []


@pytest.mark.parametrize("error, left", [
    (ToolError(["talosctl"], None, "killed after 300s"), "may be recovering"),
    (ToolOutputInvalid(["talosctl"], "something else", "the line"), "may be recovering"),
])
def test_a_recovery_without_a_readable_answer_may_be_under_way(monkeypatch, make_session, identity, memory, error, left):
    session = make_session(True)
    backup(session.project / "backups", "20261203T000000Z", identity)
    found = found_with(monkeypatch, session, {CP1: "Preparing", CP2: "Preparing"})
    keys = unsealing.Identities((identity,), ("mine",))
    verified = etcd_restore.verify(session, etcd_restore.choose(session, "newest", "backups", None), keys)
    if not isinstance(error, ToolOutputInvalid):
        error.in_doubt = "etcd on cp-1 may be recovering from the snapshot"  # what the gate sets on a timeout

    def unanswered(*_, **__):
        raise error

    monkeypatch.setattr(talos_recovery, "recover", unanswered)
    with pytest.raises(RunbookStopped, match=f"etcd on cp-1 {left}: look at `talosctl -n 10.0.10.11 service etcd` "
                                             "first"):
        etcd_restore.recover(session, found, verified, keys)
    assert list(memory.iterdir()) == []


# --- the triage's details, pinned whole (what the table and the refusals say) ------------------


def test_the_triage_table_names_every_answer(monkeypatch, make_session):
    talos(monkeypatch, {CP1: "Running", CP2: UNREACHABLE}, {CP1: ("0000000000000000", "etcdserver: no leader")})
    found = etcd_triage.triage(make_session(True).cluster)
    no_answer = "no answer: 10.0.10.12: rpc error: code = Unavailable desc = connection refused"
    width = len(no_answer)
    assert found.table().splitlines() == [
        f"node               {'etcd service':<{width}}  etcd status            in member list",
        f"cp-1 (10.0.10.11)  {'Running':<{width}}  etcdserver: no leader  yes",
        f"cp-2 (10.0.10.12)  {no_answer}  {'-':<21}  yes",
    ]


def test_a_status_that_fails_or_names_other_nodes_is_read_for_this_node_only(monkeypatch, make_session):
    talos(monkeypatch, {CP1: "Running", CP2: "Preparing"})
    monkeypatch.setattr(talos_recovery, "etcd_service",
                        lambda address, **_: talos_recovery.ServiceState(address, "Running", "OK"))

    def status(address, **_):
        if address == CP2:
            raise ToolError(["talosctl"], 1, "error getting status: 1 error occurred:\n\t* 10.0.10.12: rpc error: "
                                             "code = Unknown desc = failed to create etcd client\n")
        return [EtcdStatus(CP2, "9a2b", "9a2b", False, ""), EtcdStatus(CP1, "8f1e", "0000000000000000", False, "")]

    monkeypatch.setattr(talosctl, "etcd_status", status)
    cp1, cp2 = etcd_triage.triage(make_session(True).cluster).control_planes
    assert (cp1.service, cp1.answer, cp1.status.node, cp1.healthy_member, cp1.status_error) == (
        "Running", "OK", CP1, False, "")
    assert (cp2.node.name, cp2.service, cp2.answer, cp2.status, cp2.status_error) == ("cp-2",
        "Running", "OK", None, "10.0.10.12: rpc error: code = Unknown desc = failed to create etcd client")
    assert cp2.has_data and not cp2.healthy_member
    monkeypatch.setattr(talosctl, "etcd_status", lambda address, **_: [])
    cp1, _ = etcd_triage.triage(make_session(True).cluster).control_planes
    assert (cp1.status, cp1.status_error) == (None, "no status")
    # A row without a NODE column's value is this node's own (a single-node call).
    unnamed = [EtcdStatus(CP2, "9a2b", "9a2b", False, ""), EtcdStatus("", "8f1e", "8f1e", False, "")]
    monkeypatch.setattr(talosctl, "etcd_status", lambda address, **_: unnamed)
    cp1, _ = etcd_triage.triage(make_session(True).cluster).control_planes
    assert cp1.status.member == "8f1e"


def test_the_member_list_comes_from_the_first_node_that_gives_it(monkeypatch, make_session):
    talos(monkeypatch, {CP1: UNREACHABLE, CP2: "Preparing"})
    asked = []

    def members(address, **_):
        asked.append(address)
        return [EtcdMember(address, "9a2b", "cp-2", True)]

    monkeypatch.setattr(talosctl, "etcd_members", members)
    found = etcd_triage.triage(make_session(True).cluster)
    assert asked == [CP2] and found.members == (EtcdMember(CP2, "9a2b", "cp-2", True),) and found.members_error == ""
    assert [row[3] for row in found.rows()[1:]] == ["no", "yes"]

    def refused(address, **_):
        raise ToolError(["talosctl"], 1, f"error getting members: 1 error occurred:\n\t* {address}: context deadline "
                                         "exceeded\n")

    talos(monkeypatch, {CP1: "Preparing", CP2: "Preparing"})
    monkeypatch.setattr(talosctl, "etcd_members", refused)
    found = etcd_triage.triage(make_session(True).cluster)
    assert found.members is None and [row[3] for row in found.rows()[1:]] == ["?", "?"]
    assert found.members_error == ("cp-1: 10.0.10.11: context deadline exceeded; "
                                   "cp-2: 10.0.10.12: context deadline exceeded")
    talos(monkeypatch, {CP1: UNREACHABLE, CP2: UNREACHABLE})
    assert etcd_triage.triage(make_session(True).cluster).members_error == "no control plane answers"


def test_why_a_call_failed_is_its_node_line_or_its_last_line():
    assert etcd_triage._first_line(UNREACHABLE) == "10.0.10.12: rpc error: code = Unavailable desc = connection refused"
    assert etcd_triage._first_line(ToolError(["talosctl"], 1, "first\nlast\n")) == "last"
    assert etcd_triage._first_line(ToolError(["talosctl"], 1, "", "only stdout\n")) == "only stdout"
    assert etcd_triage._first_line(ValueError()) == "ValueError"


def test_the_refusals_read_whole(monkeypatch, make_session, cluster_model):
    talos(monkeypatch, {CP1: "Running", CP2: "Running"}, {CP1: ("8f1e", "")})
    with pytest.raises(RunbookStopped) as quorum:
        etcd_triage.decide(make_session(True), etcd_triage.triage(make_session(True).cluster), "")
    assert str(quorum.value) == (
        "refused: etcd has quorum (cp-1 answers with a leader): bring the missing member back instead (Talos's guide: "
        "restoring quorum beats a disaster recovery), or, to throw away every change since the snapshot, re-run with "
        "-p why=\"the reason\" (recorded); nothing changed")
    talos(monkeypatch, {CP1: UNREACHABLE, CP2: UNREACHABLE})
    with pytest.raises(RunbookStopped) as nothing:
        etcd_triage.decide(make_session(True), etcd_triage.triage(make_session(True).cluster), "")
    assert str(nothing.value) == (
        "refused: no control-plane node answers (cp-1: 10.0.10.12: rpc error: code = Unavailable desc = connection "
        "refused; cp-2: 10.0.10.12: rpc error: code = Unavailable desc = connection refused): a restore needs one "
        "running Talos to bootstrap etcd on; reinstall a control plane with its machine configuration (the backup "
        "holds it), then run etcd-restore again; nothing changed")
    # Three control planes, two of them lost (a worker's Node stands in for the third).
    three = etcd_triage.Triage(tuple(etcd_triage.ControlPlane(n, None, "gone") for n in cluster_model.control_planes)
                               + (etcd_triage.ControlPlane(cluster_model.workers[0], "Preparing", "?"),), None)
    assert etcd_triage.decide(make_session(True), three, "") == (
        "etcd has no quorum: no member answers with a leader; lost (no answer): cp-1, cp-2")
    with pytest.raises(RunbookStopped) as none:
        etcd_triage.triage(SimpleNamespace(control_planes=[]))
    assert str(none.value) == "refused: cluster.yaml has no control-plane node; nothing changed"


# --- sources and identities, edge by edge ------------------------------------------------------


def test_manifest_times_and_revisions_are_read_only_when_well_formed(tmp_path, identity):
    assert snapshots.parse_time("2026-12-06T17:40:00Z") == datetime(2026, 12, 6, 17, 40, tzinfo=timezone.utc)
    assert snapshots.parse_time("yesterday") is None and snapshots.parse_time(1733500000) is None
    directory = backup(tmp_path, "20261201T000000Z", identity)
    manifest = sets.read_manifest(directory)
    manifest.update(taken="soon", snapshot={"file": sets.SNAPSHOT_FILE, "revision": True},
                    files=[{"name": sets.SNAPSHOT_FILE, "sha256": 7}, "junk"])
    sets.write_manifest(directory, manifest)
    ref = snapshots.LocalSource(tmp_path).ref(directory)
    assert (ref.taken_at, ref.revision, ref.sha256, ref.name, ref.source) == (
        None, None, None, directory.name, f"{tmp_path}/")
    (directory / "manifest.json").write_text("{not json")
    assert snapshots.LocalSource(tmp_path).ref(directory) is None
    assert snapshots.copied_from(directory) is None


@pytest.mark.parametrize("file", ["", ".", "..", "a/b", None, 3])
def test_a_manifest_names_its_snapshot_inside_its_set_or_not_at_all(tmp_path, identity, file):
    directory = backup(tmp_path, "20261201T000000Z", identity)
    manifest = sets.read_manifest(directory)
    manifest["snapshot"]["file"] = file
    sets.write_manifest(directory, manifest)
    assert snapshots.LocalSource(tmp_path).ref(directory) is None


def test_a_local_snapshot_is_fetched_as_its_encrypted_file(tmp_path, identity):
    directory = backup(tmp_path / "backups", "20261201T000000Z", identity)
    source = snapshots.LocalSource(tmp_path / "backups")
    [ref] = source.list()
    into = tmp_path / "into"
    into.mkdir()
    fetched = source.fetch(ref, into)
    assert fetched == into / sets.SNAPSHOT_FILE
    assert fetched.read_bytes() == (directory / sets.SNAPSHOT_FILE).read_bytes()
    (directory / sets.SNAPSHOT_FILE).unlink()
    with pytest.raises(snapshots.SnapshotUnavailable, match="holds no encrypted snapshot"):
        source.path_of(ref)
    (directory / "manifest.json").write_text("[")
    with pytest.raises(snapshots.SnapshotUnavailable, match="its manifest cannot be read"):
        source.path_of(ref)
    with pytest.raises(snapshots.SnapshotUnavailable, match="no such backup"):
        source.path_of(dataclasses.replace(ref, name="etcd-19990101T000000Z"))
    assert snapshots.LocalSource(tmp_path / "nowhere").list() == []


def test_a_copy_without_a_named_node_is_still_a_copy(tmp_path, identity):
    directory = backup(tmp_path, "20261205T000000Z", identity, copy_of="cp-1")
    manifest = sets.read_manifest(directory)
    del manifest["source"]
    sets.write_manifest(directory, manifest)
    assert snapshots.copied_from(directory) == "a member"


def test_sources_are_the_local_backups_and_s3_only_when_cluster_yaml_names_it(make_session, monkeypatch):
    session = make_session(True)
    [local] = snapshots.sources_for(session, "backups")
    assert isinstance(local, snapshots.LocalSource) and local.directory == session.project / "backups"
    [absolute] = snapshots.sources_for(session, "/srv/etcd")
    assert absolute.directory == Path("/srv/etcd")
    remote = object()
    monkeypatch.setattr(snapshots, "_s3_source", lambda cluster: remote)
    with_s3 = Session(SimpleNamespace(backups=SimpleNamespace(bucket="b")), session.gate, 1, 1, project=session.project)
    assert snapshots.sources_for(with_s3, "backups")[1] is remote
    monkeypatch.setattr(snapshots, "_s3_source", lambda cluster: None)
    assert len(snapshots.sources_for(with_s3, "backups")) == 1


def test_identities_say_how_many_and_from_where(tmp_path, identity, monkeypatch):
    two = unsealing.Identities((identity, x25519.Identity.generate()), ("SOPS_AGE_KEY", "/k.txt"))
    assert two.describe() == "2 age identities from SOPS_AGE_KEY, /k.txt"
    assert unsealing.Identities((identity,), ("/k.txt",)).describe() == "1 age identity from /k.txt"
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "k.txt").write_text(key_text(identity))
    found = unsealing.find_identities("~/k.txt", {})
    assert found.origins == (str(tmp_path / "k.txt"),)
    assert str(found.keys[0].to_public()) == str(identity.to_public())


def test_manifests_of_the_wrong_shape_name_no_snapshot(tmp_path, identity):
    directory = backup(tmp_path, "20261201T000000Z", identity)
    source = snapshots.LocalSource(tmp_path)
    [ref] = source.list()
    manifest = sets.read_manifest(directory)
    sets.write_manifest(directory, {**manifest, "complete": False})
    assert source.ref(directory) is None
    sets.write_manifest(directory, {**manifest, "snapshot": "etcd.snapshot.age"})
    assert source.ref(directory) is None and snapshots.copied_from(directory) is None
    (directory / "manifest.json").write_text("[]")
    with pytest.raises(snapshots.SnapshotUnavailable, match="holds no encrypted snapshot"):
        source.path_of(ref)
    assert snapshots.copied_from(directory) is None
    copy = backup(tmp_path, "20261205T000000Z", identity, copy_of="cp-1")
    sets.write_manifest(copy, {**sets.read_manifest(copy), "source": {"node": ""}})
    assert snapshots.copied_from(copy) == "a member"


def test_the_s3_source_is_made_from_the_sessions_cluster(make_session, monkeypatch):
    session = make_session(True)
    cluster = SimpleNamespace(backups=SimpleNamespace(bucket="b"))
    made = []
    monkeypatch.setattr(snapshots, "_s3_source", lambda given: made.append(given) or object())
    snapshots.sources_for(Session(cluster, session.gate, 1, 1, project=session.project), "backups")
    assert made == [cluster]


def test_every_identity_problem_reads_whole(tmp_path, monkeypatch):
    with pytest.raises(unsealing.IdentityMissing) as missing:
        unsealing.find_identities(None, {"XDG_CONFIG_HOME": str(tmp_path)})
    assert str(missing.value) == (
        f"no age identity found (looked in SOPS_AGE_KEY, {tmp_path}/sops/age/keys.txt): pass -p identity=FILE, "
        "the file of the key whose public key is secrets.age_public_key")
    with pytest.raises(unsealing.IdentityMissing) as unread:
        unsealing.find_identities(str(tmp_path / "gone.txt"), {})
    assert str(unread.value) == f"cannot read the age identity in {tmp_path / 'gone.txt'} (No such file or directory)"
    with pytest.raises(unsealing.IdentityMissing) as foreign:
        unsealing.find_identities(None, {"SOPS_AGE_KEY": "hello"})
    assert str(foreign.value) == "line 1 of SOPS_AGE_KEY is not an age identity (a line starting AGE-SECRET-KEY-)"
    (tmp_path / "sops" / "age").mkdir(parents=True)
    (tmp_path / "sops" / "age" / "keys.txt").write_text("AGE-SECRET-KEY-1X\n")
    with pytest.raises(unsealing.IdentityMissing, match=f"^line 1 of {tmp_path}/sops/age/keys.txt is not an age "):
        unsealing.find_identities(None, {"XDG_CONFIG_HOME": str(tmp_path)})


def test_without_an_environment_given_the_processs_own_is_read(monkeypatch, identity, tmp_path):
    monkeypatch.setenv("SOPS_AGE_KEY", str(identity))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("SOPS_AGE_KEY_FILE", raising=False)
    assert unsealing.find_identities().origins == ("SOPS_AGE_KEY",)


def test_refusals_to_open_name_the_file_and_a_long_file_is_counted_whole(tmp_path, identity):
    path = tmp_path / "big.age"
    seal_bytes(os.urandom(200_000), path, recipient(str(identity.to_public())))
    mine = unsealing.Identities((identity,), ("mine",))
    assert unsealing.check_opens(path, mine) == 200_000  # age's 64 KiB chunks, every one counted
    theirs = unsealing.Identities((x25519.Identity.generate(),), ("theirs",))
    with pytest.raises(unsealing.WontOpen, match=f"^{path} does not decrypt with 1 age identity from theirs "):
        unsealing.check_opens(path, theirs)
    data = bytearray(path.read_bytes())
    data[-2] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(unsealing.WontOpen) as damaged:
        unsealing.open_into(path, tmp_path / "plain", mine)
    assert str(damaged.value) == (f"{path} does not decrypt with 1 age identity from mine (it is damaged or not an "
                                  "age file: decryption error)")


def test_the_s3_source_is_imported_only_when_asked_and_absent_is_none(monkeypatch):
    import sys
    import types

    cluster = SimpleNamespace(backups=SimpleNamespace(bucket="b"))
    monkeypatch.setitem(sys.modules, "homeops.backup.s3", None)  # not merged yet: the import fails
    assert snapshots._s3_source(cluster) is None
    fake = types.ModuleType("homeops.backup.s3")
    fake.S3Source = SimpleNamespace(from_cluster=lambda given: ("s3 of", given))
    monkeypatch.setitem(sys.modules, "homeops.backup.s3", fake)
    assert snapshots._s3_source(cluster) == ("s3 of", cluster)


# --- each step whole: what it says, what it stops with, which talosctl calls in which order -------


def lines(session: Session) -> list[str]:
    """What the session said, without the gate's time of day (plan lines carry none)."""
    return [re.sub(r"^\d\d:\d\d:\d\d ", "", line) for line in said(session).splitlines()]


@contextlib.contextmanager
def local_time(zone: str):
    before = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


def keys_of(identity) -> unsealing.Identities:
    return unsealing.Identities((identity,), ("mine",))


def test_the_identity_is_named_by_where_it_came_from_and_none_is_a_refusal(make_session, identity, tmp_path,
                                                                             monkeypatch):
    session = make_session(True)
    named = tmp_path / "named.txt"
    named.write_text(key_text(identity))
    found = etcd_restore.identities(session, str(named))
    assert found.origins == (str(named),)
    assert lines(session) == [f"decrypting with 1 age identity from {named}"]
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "empty"))
    monkeypatch.delenv("SOPS_AGE_KEY", raising=False)
    monkeypatch.delenv("SOPS_AGE_KEY_FILE", raising=False)
    with pytest.raises(RunbookStopped) as stop:
        etcd_restore.identities(session, "")  # "" is no parameter: every place sops looks
    assert str(stop.value) == (
        f"refused: no age identity found (looked in SOPS_AGE_KEY, {tmp_path}/empty/sops/age/keys.txt): pass "
        "-p identity=FILE, the file of the key whose public key is secrets.age_public_key; nothing changed")


def test_without_a_member_holding_data_nothing_is_copied_and_that_is_said(monkeypatch, make_session):
    session = make_session(True)
    found = found_with(monkeypatch, session, {CP1: "Preparing", CP2: UNREACHABLE})
    monkeypatch.setattr(talos_recovery, "copy_database", lambda *_, **__: pytest.fail("nothing to copy"))
    assert etcd_restore.copy_database(session, found, "backups") is None
    assert lines(session) == ["no reachable control plane's etcd holds data (each waits in Preparing): nothing to "
                              "copy before the restore"]


def test_the_copy_goes_on_to_the_next_member_and_its_manifest_is_whole(monkeypatch, make_session, identity, memory):
    session = make_session(True)
    found = found_with(monkeypatch, session, {CP1: "Running", CP2: "Running"})
    asked = []

    def copy(gate, address, directory, *, why):
        assert gate is session.gate
        asked.append((address, Path(directory).name, Path(directory).parent.parent == memory, why))
        if address == CP1:
            raise ToolError(["talosctl"], 1, "error copying:\n10.0.10.11: permission denied\n")
        Path(directory).mkdir()
        (Path(directory) / "db").write_bytes(b"etcd data")
        return True

    monkeypatch.setattr(talos_recovery, "copy_database", copy)
    with local_time("JST-9"):  # nine hours off UTC: a local time would not pass for the manifest's UTC
        copied = etcd_restore.copy_database(session, found, "backups")
    why = "a copy of the newest data etcd has, before any reset wipes it (Talos's guide)"
    assert asked == [(CP1, "copy", True, why), (CP2, "copy", True, why)]  # the plan's homeops-backup-XXXX/copy
    assert copied.node.name == "cp-2" and copied.directory.parent == session.project / "backups"
    assert copied.sealed.path == copied.directory / sets.COPY_FILE
    manifest = sets.read_manifest(copied.directory)
    taken = datetime.strptime(manifest.pop("taken"), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert abs((datetime.now(timezone.utc) - taken).total_seconds()) < 60  # UTC, as the Z says, whatever TZ is
    assert manifest == {
        "complete": True, "kind": "copied-database", "recipient": str(identity.to_public()),
        "source": {"node": "cp-2", "address": CP2},
        "snapshot": {"file": sets.COPY_FILE, "hash_appended": False, "revision": None},
        "files": [{"name": sets.COPY_FILE, "what": "etcd database copied off cp-2", "sha256": copied.sealed.sha256,
                   "size": copied.sealed.size}],
        "warnings": []}
    assert copied.sealed.sha256 == hashlib.sha256(copied.sealed.path.read_bytes()).hexdigest()
    assert lines(session) == [f"etcd's database copied off cp-2 and encrypted: {copied.sealed.path} sha256 "
                              f"{copied.sealed.sha256} ({copied.sealed.size} bytes)"]
    assert list(memory.iterdir()) == []


@pytest.mark.parametrize("content", [None, b""])
def test_a_copy_that_wrote_no_database_is_no_copy(monkeypatch, make_session, memory, content):
    session = make_session(True)
    found = found_with(monkeypatch, session, {CP1: "Running", CP2: "Preparing"})

    def copy(gate, address, directory, **_):
        Path(directory).mkdir()
        if content is not None:
            (Path(directory) / "db").write_bytes(content)
        return True

    monkeypatch.setattr(talos_recovery, "copy_database", copy)
    with pytest.raises(RunbookStopped) as stop:
        etcd_restore.copy_database(session, found, "backups")
    assert str(stop.value) == (
        "refused: etcd's database could not be copied off any member that holds one (cp-1: talosctl cp wrote no "
        "database): nothing is wiped without a copy; nothing changed")
    assert not (session.project / "backups").exists() and list(memory.iterdir()) == []


def test_a_failed_copy_is_named_by_the_last_line_of_each_answer(monkeypatch, make_session, memory):
    session = make_session(True)
    found = found_with(monkeypatch, session, {CP1: "Running", CP2: "Failed"})

    def refused(gate, address, directory, **_):
        raise ToolError(["talosctl"], 1, f"error copying:\n{address}: no such file or directory\n")

    monkeypatch.setattr(talos_recovery, "copy_database", refused)
    with pytest.raises(RunbookStopped) as stop:
        etcd_restore.copy_database(session, found, "backups")
    assert str(stop.value) == (
        "refused: etcd's database could not be copied off any member that holds one (cp-1: `talosctl` exited 1: "
        "10.0.10.11: no such file "
        "or directory; cp-2: `talosctl` exited 1: 10.0.10.12: no such file or directory): nothing is wiped without a "
        "copy; nothing changed")


def test_no_scratch_in_memory_refuses_the_copy(monkeypatch, make_session):
    session = make_session(True)
    found = found_with(monkeypatch, session, {CP1: "Running", CP2: "Running"})

    def unavailable():
        raise etcd_restore.scratch.ScratchUnavailable("no tmpfs to decrypt into")

    monkeypatch.setattr(etcd_restore.scratch, "private_directory", unavailable)
    with pytest.raises(RunbookStopped) as stop:
        etcd_restore.copy_database(session, found, "backups")
    assert str(stop.value) == "refused: no tmpfs to decrypt into; nothing changed"


def test_the_planned_copy_names_where_it_would_be_sealed(monkeypatch, make_session, identity):
    session = make_session(False)
    found = found_with(monkeypatch, session, {CP1: "Running", CP2: "Running"})
    copied = etcd_restore.copy_database(session, found, "backups")
    assert copied == etcd_restore.Copied(session.cluster.control_planes[0], None, None)
    root = session.project / "backups"
    assert lines(session) == [
        f"PLAN: talosctl -n {CP1} cp /var/lib/etcd/member/snap/db homeops-backup-XXXX/copy  # a copy of the newest "
        "data etcd has, before any reset wipes it (Talos's guide)",
        f"PLAN: would encrypt the copy to {etcd_restore.etcd_backup.age_recipient(session)} into {root}/"
        f"{sets.COPY_PREFIX}TIME/{sets.COPY_FILE} (the plain copy stays in memory)"]
    assert not root.exists()


def test_a_chosen_snapshot_describes_its_time_and_revision_or_says_they_are_unknown():
    at = datetime(2026, 12, 3, 4, 5, 6, tzinfo=timezone.utc)
    ref = snapshots.SnapshotRef("backups/", "etcd-1", at, 42, None)
    assert etcd_restore.Chosen(ref, None, None).describe() == "etcd-1 from backups/ (2026-12-03T04:05:06Z, revision 42)"
    assert etcd_restore.Chosen(dataclasses.replace(ref, revision=0), None, None).describe() == (
        "etcd-1 from backups/ (2026-12-03T04:05:06Z, revision 0)")
    assert etcd_restore.Chosen(dataclasses.replace(ref, taken_at=None, revision=None), None, "cp-1").describe() == (
        "etcd-1 from backups/ (time unknown, revision unknown)")
    assert etcd_restore.Chosen(None, None, "cp-1").describe() == "the database this run would copy"
    assert etcd_restore.Chosen(None, None, "cp-1").skip_hash_check
    assert not etcd_restore.Chosen(ref, None, None).skip_hash_check


def test_a_snapshot_named_with_an_offset_is_described_in_utc_whatever_the_local_time():
    """talos-backup in a pod outside UTC names its objects 13:00:00+02:00: the Z said is UTC's, not the
    workstation's local time (here nine hours off UTC, which a local time would show)."""
    at = datetime.fromisoformat("2026-12-03T13:00:00+02:00")
    ref = snapshots.SnapshotRef("s3://b/home", "etcd-1", at, 42, None)
    with local_time("JST-9"):
        assert etcd_restore.Chosen(ref, None, None).describe() == (
            "etcd-1 from s3://b/home (2026-12-03T11:00:00Z, revision 42)")
        assert etcd_restore._utc(datetime(2026, 12, 3, 23, 30, tzinfo=timezone.utc)) == "2026-12-03T23:30:00Z"


def test_copied_in_a_plan_is_the_copy_this_run_would_make(make_session):
    session = make_session(False)
    copied = etcd_restore.Copied(session.cluster.control_planes[1], None, None)
    assert etcd_restore.choose(session, " copied ", "backups", copied) == etcd_restore.Chosen(None, None, "cp-2")
    with pytest.raises(RunbookStopped) as stop:
        etcd_restore.choose(session, "copied", "backups", None)
    assert str(stop.value) == ("refused: snapshot=copied, but no member had a database to copy; choose a backup (the "
                               "default: the newest); nothing changed")


def test_a_path_is_read_under_the_project_and_must_be_a_complete_backup(make_session, identity):
    session = make_session(True)
    root = session.project / "elsewhere"
    directory = backup(root, "20261201T000000Z", identity)
    chosen = etcd_restore.choose(session, f"elsewhere/{directory.name}", "backups", None)
    assert (chosen.ref.name, chosen.source.directory, chosen.copied_from) == (directory.name, root, None)
    assert etcd_restore.choose(session, str(directory), "backups", None).ref.name == directory.name
    copy = backup(root, "20261202T000000Z", identity, copy_of="cp-2")
    assert etcd_restore.choose(session, str(copy / sets.COPY_FILE), "backups", None).copied_from == "cp-2"
    incomplete = backup(root, "20261203T000000Z", identity, complete=False)
    with pytest.raises(RunbookStopped) as stop:
        etcd_restore.choose(session, f"elsewhere/{incomplete.name}", "backups", None)
    assert str(stop.value) == (f"refused: {incomplete} is not a complete backup with a manifest naming its snapshot; "
                               "nothing changed")


def test_a_name_is_looked_up_locally_then_in_every_listed_source(make_session, identity, monkeypatch):
    session = make_session(True)
    root = session.project / "backups"
    copy = backup(root, "20261202T000000Z", identity, copy_of="cp-2")
    named = etcd_restore.choose(session, copy.name, "backups", None)
    assert (named.ref.name, named.source.directory, named.copied_from) == (copy.name, root, "cp-2")
    incomplete = backup(root, "20261203T000000Z", identity, complete=False)
    remote_ref = snapshots.SnapshotRef("s3://b/home", incomplete.name, None, None, None)
    remote = SimpleNamespace(describe=lambda: "s3://b/home", list=lambda: [remote_ref])
    local = snapshots.LocalSource(root)
    monkeypatch.setattr(snapshots, "sources_for", lambda s, d: [local, remote])
    assert etcd_restore.choose(session, incomplete.name, "backups", None) == etcd_restore.Chosen(remote_ref, remote, None)
    with pytest.raises(RunbookStopped) as stop:
        etcd_restore.choose(session, "home-9", "backups", None)
    assert str(stop.value) == f"refused: no backup named 'home-9' in {root}/, s3://b/home; nothing changed"


def test_a_source_that_cannot_be_listed_is_warned_about_and_passed_over(make_session, identity, monkeypatch):
    session = make_session(True)
    root = session.project / "backups"
    only = backup(root, "20261201T000000Z", identity)

    def unlisted():
        raise snapshots.SnapshotUnavailable("403 Forbidden")

    broken = SimpleNamespace(describe=lambda: "s3://b/home", list=unlisted)
    monkeypatch.setattr(snapshots, "sources_for", lambda s, d: [broken, snapshots.LocalSource(root)])
    chosen = etcd_restore.choose(session, "newest", "backups", None)
    assert chosen.ref.name == only.name and chosen.source.directory == root
    assert lines(session) == ["warning: cannot list the snapshots of s3://b/home: 403 Forbidden"]
    monkeypatch.setattr(snapshots, "sources_for", lambda s, d: [broken])
    with pytest.raises(RunbookStopped) as stop:
        etcd_restore.choose(session, "newest", "elsewhere", None)
    assert str(stop.value) == "refused: no backup in s3://b/home; nothing changed"


def test_the_newest_is_taken_from_whichever_source_holds_it(make_session, identity, monkeypatch):
    session = make_session(True)
    root = session.project / "backups"
    backup(root, "20261201T000000Z", identity)
    newer = snapshots.SnapshotRef("s3://b/home", "home-2", datetime(2026, 12, 5, tzinfo=timezone.utc), 9, None)
    remote = SimpleNamespace(describe=lambda: "s3://b/home", list=lambda: [newer])
    monkeypatch.setattr(snapshots, "sources_for", lambda s, d: [snapshots.LocalSource(root), remote])
    assert etcd_restore.choose(session, "newest", "backups", None) == etcd_restore.Chosen(newer, remote, None)


def test_without_any_backup_the_refusal_names_every_source_and_the_copy(make_session):
    session = make_session(True)
    copied = etcd_restore.Copied(session.cluster.control_planes[1], None, None)
    root = session.project / "backups"
    with pytest.raises(RunbookStopped) as stop:
        etcd_restore.choose(session, "newest", "backups", copied)
    assert str(stop.value) == (
        f"refused: no backup in {root}/; the database copied off cp-2 can be restored with -p snapshot=copied (it may "
        "be inconsistent: the guide's last resort); nothing changed")
    with pytest.raises(RunbookStopped) as bare:
        etcd_restore.choose(session, "newest", "backups", None)
    assert str(bare.value) == f"refused: no backup in {root}/; nothing changed"


def test_verify_says_what_it_checked_and_in_a_plan_what_it_would(make_session, identity, memory):
    session = make_session(False)
    planned = etcd_restore.Chosen(None, None, "cp-1")
    assert etcd_restore.verify(session, planned, keys_of(identity)) == etcd_restore.Verified(planned, None)
    assert lines(session) == [
        "snapshot: the database this run would copy",
        "PLAN: would check the copy's sha256 and that it decrypts with the identity, before any reset"]
    session = make_session(True)
    directory = backup(session.project / "backups", "20261203T000000Z", identity, content=b"abc", revision=12)
    chosen = etcd_restore.choose(session, "newest", "backups", None)
    assert etcd_restore.verify(session, chosen, keys_of(identity)) == etcd_restore.Verified(chosen, 3)
    assert lines(session) == [
        f"snapshot: {directory.name} from {session.project}/backups/ (2026-12-03T00:00:00Z, revision 12)",
        "snapshot checked: sha256 matches its manifest, decrypts whole (3 bytes)"]
    assert list(memory.iterdir()) == []


def test_verify_refuses_whole_what_cannot_be_read_changed_or_is_empty(make_session, identity, memory):
    session = make_session(True)
    directory = backup(session.project / "backups", "20261203T000000Z", identity, content=b"")
    chosen = etcd_restore.choose(session, "newest", "backups", None)
    described = chosen.describe()
    with pytest.raises(RunbookStopped) as empty:
        etcd_restore.verify(session, chosen, keys_of(identity))
    assert str(empty.value) == f"refused: the snapshot {described} decrypts to nothing; nothing changed"
    file = directory / sets.SNAPSHOT_FILE
    file.write_bytes(b"changed")
    with pytest.raises(RunbookStopped) as changed:
        etcd_restore.verify(session, chosen, keys_of(identity))
    assert str(changed.value) == (
        f"refused: {file} has sha256 {hashlib.sha256(b'changed').hexdigest()}, its manifest says {chosen.ref.sha256}: "
        "the file changed since the backup was written; choose another backup (-p snapshot=NAME); nothing changed")
    file.unlink()
    with pytest.raises(RunbookStopped) as gone:
        etcd_restore.verify(session, chosen, keys_of(identity))
    assert str(gone.value).startswith(f"refused: cannot read the snapshot {described}: ")
    assert str(gone.value).endswith("holds no encrypted snapshot; nothing changed")
    stranger = x25519.Identity.generate()
    backup(session.project / "other", "20261203T000000Z", stranger, content=b"abc")
    theirs = etcd_restore.choose(session, "newest", "other", None)
    with pytest.raises(RunbookStopped) as foreign:
        etcd_restore.verify(session, theirs, keys_of(identity))
    assert str(foreign.value) == (
        f"refused: {session.project}/other/{theirs.ref.name}/{sets.SNAPSHOT_FILE} does not decrypt with 1 age identity "
        "from mine (it was encrypted to another key) (the identity must be the key of secrets.age_public_key); "
        "nothing changed")
    assert list(memory.iterdir()) == []


def test_verify_without_a_scratch_in_memory_refuses(make_session, identity, monkeypatch):
    session = make_session(True)
    backup(session.project / "backups", "20261203T000000Z", identity)
    chosen = etcd_restore.choose(session, "newest", "backups", None)

    def unavailable():
        raise etcd_restore.scratch.ScratchUnavailable("no tmpfs")

    monkeypatch.setattr(etcd_restore.scratch, "private_directory", unavailable)
    with pytest.raises(RunbookStopped) as stop:
        etcd_restore.verify(session, chosen, keys_of(identity))
    assert str(stop.value) == "refused: no tmpfs; nothing changed"


class Guard:
    def __init__(self):
        self.covered = []

    def covering(self, seconds, what):
        self.covered.append((seconds, what))
        return contextlib.nullcontext()


def test_every_member_with_data_is_reset_in_order_under_the_lease(monkeypatch, make_session):
    session = dataclasses.replace(make_session(True), guard=Guard())
    found = found_with(monkeypatch, session, {CP1: "Running", CP2: "Failed"})
    reset = []
    monkeypatch.setattr(talos_recovery, "reset_ephemeral", lambda gate, address, **kw: reset.append((address, kw)))
    verified = etcd_restore.Verified(etcd_restore.Chosen(None, None, None), None)
    assert etcd_restore.reset_members(session, found, verified) == ["cp-1", "cp-2"]
    assert reset == [
        (CP1, {"timeout": 0.5, "node": "cp-1", "why": "etcd on cp-1 is Running: wipe its data directory so it waits "
                                                      "for the recovery"}),
        (CP2, {"timeout": 0.5, "node": "cp-2", "why": "etcd on cp-2 is Failed: wipe its data directory so it waits "
                                                      "for the recovery"})]
    assert session.guard.covered == [(60.5, "the reset of cp-1"), (60.5, "the reset of cp-2")]
    assert lines(session) == []


def test_a_refused_reset_stops_naming_what_is_wiped_already(monkeypatch, make_session):
    session = make_session(True)
    found = found_with(monkeypatch, session, {CP1: "Running", CP2: "Running"})
    verified = etcd_restore.Verified(etcd_restore.Chosen(None, None, None), None)

    def reset(gate, address, **_):
        if address == CP2:
            raise ToolError(["talosctl"], 1, "  error resetting: connection refused\n")

    monkeypatch.setattr(talos_recovery, "reset_ephemeral", reset)
    with pytest.raises(RunbookStopped) as second:
        etcd_restore.reset_members(session, found, verified)
    assert str(second.value) == (
        "stopped at step 'reset cp-2': `talosctl` exited 1: error resetting: connection refused; left in place: cp-1 "
        "wiped; cp-2 may be resetting; run etcd-restore again once it answers")

    def first(gate, address, **_):
        raise ToolError(["talosctl"], 1, "error resetting: connection refused")

    monkeypatch.setattr(talos_recovery, "reset_ephemeral", first)
    with pytest.raises(RunbookStopped) as none:
        etcd_restore.reset_members(session, found, verified)
    assert str(none.value) == (
        "stopped at step 'reset cp-1': `talosctl` exited 1: error resetting: connection refused; left in place: "
        "nothing wiped; cp-1 may be resetting; run etcd-restore again once it answers")


def test_without_data_anywhere_nothing_is_reset_and_that_is_said(monkeypatch, make_session):
    session = make_session(True)
    found = found_with(monkeypatch, session, {CP1: "Preparing", CP2: "Preparing"})
    monkeypatch.setattr(talos_recovery, "reset_ephemeral", lambda *_, **__: pytest.fail("nothing to wipe"))
    verified = etcd_restore.Verified(etcd_restore.Chosen(None, None, None), None)
    assert etcd_restore.reset_members(session, found, verified) == []
    assert lines(session) == ["no control plane's etcd holds data: nothing to wipe"]


def test_the_wait_for_preparing_follows_every_reachable_etcd_until_each_waits(monkeypatch, make_session):
    session = make_session(True)
    found = found_with(monkeypatch, session, {CP1: "Running", CP2: "Running"})
    answers = {CP1: ["Running", "Preparing", "Preparing"], CP2: [UNREACHABLE, "Running", "Preparing"]}
    asked = []

    def service(address, **_):
        asked.append(address)
        answer = answers[address].pop(0) if len(answers[address]) > 1 else answers[address][0]
        if isinstance(answer, Exception):
            raise answer
        return talos_recovery.ServiceState(address, answer, "?")

    monkeypatch.setattr(talos_recovery, "etcd_service", service)
    etcd_restore.wait_preparing(session, found)
    assert asked == [CP1, CP2] * 3
    what = "every reachable control plane's etcd service Preparing (cp-1, cp-2)"
    said_lines = lines(session)
    assert said_lines[0] == f"waiting for {what} (up to 0.5s)"
    assert [line.rsplit(" (", 1)[0] for line in said_lines[1:]] == [
        f"waiting for {what}: cp-1 Running, cp-2 no answer (`talosctl` exited 1: * 10.0.10.12: rpc error: code = "
        "Unavailable desc = connection refused)",
        f"waiting for {what}: cp-1 Preparing, cp-2 Running"]


def test_a_wait_for_preparing_that_runs_out_stops_naming_what_it_saw(monkeypatch, make_session):
    session = make_session(True)
    found = found_with(monkeypatch, session, {CP1: "Running", CP2: UNREACHABLE})
    with pytest.raises(RunbookStopped) as stop:
        etcd_restore.wait_preparing(session, found)
    assert str(stop.value) == (
        "stopped at step 'wait for Preparing': every reachable control plane's etcd service Preparing (cp-1) did not "
        "happen within 0.5s; left in place: the reset control planes, etcd not recovered; "
        "run etcd-restore again once every etcd waits in Preparing")


def test_a_planned_wait_for_preparing_is_described(monkeypatch, make_session):
    session = make_session(False)
    found = found_with(monkeypatch, session, {CP1: "Running", CP2: "Running"})
    monkeypatch.setattr(talos_recovery, "etcd_service", lambda *_, **__: pytest.fail("a plan looks at nothing"))
    etcd_restore.wait_preparing(session, found)
    assert lines(session) == ["PLAN: would wait for every reachable control plane's etcd service Preparing (cp-1, "
                              "cp-2) (up to 0.5s)"]


def recovering_from(monkeypatch, calls, revision=4193):
    def recover(gate, address, path, *, skip_hash_check, node, why):
        calls.append((gate.apply, address, Path(path).name, Path(path).read_bytes(), skip_hash_check, node, why))
        return talos_recovery.Recovering(path, "c25fd181", revision, 1287, 3035136)

    monkeypatch.setattr(talos_recovery, "recover", recover)


def test_the_recovery_says_what_talosctl_read_and_warns_on_another_revision(monkeypatch, make_session, identity,
                                                                            memory):
    session = make_session(True)
    directory = backup(session.project / "backups", "20261203T000000Z", identity, content=b"the db", revision=4000)
    found = found_with(monkeypatch, session, {CP1: "Preparing", CP2: "Preparing"})
    verified = etcd_restore.Verified(etcd_restore.choose(session, "newest", "backups", None), 6)
    calls = []
    recovering_from(monkeypatch, calls)
    assert etcd_restore.recover(session, found, verified, keys_of(identity)).revision == 4193
    described = f"{directory.name} from {session.project}/backups/ (2026-12-03T00:00:00Z, revision 4000)"
    assert calls == [(True, CP1, etcd_restore.SNAPSHOT_PLAIN, b"the db", False, "cp-1",
                      f"recover etcd on cp-1 from {described}, once; the other control planes join it")]
    assert lines(session) == ["etcd recovering on cp-1: revision 4193, hash c25fd181, total keys 1287",
                              "warning: talosctl read revision 4193, the manifest says 4000"]
    assert list(memory.iterdir()) == []


def test_a_copied_database_is_recovered_skipping_the_hash_check_and_without_a_revision_to_compare(
        monkeypatch, make_session, identity, memory):
    session = make_session(True)
    copy = backup(session.project / "backups", "20261205T000000Z", identity, content=b"copied", copy_of="cp-2")
    found = found_with(monkeypatch, session, {CP1: UNREACHABLE, CP2: "Preparing"})
    chosen = etcd_restore.choose(session, copy.name, "backups", None)
    calls = []
    recovering_from(monkeypatch, calls, revision=17)
    recovering = etcd_restore.recover(session, found, etcd_restore.Verified(chosen, 6), keys_of(identity))
    assert calls == [(True, CP2, etcd_restore.SNAPSHOT_PLAIN, b"copied", True, "cp-2",
                      f"recover etcd on cp-2 from {chosen.describe()}, once; the other control planes join it (a "
                      "copied database has no integrity hash: --recover-skip-hash-check)")]
    assert lines(session) == ["etcd recovering on cp-2: revision 17, hash c25fd181, total keys 1287"]
    assert etcd_restore.summary(session, found, etcd_restore.Verified(chosen, 6), recovering).splitlines()[-1] == (
        "etcd restored on cp-2 from the database copied off cp-2: the cluster's state went back to the snapshot's "
        "time, 2026-12-05T00:00:00Z (revision 17); every change to Kubernetes since then is gone (Flux applies again "
        "what Git holds)")


def test_the_snapshot_is_checked_again_when_read_for_the_recovery(monkeypatch, make_session, identity, memory):
    session = make_session(True)
    directory = backup(session.project / "backups", "20261203T000000Z", identity)
    found = found_with(monkeypatch, session, {CP1: "Preparing", CP2: "Preparing"})
    verified = etcd_restore.verify(session, etcd_restore.choose(session, "newest", "backups", None), keys_of(identity))
    (directory / sets.SNAPSHOT_FILE).write_bytes(b"swapped")
    monkeypatch.setattr(talos_recovery, "recover", lambda *_, **__: pytest.fail("never recovered from a changed file"))
    with pytest.raises(RunbookStopped, match=r"^refused: .* has sha256 [0-9a-f]{64}, its manifest says "):
        etcd_restore.recover(session, found, verified, keys_of(identity))
    (directory / sets.SNAPSHOT_FILE).unlink()
    with pytest.raises(RunbookStopped) as gone:
        etcd_restore.recover(session, found, verified, keys_of(identity))
    assert str(gone.value).startswith("stopped at step 'decrypt the snapshot': ")
    assert str(gone.value).endswith(" holds no encrypted snapshot; left in place: every control plane wiped, etcd "
                                    "not recovered; run etcd-restore again")
    assert list(memory.iterdir()) == []


def test_a_snapshot_that_will_not_open_for_the_recovery_stops_after_the_wipe(monkeypatch, make_session, identity,
                                                                          memory):
    session = make_session(True)
    directory = backup(session.project / "backups", "20261203T000000Z", identity)
    found = found_with(monkeypatch, session, {CP1: "Preparing", CP2: "Preparing"})
    verified = etcd_restore.Verified(etcd_restore.choose(session, "newest", "backups", None), 2)
    monkeypatch.setattr(talos_recovery, "recover", lambda *_, **__: pytest.fail("nothing to recover from"))
    with pytest.raises(RunbookStopped) as stop:
        etcd_restore.recover(session, found, verified, unsealing.Identities((x25519.Identity.generate(),), ("theirs",)))
    assert str(stop.value) == (
        f"stopped at step 'decrypt the snapshot': {directory / sets.SNAPSHOT_FILE} does not decrypt with 1 age "
        "identity from theirs (it was encrypted to another key); left in place: every control plane wiped, etcd not "
        "recovered; run etcd-restore again")
    assert list(memory.iterdir()) == []


def test_a_refused_recovery_reads_whole(monkeypatch, make_session, identity, memory):
    session = make_session(True)
    backup(session.project / "backups", "20261203T000000Z", identity)
    found = found_with(monkeypatch, session, {CP1: "Preparing", CP2: "Preparing"})
    verified = etcd_restore.Verified(etcd_restore.choose(session, "newest", "backups", None), 2)

    def refused(*_, **__):
        raise ToolError(["talosctl"], 1, "error uploading snapshot: not ready\n")

    monkeypatch.setattr(talos_recovery, "recover", refused)
    with pytest.raises(RunbookStopped) as stop:
        etcd_restore.recover(session, found, verified, keys_of(identity))
    assert str(stop.value) == (
        "stopped at step 'bootstrap --recover-from': `talosctl` exited 1: error uploading snapshot: not ready; left in "
        "place: every control plane wiped, etcd not recovered; look at `talosctl -n 10.0.10.11 service etcd`, then run "
        "etcd-restore again")
    from homeops.tools.process import ToolTimeout
    error = ToolTimeout(["talosctl", "bootstrap"], 300)
    error.in_doubt = "etcd on cp-1 may be recovering from the snapshot"  # what the gate sets on a timeout

    def unanswered(*_, **__):
        raise error

    monkeypatch.setattr(talos_recovery, "recover", unanswered)
    with pytest.raises(RunbookStopped) as doubt:
        etcd_restore.recover(session, found, verified, keys_of(identity))
    assert str(doubt.value) == (
        "stopped at step 'bootstrap --recover-from': `talosctl bootstrap` did not finish within 300s; left in place: "
        "every control plane wiped; etcd on cp-1 may be recovering: look at `talosctl -n 10.0.10.11 service etcd` first")
    assert list(memory.iterdir()) == []


def test_a_planned_recovery_of_a_backup_decrypts_nothing(monkeypatch, make_session, identity):
    session = make_session(False)
    backup(session.project / "backups", "20261203T000000Z", identity)
    found = found_with(monkeypatch, session, {CP1: "Preparing", CP2: "Preparing"})
    chosen = etcd_restore.choose(session, "newest", "backups", None)
    asked, real = [], talos_recovery.recover
    monkeypatch.setattr(talos_recovery, "recover",
                        lambda gate, address, path, **kw: asked.append((gate, kw["node"])) or real(gate, address, path, **kw))
    assert etcd_restore.recover(session, found, etcd_restore.Verified(chosen, None), keys_of(identity)) is None
    assert asked == [(session.gate, "cp-1")]
    assert lines(session) == [
        "PLAN: would decrypt the snapshot into homeops-backup-XXXX/db.snapshot in memory (tmpfs), removed after the "
        "upload",
        f"PLAN: talosctl -n {CP1} bootstrap --recover-from=homeops-backup-XXXX/db.snapshot  # recover etcd on cp-1 "
        f"from {chosen.describe()}, once; the other control planes join it"]


# --- step 7: back --------------------------------------------------------------------------------


def node_status(name, ready="True"):
    from homeops.tools.shapes import NodeStatus
    return NodeStatus(name, "worker", ready, False, None, "v1.31.0", "Talos (v1.11.1)", "v1.11.1", "b")


def test_etcd_is_back_when_every_reachable_control_plane_is_a_voting_member_without_errors(monkeypatch, make_session):
    session = make_session(True)
    found = found_with(monkeypatch, session, {CP1: "Preparing", CP2: "Preparing"})
    asked = []

    def members(address, **_):
        asked.append(address)
        return [EtcdMember(address, "8f1e", "cp-2", False), EtcdMember(address, "9a2b", "cp-1", False)]

    monkeypatch.setattr(talosctl, "etcd_members", members)
    monkeypatch.setattr(talosctl, "etcd_status", lambda address, **_: [EtcdStatus(address, "8f1e", "8f1e", False, "")])
    assert etcd_restore._etcd_back(found) is True and asked == [CP1]
    monkeypatch.setattr(talosctl, "etcd_members", lambda address, **_: [EtcdMember(address, "8f1e", "cp-1", False),
                                                                        EtcdMember(address, "9a2b", "cp-2", True)])

    def status(address, **_):
        if address == CP2:
            raise ToolError(["talosctl"], 1, "error getting status:\n10.0.10.12: connection refused\n")
        return [EtcdStatus(address, "8f1e", "8f1e", False, "etcdserver: no leader")]

    monkeypatch.setattr(talosctl, "etcd_status", status)
    assert etcd_restore._etcd_back(found) == (
        "cp-2 still a learner; cp-1: etcdserver: no leader; cp-2: `talosctl` exited 1: 10.0.10.12: connection refused")
    monkeypatch.setattr(talosctl, "etcd_members", lambda address, **_: [])
    monkeypatch.setattr(talosctl, "etcd_status", lambda address, **_: [EtcdStatus(address, "8f1e", "8f1e", False, "")])
    assert etcd_restore._etcd_back(found) == "members none, expected cp-1, cp-2"
    monkeypatch.setattr(talosctl, "etcd_members", lambda address, **_: [EtcdMember(address, "8f1e", "cp-1", False)])
    assert etcd_restore._etcd_back(found) == "members cp-1, expected cp-1, cp-2"
    monkeypatch.setattr(talosctl, "etcd_members", lambda address, **_: [EtcdMember(address, "8f1e", "cp-1", False),
                                                                        EtcdMember(address, "7c3d", "cp-3", False)])
    assert etcd_restore._etcd_back(found) == "members cp-1, cp-3, expected cp-1, cp-2"
    monkeypatch.setattr(talosctl, "etcd_members", members)

    def first_fails(address, **_):
        if address == CP1:
            raise ToolError(["talosctl"], 1, "10.0.10.11: connection refused\n")
        return [EtcdStatus(address, "9a2b", "8f1e", False, "etcdserver: request timed out")]

    monkeypatch.setattr(talosctl, "etcd_status", first_fails)
    assert etcd_restore._etcd_back(found) == (
        "cp-1: `talosctl` exited 1: 10.0.10.11: connection refused; cp-2: etcdserver: request timed out")


def test_the_nodes_are_back_when_every_one_but_the_lost_is_ready(monkeypatch, make_session):
    session = make_session(True)
    names = [n.name for n in session.cluster.nodes]
    found = found_with(monkeypatch, session, {CP1: "Preparing", CP2: UNREACHABLE})
    monkeypatch.setattr(etcd_restore.kubectl, "nodes", lambda: [node_status(n) for n in names if n != "cp-2"])
    assert etcd_restore._nodes_back(session, found) is True
    others = [n for n in names if n not in ("cp-1", "cp-2")]
    monkeypatch.setattr(etcd_restore.kubectl, "nodes",
                        lambda: [node_status("cp-1", "Unknown")] + [node_status(n) for n in others[1:]])
    assert etcd_restore._nodes_back(session, found) == f"cp-1 not Ready (Ready=Unknown); {others[0]} not registered"
    everyone = found_with(monkeypatch, session, {CP1: "Preparing", CP2: "Preparing"})
    monkeypatch.setattr(etcd_restore.kubectl, "nodes", lambda: [node_status(n) for n in names if n != "cp-2"])
    assert etcd_restore._nodes_back(session, everyone) == "cp-2 not registered"


def test_a_check_is_back_when_none_of_its_results_failed():
    from homeops.procedures.checks import failed, passed
    assert etcd_restore._checks_back(lambda: [passed("ceph health", "HEALTH_OK")]) is True
    assert etcd_restore._checks_back(lambda: [failed("ceph health", "HEALTH_WARN"), passed("osds", "3 up"),
                                              failed("pgs", "2 degraded")]) == "ceph health: HEALTH_WARN; pgs: 2 degraded"


def back_everywhere(monkeypatch, session, *, ceph=True):
    from homeops.procedures.checks import failed, passed
    monkeypatch.setattr(etcd_restore.kubectl, "nodes", lambda: [node_status(n.name) for n in session.cluster.nodes])
    monkeypatch.setattr(talosctl, "etcd_members", lambda address, **_: [EtcdMember(address, "8f1e", "cp-1", False)])
    monkeypatch.setattr(talosctl, "etcd_status", lambda address, **_: [EtcdStatus(address, "8f1e", "8f1e", False, "")])
    monkeypatch.setattr(etcd_restore.preflight, "ceph_health",
                        lambda: [passed("ceph", "HEALTH_OK") if ceph else failed("ceph", "HEALTH_WARN: 1 osds down")])
    monkeypatch.setattr(etcd_restore.preflight, "flux_ready", lambda: [passed("flux", "every object Ready")])


def test_the_cluster_is_followed_back_step_by_step(monkeypatch, make_session):
    session = make_session(True)
    found = found_with(monkeypatch, session, {CP1: "Preparing", CP2: UNREACHABLE})
    back_everywhere(monkeypatch, session)
    etcd_restore.wait_recovered(session, found)
    assert lines(session) == ["back: etcd: cp-1 voting members, each answering without errors",
                              "back: the Kubernetes API, every node Ready but cp-2",
                              "back: Ceph healthy",
                              "back: every Flux object Ready"]


def test_a_wait_for_the_cluster_that_runs_out_stops_naming_it_and_what_to_do(monkeypatch, make_session):
    session = make_session(True)
    found = found_with(monkeypatch, session, {CP1: "Preparing", CP2: "Preparing"})
    back_everywhere(monkeypatch, session, ceph=False)
    monkeypatch.setattr(talosctl, "etcd_members", lambda address, **_: [EtcdMember(address, "8f1e", "cp-1", False),
                                                                        EtcdMember(address, "9a2b", "cp-2", False)])
    with pytest.raises(RunbookStopped) as stop:
        etcd_restore.wait_recovered(session, found)
    assert str(stop.value) == (
        "stopped at step 'wait for Ceph healthy': Ceph healthy did not happen within 0.5s; left in place: etcd "
        "recovered from the snapshot; look at the cluster, then run cluster-health (a re-run of etcd-restore refuses "
        "while etcd has quorum)")
    said_lines = lines(session)
    assert said_lines[:2] == ["back: etcd: cp-1, cp-2 voting members, each answering without errors",
                              "back: the Kubernetes API, every node Ready"]
    assert said_lines[2].startswith("waiting for Ceph healthy: ceph: HEALTH_WARN: 1 osds down (")


def test_a_planned_recovery_describes_every_wait_and_looks_at_nothing(monkeypatch, make_session):
    session = make_session(False)
    found = found_with(monkeypatch, session, {CP1: "Preparing", CP2: UNREACHABLE})
    monkeypatch.setattr(talosctl, "etcd_members", lambda *_, **__: pytest.fail("a plan looks at nothing"))
    monkeypatch.setattr(etcd_restore.kubectl, "nodes", lambda *_, **__: pytest.fail("a plan looks at nothing"))
    etcd_restore.wait_recovered(session, found)
    assert lines(session) == [
        "PLAN: would wait for etcd: cp-1 voting members, each answering without errors (up to 0.5s)",
        "PLAN: would wait for the Kubernetes API, every node Ready but cp-2 (up to 0.5s)",
        "PLAN: would wait for Ceph healthy (up to 0.5s)",
        "PLAN: would wait for every Flux object Ready (up to 0.5s)"]


def test_the_summary_names_every_lost_control_plane_and_an_unknown_time(monkeypatch, make_session):
    session = make_session(True)
    found = found_with(monkeypatch, session, {CP1: "Preparing", CP2: UNREACHABLE})
    ref = snapshots.SnapshotRef("backups/", "etcd-1", None, None, None)
    verified = etcd_restore.Verified(etcd_restore.Chosen(ref, None, None), 6)
    recovering = talos_recovery.Recovering("p", "h", 5, 1, 2)
    assert etcd_restore.summary(session, found, verified, recovering).splitlines() == [
        "cp-2 did not answer (10.0.10.12: rpc error: code = Unavailable desc = connection refused): it is out of etcd "
        "now; wipe or reinstall it with its machine configuration (the backup holds it), then run node-add -p "
        "node=cp-2 to bring it back",
        "etcd restored on cp-1 from the backup etcd-1: the cluster's state went back to the snapshot's time, an "
        "unknown time (revision 5); every change to Kubernetes since then is gone (Flux applies again what Git holds)"]
    assert etcd_restore.summary(session, found, verified, None).splitlines()[-1] == (
        "plan: etcd would be recovered on cp-1 from etcd-1 from backups/ (time unknown, revision unknown); nothing "
        "changed")
    planned = make_session(False)
    assert etcd_restore.summary(planned, found, verified, recovering).splitlines()[-1].startswith("plan: ")


def test_a_remote_snapshot_is_fetched_by_its_reference_into_memory_to_check_and_to_recover(
        monkeypatch, make_session, identity, memory, tmp_path):
    session = make_session(True)
    held = tmp_path / "remote.age"
    seal_bytes(b"remote db", held, recipient(str(identity.to_public())))
    ref = snapshots.SnapshotRef("s3://b/home", "home-1.snap.age", None, None, None)
    fetched = []

    def fetch(asked, into):
        fetched.append((asked, into.parent == memory))
        target = into / "fetched.age"
        target.write_bytes(held.read_bytes())
        return target

    remote = SimpleNamespace(describe=lambda: "s3://b/home", list=lambda: [ref], fetch=fetch)
    chosen = etcd_restore.Chosen(ref, remote, None)
    verified = etcd_restore.verify(session, chosen, keys_of(identity))
    found = found_with(monkeypatch, session, {CP1: "Preparing", CP2: "Preparing"})
    calls = []
    recovering_from(monkeypatch, calls)
    etcd_restore.recover(session, found, verified, keys_of(identity))
    assert fetched == [(ref, True), (ref, True)]  # once to check it, once again to recover from it
    assert [call[3] for call in calls] == [b"remote db"]
    assert list(memory.iterdir()) == []


def test_the_newest_is_found_across_every_source_and_none_anywhere_names_them_all(make_session, identity, monkeypatch):
    session = make_session(True)
    root = session.project / "backups"
    newest = backup(root, "20261209T000000Z", identity)
    older = snapshots.SnapshotRef("s3://b/home", "home-2", datetime(2026, 12, 5, tzinfo=timezone.utc), 9, None)
    remote = SimpleNamespace(describe=lambda: "s3://b/home", list=lambda: [older])
    monkeypatch.setattr(snapshots, "sources_for", lambda s, d: [snapshots.LocalSource(root), remote])
    chosen = etcd_restore.choose(session, "newest", "backups", None)
    assert (chosen.ref.name, chosen.source.directory) == (newest.name, root)
    empty = SimpleNamespace(describe=lambda: "s3://b/home", list=lambda: [])
    monkeypatch.setattr(snapshots, "sources_for", lambda s, d: [snapshots.LocalSource(session.project / "none"), empty])
    with pytest.raises(RunbookStopped) as stop:
        etcd_restore.choose(session, "newest", "backups", None)
    assert str(stop.value) == f"refused: no backup in {session.project}/none/, s3://b/home; nothing changed"


def test_a_copy_made_by_this_run_is_read_from_the_destination(make_session, identity):
    session = make_session(True)
    root = session.project / "backups"
    directory = backup(root, "20261205T000000Z", identity, copy_of="cp-1")
    copied = etcd_restore.Copied(session.cluster.control_planes[0], directory, None)
    chosen = etcd_restore.choose(session, "copied", "backups", copied)
    assert (chosen.ref.name, chosen.source.directory, chosen.copied_from) == (directory.name, root, "cp-1")


def test_a_relative_path_not_under_the_project_is_read_from_where_the_runbook_runs(make_session, identity,
                                                                                   monkeypatch, tmp_path):
    session = make_session(True)
    here = tmp_path / "here"
    directory = backup(here / "kept", "20261201T000000Z", identity)
    monkeypatch.chdir(here)
    chosen = etcd_restore.choose(session, f"kept/{directory.name}", "backups", None)
    assert (chosen.ref.name, chosen.source.directory) == (directory.name, Path("kept"))


def test_a_name_is_one_set_of_the_destination_never_a_path_into_it(make_session, identity, monkeypatch, tmp_path):
    session = make_session(True)
    root = session.project / "backups"
    nested = backup(root / "nested", "20261201T000000Z", identity)
    monkeypatch.chdir(root.parent.parent)  # where neither the project nor the runbook holds the path
    wanted = f"nested/{nested.name}"
    assert not (session.project / wanted).exists() and not Path(wanted).exists()
    with pytest.raises(RunbookStopped) as stop:
        etcd_restore.choose(session, wanted, "backups", None)
    assert str(stop.value) == f"refused: no backup named '{wanted}' in {root}/; nothing changed"


def test_a_source_that_cannot_be_listed_is_warned_about_while_a_name_is_looked_up(make_session, monkeypatch):
    session = make_session(True)

    def unlisted():
        raise OSError("Permission denied")

    broken = SimpleNamespace(describe=lambda: "/srv/etcd/", list=unlisted)
    monkeypatch.setattr(snapshots, "sources_for", lambda s, d: [broken])
    with pytest.raises(RunbookStopped, match="^refused: no backup named 'home-1' in /srv/etcd/; nothing changed$"):
        etcd_restore.choose(session, "home-1", "backups", None)
    assert lines(session) == ["warning: cannot list the snapshots of /srv/etcd/: Permission denied"]


def three_control_planes(cluster, services):
    """cluster.yaml's two control planes and a worker's Node standing in for a third."""
    nodes = [*cluster.control_planes, cluster.workers[0]]
    return etcd_triage.Triage(tuple(etcd_triage.ControlPlane(node, service, "?" if service else "gone")
                                    for node, service in zip(nodes, services)), None)


def test_a_refused_third_reset_names_both_wiped_before_it(monkeypatch, make_session):
    session = make_session(True)
    found = three_control_planes(session.cluster, ["Running", "Running", "Running"])
    third = session.cluster.workers[0]

    def reset(gate, address, **_):
        if address == str(third.address):
            raise ToolError(["talosctl"], 1, "connection refused")

    monkeypatch.setattr(talos_recovery, "reset_ephemeral", reset)
    with pytest.raises(RunbookStopped) as stop:
        etcd_restore.reset_members(session, found, etcd_restore.Verified(etcd_restore.Chosen(None, None, None), None))
    assert str(stop.value) == (
        f"stopped at step 'reset {third.name}': `talosctl` exited 1: connection refused; left in place: cp-1, cp-2 "
        f"wiped; {third.name} may be resetting; run etcd-restore again once it answers")


def test_every_lost_control_plane_is_named_in_the_wait_for_the_nodes(make_session):
    session = make_session(False)
    found = three_control_planes(session.cluster, ["Preparing", None, None])
    etcd_restore.wait_recovered(session, found)
    assert lines(session)[1] == (f"PLAN: would wait for the Kubernetes API, every node Ready but cp-2, "
                                 f"{session.cluster.workers[0].name} (up to 0.5s)")
