"""Drills of runbooks/etcd-restore.ipynb on the twin: a backup taken while the cluster was healthy,
then a control plane's etcd lost (its data gone, or the node gone), then the restore, judged by what
the twin holds afterwards (members, the restored revision, nodes, the API) and by the record; a
healthy etcd is refused with nothing changed; a wrong identity or a changed backup file stops before
any reset."""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from homeops.twin import state as twin_state_file
from homeops.twin.cluster import advance

from tests.runbooks.backup_files import memory  # noqa: F401 (a fixture)
from tests.runbooks.backup_files import AGE_HEADER, AgeIdentity, plaintext_leaks

pytestmark = pytest.mark.slow

CP1, CP2 = "10.0.10.11", "10.0.10.12"


@pytest.fixture
def age(monkeypatch):
    # Nothing of the workstation's own: the drills name the identity, or set SOPS's variables themselves.
    for name in ("SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", tempfile.mkdtemp(prefix="homeops-test-config-"))
    return AgeIdentity()


def key_file(drill, identity: AgeIdentity) -> Path:
    path = drill.directory / "age.key"
    path.write_text(f"# public key: {identity.public_key}\n{identity.identity}\n")
    path.chmod(0o600)
    return path


def raw_state(drill) -> dict:
    advance(str(drill.twin), 0)
    return json.loads((drill.twin / "state.json").read_text())


def lose(drill, fault: str, node: str) -> None:
    """What `twin create` does for the fault (homeops/twin/directory.py), struck on a running twin: the
    backup had to be taken while etcd was still healthy."""
    with twin_state_file.change(str(drill.twin)) as current:
        current["faults"].setdefault(fault, []).append(node)
        found = next(n for n in current["nodes"] if n["name"] == node)
        if fault == "etcd-member-lost":
            found["etcd_data"] = False
        elif fault == "control-plane-lost":
            found["off"] = True


def backed_up(drill) -> tuple[Path, dict]:
    result = drill.run("etcd-backup", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    [backup] = [p for p in (drill.twin / "backups").iterdir() if p.name.startswith("etcd-2")]
    return backup, json.loads((backup / "manifest.json").read_text())


def members(raw: dict) -> dict[str, bool]:
    """Control plane -> a voting etcd member (not a learner), from the twin's state."""
    now = time.time() + float(raw.get("clock_offset", 0.0))  # the twin's clock (twin_state.py)
    return {n["name"]: n.get("etcd_member", True) and n.get("etcd_data", True)
            and now >= n.get("etcd_learner_until", 0.0)
            for n in raw["nodes"] if n["role"] == "control-plane"}


def record_of(result) -> dict:
    name = result.stdout.rsplit("record: ", 1)[1].split()[0]
    return json.loads(Path(name).read_text())


def record_text(record: dict) -> str:
    return "\n".join("".join(o.get("text", "")) for c in record["cells"] for o in c.get("outputs", []))


def node_ready(drill) -> dict[str, bool]:
    return {name: n.is_ready for name, n in drill.nodes().items()}


def copies(drill) -> list[Path]:
    root = drill.twin / "backups"
    return sorted(p for p in root.iterdir() if p.name.startswith("etcd-copy-")) if root.is_dir() else []


def test_a_member_whose_etcd_data_is_gone_is_restored_to_the_snapshots_revision(make_drill, memory, age):
    drill = make_drill({}, edit=age.edit)
    backup, manifest = backed_up(drill)
    revision = manifest["snapshot"]["revision"]
    drill.tool("kubectl", "cordon", "worker-3")  # a change after the snapshot: the restore goes back before it
    assert raw_state(drill)["resource_version"] > revision
    lose(drill, "etcd-member-lost", "cp-2")
    assert drill.tool("kubectl", "get", "nodes", check=False).returncode != 0  # no quorum: the API is down

    result = drill.run("etcd-restore", f"identity={key_file(drill, age)}", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    assert result.last_line.startswith("completed: etcd-restore (apply)")

    # The database copied off cp-1 first, then only cp-1 wiped (cp-2's etcd already waited in
    # Preparing), then one recovery from the backup, with the hash check.
    copy_change, reset_change, recover_change = result.changes
    assert copy_change.startswith(f"talosctl -n {CP1} cp /var/lib/etcd/member/snap/db {memory}/")
    assert reset_change == (f"talosctl -n {CP1} reset --graceful=false --reboot --system-labels-to-wipe=EPHEMERAL "
                            "--timeout 3s")
    assert recover_change.startswith(f"talosctl -n {CP1} bootstrap --recover-from={memory}/")
    assert recover_change.endswith("/db.snapshot")

    raw = raw_state(drill)
    assert members(raw) == {"cp-1": True, "cp-2": True}
    assert raw["etcd"]["restored_revision"] == revision
    assert node_ready(drill) == {"cp-1": True, "cp-2": True, "worker-1": True, "worker-2": True, "worker-3": True}
    assert drill.tool("kubectl", "get", "nodes").returncode == 0

    [copy] = copies(drill)
    assert (copy / "etcd.db.age").read_bytes().startswith(AGE_HEADER)
    copied = json.loads(age.decrypt(copy / "etcd.db.age"))
    assert copied["hash_appended"] is False and copied["revision"] > revision  # newer than the backup
    listed = json.loads((copy / "manifest.json").read_text())["files"]
    assert listed[0]["sha256"] == hashlib.sha256((copy / "etcd.db.age").read_bytes()).hexdigest()

    record = record_of(result)
    status = record["metadata"]["homeops"]
    assert (status["runbook"], status["mode"], status["outcome"]) == ("etcd-restore", "apply", "completed")
    text = record_text(record)
    taken = manifest["taken"]
    assert (f"the cluster's state went back to the snapshot's time, {taken} (revision {revision})") in text
    assert "etcd has no quorum" in text
    # No API to hold the maintenance Lease in: the workstation's file lock, beside the records.
    assert "workstation lock taken: " in result.stdout and " for etcd-restore" in result.stdout
    assert str(age.identity) not in result.stdout + json.dumps(record)
    # Nothing in plain text anywhere: the project, the records, the twin, the scratch (empty again).
    assert list(memory.iterdir()) == []
    assert plaintext_leaks([drill.directory, memory], []) == []


def test_a_lost_control_plane_is_named_with_node_add_and_cp1_alone_brings_the_api_back(make_drill, memory, age):
    drill = make_drill({}, edit=age.edit)
    _, manifest = backed_up(drill)
    lose(drill, "control-plane-lost", "cp-2")

    result = drill.run("etcd-restore", f"identity={key_file(drill, age)}", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    assert [c.split()[3] for c in result.changes] == ["cp", "reset", "bootstrap"]
    assert all(c.split()[2] == CP1 for c in result.changes)

    raw = raw_state(drill)
    assert members(raw) == {"cp-1": True, "cp-2": False}
    assert raw["etcd"]["restored_revision"] == manifest["snapshot"]["revision"]
    assert drill.tool("kubectl", "get", "nodes").returncode == 0  # the API is back
    ready = node_ready(drill)
    ready.pop("cp-2")  # twin_state reads reboots only; cp-2 is off: Kubernetes says so
    assert set(ready.values()) == {True}
    cp2 = json.loads(drill.tool("kubectl", "get", "node", "cp-2", "-o", "json").stdout)
    assert [c["status"] for c in cp2["status"]["conditions"] if c["type"] == "Ready"] != ["True"]
    assert "cp-2 did not answer" in result.stdout and "run node-add -p node=cp-2" in result.stdout
    assert record_of(result)["metadata"]["homeops"]["outcome"] == "completed"


def test_a_healthy_etcd_is_refused_and_nothing_changes(make_drill, memory, age):
    drill = make_drill({}, edit=age.edit)
    backed_up(drill)
    before = raw_state(drill)

    for apply in (False, True):
        result = drill.run("etcd-restore", f"identity={key_file(drill, age)}", apply=apply)
        assert result.code == 1, result.stdout + result.stderr
        assert result.last_line.startswith("stopped: refused: etcd has quorum (cp-1, cp-2 answer")
        assert "bring the missing member back instead" in result.last_line
        assert "; nothing changed — record: " in result.last_line
        assert result.changes == []
    after = raw_state(drill)
    assert {k: after[k] for k in ("nodes", "resource_version", "etcd", "leases")} == {
        k: before[k] for k in ("nodes", "resource_version", "etcd", "leases")}
    assert copies(drill) == [] and list(memory.iterdir()) == []
    assert record_of(result)["metadata"]["homeops"]["outcome"] == "stopped"


def test_a_plan_shows_every_step_and_changes_nothing(make_drill, memory, age):
    drill = make_drill({}, edit=age.edit)
    backup, _ = backed_up(drill)
    lose(drill, "etcd-member-lost", "cp-2")
    before = raw_state(drill)

    result = drill.run("etcd-restore", f"identity={key_file(drill, age)}")
    assert result.code == 0, result.stdout + result.stderr
    steps = [c.split(" (")[0] if c.startswith("would") else " ".join(c.split()[:4]) for c in result.changes]
    assert steps[0] == f"talosctl -n {CP1} cp" and steps[1].startswith("would encrypt the copy to age1")
    assert steps[2:] == [
        f"talosctl -n {CP1} reset", "would decrypt the snapshot into homeops-backup-XXXX/db.snapshot in memory",
        f"talosctl -n {CP1} bootstrap"]
    assert f"snapshot: {backup.name} from " in result.stdout and "snapshot checked: sha256 matches" in result.stdout
    assert "plan: etcd would be recovered on cp-1" in result.stdout
    after = raw_state(drill)
    assert after["nodes"] == before["nodes"] and after["etcd"] == before["etcd"]
    assert copies(drill) == [] and list(memory.iterdir()) == []


def test_a_wrong_identity_stops_before_any_reset(make_drill, memory, age):
    drill = make_drill({}, edit=age.edit)
    backed_up(drill)
    lose(drill, "etcd-member-lost", "cp-2")
    stranger = AgeIdentity()

    result = drill.run("etcd-restore", f"identity={key_file(drill, stranger)}", apply=True)
    assert result.code == 1, result.stdout + result.stderr
    assert "does not decrypt with 1 age identity from " in result.last_line
    assert "(it was encrypted to another key)" in result.last_line
    assert "; nothing changed — record: " in result.last_line
    assert [c.split()[3] for c in result.changes] == ["cp"]  # the copy only: no reset, no bootstrap
    raw = raw_state(drill)
    cp1 = next(n for n in raw["nodes"] if n["name"] == "cp-1")
    assert cp1.get("etcd_data", True) and cp1["reboot"] is None and cp1["boots"] == 0
    assert str(stranger.identity) not in result.stdout


def test_a_changed_backup_file_stops_before_any_reset(make_drill, memory, age, monkeypatch):
    drill = make_drill({}, edit=age.edit)
    backup, manifest = backed_up(drill)
    lose(drill, "etcd-member-lost", "cp-2")
    damaged = bytearray((backup / "etcd.snapshot.age").read_bytes())
    damaged[-3] ^= 0x01
    (backup / "etcd.snapshot.age").write_bytes(bytes(damaged))
    # The identity where SOPS looks for it, this time.
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(key_file(drill, age)))

    result = drill.run("etcd-restore", apply=True)
    assert result.code == 1, result.stdout + result.stderr
    expected = next(f["sha256"] for f in manifest["files"] if f["name"] == "etcd.snapshot.age")
    assert f"its manifest says {expected}: the file changed since the backup was written" in result.last_line
    assert [c.split()[3] for c in result.changes] == ["cp"]
    cp1 = next(n for n in raw_state(drill)["nodes"] if n["name"] == "cp-1")
    assert cp1.get("etcd_data", True) and cp1["reboot"] is None


SCENARIOS = Path(__file__).resolve().parents[2] / "runbooks" / "scenarios"


@pytest.mark.parametrize("scenario", ["etcd-member-lost.yaml", "control-plane-lost.yaml"])
def test_the_rehearsal_scenarios_restore_from_the_copied_database(make_drill, memory, age, monkeypatch, scenario):
    drill = make_drill(yaml.safe_load((SCENARIOS / scenario).read_text()), edit=age.edit)
    monkeypatch.setenv("SOPS_AGE_KEY", f"{age.identity}\n")  # SOPS's variable this time
    assert drill.tool("kubectl", "get", "nodes", check=False).returncode != 0
    before = raw_state(drill)["resource_version"]

    result = drill.run("etcd-restore", "snapshot=copied", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    assert f"decrypting with 1 age identity from SOPS_AGE_KEY" in result.stdout
    # A copied database has no integrity hash: its recovery, and only it, skips the check.
    recovery = [c for c in result.changes if " bootstrap " in c]
    assert len(recovery) == 1 and recovery[0].endswith(" --recover-skip-hash-check")
    raw = raw_state(drill)
    lost = scenario == "control-plane-lost.yaml"
    assert members(raw) == {"cp-1": True, "cp-2": not lost}
    assert raw["etcd"]["restored_revision"] == before  # the copy was the database as it stood
    assert drill.tool("kubectl", "get", "nodes").returncode == 0
    assert ("run node-add -p node=cp-2" in result.stdout) == lost
    assert "went back to the snapshot's time" in result.stdout and "the database copied off cp-1" in result.stdout
    assert list(memory.iterdir()) == [] and plaintext_leaks([drill.directory, memory], []) == []
