"""etcd-backup: etcd's snapshot and every node's machine configuration, each encrypted to cluster.yaml's
`secrets.age_public_key` as it is taken (homeops.backup), with a manifest and a retention count.
control-plane-upgrade takes its snapshot through `take_backup` too (without retention).

Health, decided here once for both runbooks:
- refused when no control-plane node's etcd answers without errors (nothing to snapshot from), or
  when etcd reports CORRUPT (a snapshot may hold damaged data, and retention would then remove a good
  backup for it);
- a warning, and the snapshot taken from a healthy member, when another member is unreachable or
  reports errors, or etcd has the NOSPACE alarm (etcd is read-only until compacted, defragmented and
  disarmed, but its data is intact: a backup is worth most then).
The snapshot is always taken from a control-plane node's own address, never the VIP: talosctl would
otherwise ask whichever node holds the VIP, and the record would not say which member it was.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from homeops.backup import scratch, sets
from homeops.backup.sealing import KeyInvalid, SealedFile, describe, recipient, seal_bytes, seal_file
from homeops.cluster.model import Node
from homeops.errors import RunbookStopped
from homeops.procedures.session import Session
from homeops.runner.target import twin_in_use
from homeops.tools import talosctl
from homeops.tools.process import ToolError
from homeops.tools.shapes import EtcdSnapshot

DEFAULT_DESTINATION = "backups"
DEFAULT_KEEP = 7
# etcd's Status lists each raised alarm among its errors (`memberID:N alarm:NOSPACE`): those are
# judged from `etcd alarm list`, not as a member that cannot answer.
_ALARM_ERROR = re.compile(r"memberID:\s*\d+\s+alarm:\s*([A-Z]+)")


@dataclass
class Backup:
    directory: Path | None  # None in plan mode
    source: Node
    snapshot: EtcdSnapshot | None = None
    files: list[tuple[str, SealedFile]] = field(default_factory=list)  # (what it is, the file)
    warnings: list[str] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)


def destination_of(session: Session, destination: str | Path) -> Path:
    """A relative destination is the project's (`backups/`), except in a rehearsal: against the twin it is
    the twin's directory, so a rehearsal's retention never removes a real backup and a rehearsed restore
    never picks one (as the bootstrap's files go into the twin, `bootstrap_files`)."""
    path = Path(destination)
    if path.is_absolute():
        return path
    twin = twin_in_use()
    if twin is not None:
        return twin / path
    return session.project / path if session.project is not None else path


def age_recipient(session: Session):
    key = session.cluster.secrets.age_public_key
    if not key:
        raise RunbookStopped("refused: cluster.yaml has no secrets.age_public_key, and backups are encrypted to it "
                             "(they hold the cluster's secrets); nothing written")
    try:
        return recipient(str(key))
    except KeyInvalid as exc:
        raise RunbookStopped(f"refused: secrets.age_public_key: {exc}; nothing written") from None


def _errors_beyond_alarms(errors: str) -> str:
    return ", ".join(part.strip() for part in _ALARM_ERROR.sub("", errors).split(",") if part.strip())


def choose_source(session: Session) -> tuple[Node, list[str]]:
    """The first control-plane node whose etcd answers without errors, and the warnings to say."""
    control_planes = session.cluster.control_planes
    if not control_planes:
        raise RunbookStopped("refused: cluster.yaml has no control-plane node to take an etcd snapshot from")
    healthy, problems = [], []
    for node in control_planes:
        try:
            statuses = talosctl.etcd_status(str(node.address))
        except ToolError as exc:
            problems.append(f"{node.name}: {exc}")
            continue
        errors = [_errors_beyond_alarms(s.errors) for s in statuses]
        if not statuses or any(errors):
            problems.append(f"{node.name}: {'; '.join(e for e in errors if e) or 'no status'}")
        else:
            healthy.append(node)
    if not healthy:
        raise RunbookStopped(
            "refused: no control-plane node's etcd answers without errors (" + "; ".join(problems) + "): a snapshot "
            "needs a healthy member; see the disaster-recovery page (etcd-restore); nothing written")
    source = healthy[0]
    warnings = [f"etcd member unhealthy, snapshot taken from {source.name} instead: {p}" for p in problems]
    try:
        alarms = talosctl.etcd_alarms(str(source.address))
    except ToolError as exc:
        raise RunbookStopped(f"refused: cannot tell whether etcd has an alarm ({exc}); nothing written") from None
    corrupt = [a for a in alarms if a.alarm != "NOSPACE"]
    if corrupt:
        raise RunbookStopped(
            "refused: etcd reports " + ", ".join(f"{a.alarm} on member {a.member}" for a in corrupt) + ": a snapshot "
            "may hold damaged data, and retention would remove a good backup for it; nothing written")
    warnings += [f"etcd alarm NOSPACE on member {a.member}: etcd accepts no writes until its space is compacted, "
                 "defragmented and the alarm disarmed (Talos's etcd-maintenance guide); its data is intact, so the "
                 "backup goes on" for a in alarms]
    return source, warnings


def check_parameters(session: Session, keep: int | None):
    """The age recipient; bad parameters stop the run before etcd is asked anything."""
    if keep is not None and (not isinstance(keep, int) or isinstance(keep, bool) or keep < 1):
        raise RunbookStopped(f"keep must be a whole number of backups, 1 or more, got {keep!r}; nothing written")
    return age_recipient(session)


def take_backup(session: Session, destination: str | Path = DEFAULT_DESTINATION, keep: int | None = None,
                why: str = "a copy of the cluster's state and secrets to restore from",
                chosen: tuple[Node, list[str]] | None = None) -> Backup:
    """Snapshot etcd and read every node's machine configuration, each encrypted at once into a new
    backup directory under `destination`; then, with `keep`, remove the oldest backups beyond it.
    `chosen`: what `choose_source` returned, when the runbook called it in a step of its own."""
    to = check_parameters(session, keep)
    root = destination_of(session, destination)
    source, warnings = chosen or choose_source(session)
    if chosen is None:
        say_warnings(session, warnings)
    backup = Backup(None, source, warnings=warnings)
    name = sets.set_name()
    if session.apply:
        backup.directory = sets.new_set(root)
    try:
        _snapshot(session, backup, root / name, to, why)
        _machine_configs(session, backup, root / name, to)
    except BaseException:
        if backup.directory is not None and not backup.files:
            sets.remove(backup.directory)  # nothing was written: no backup to keep
        elif backup.directory is not None:
            _write_manifest(session, backup, complete=False)
        raise
    if backup.directory is not None:
        sealed = _write_manifest(session, backup, complete=True)
        session.say(f"backup written: {backup.directory} ({len(backup.files)} encrypted files, manifest {sealed.name})")
    if keep is not None:
        retain(session, backup, destination, keep)
    return backup


def say_warnings(session: Session, warnings: list[str]) -> None:
    for line in warnings:
        session.say(f"warning: {line}")


def _snapshot(session: Session, backup: Backup, planned: Path, to, why: str) -> None:
    node = backup.source
    target = (backup.directory or planned) / sets.SNAPSHOT_FILE
    try:
        with scratch.private_directory() as memory:
            plain = memory / "etcd.snapshot"
            try:
                info = talosctl.etcd_snapshot(session.gate, str(node.address), str(plain), why=why)
            except ToolError as exc:
                raise RunbookStopped(f"{node.name}: stopped at step 'etcd snapshot': {exc}; nothing changed") from None
            session.gate.would(f"encrypt the snapshot to {to} into {target} (the plain copy stays in memory)")
            if info is None:
                return
            backup.snapshot = info
            session.say(f"etcd snapshot of {node.name}: revision {info.revision}, hash {info.hash}, "
                        f"{info.saved_bytes} bytes (total keys {info.total_keys}, total size {info.total_size})")
            sealed = seal_file(plain, target, to)
            plain.unlink()
    except scratch.ScratchUnavailable as exc:
        raise RunbookStopped(f"refused: {exc}; nothing written") from None
    backup.files.append((f"etcd snapshot of {node.name}", sealed))
    _said_sealed(session, sealed)


def _machine_configs(session: Session, backup: Backup, planned: Path, to) -> None:
    for node in session.cluster.nodes:
        target = (backup.directory or planned) / sets.machine_config_file(node.name)
        if not session.apply:
            session.gate.would(f"read {node.name}'s machine configuration (talosctl -n {node.address} get "
                               f"machineconfig -o yaml) and encrypt it to {to} into {target}",
                               "it carries the cluster's secrets: only the encrypted file is written")
            continue
        try:
            text = talosctl.machine_config(str(node.address))
        except ToolError as exc:
            raise RunbookStopped(
                f"{node.name}: stopped at step 'machine configuration': {exc}; the backup in {backup.directory} is "
                "incomplete (its manifest says so) and no older backup was removed") from None
        sealed = seal_bytes(text.encode(), target, to)
        del text
        backup.files.append((f"machine configuration of {node.name}", sealed))
        _said_sealed(session, sealed)


def _said_sealed(session: Session, sealed: SealedFile) -> None:
    session.say(f"encrypted: {sealed.path} sha256 {sealed.sha256} ({sealed.size} bytes)")


def _write_manifest(session: Session, backup: Backup, *, complete: bool) -> SealedFile:
    snapshot = backup.snapshot
    manifest = {
        "complete": complete,
        "taken": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "recipient": str(session.cluster.secrets.age_public_key),
        "source": {"node": backup.source.name, "address": str(backup.source.address)},
        "snapshot": None if snapshot is None else {
            "file": sets.SNAPSHOT_FILE, "revision": snapshot.revision, "hash": snapshot.hash,
            "saved_bytes": snapshot.saved_bytes, "total_keys": snapshot.total_keys,
            "total_size": snapshot.total_size},
        "files": [{"name": f.name, "what": what, "sha256": f.sha256, "size": f.size} for what, f in backup.files],
        "warnings": backup.warnings,
    }
    return describe(sets.write_manifest(backup.directory, manifest))


def retain(session: Session, backup: Backup, destination: str | Path, keep: int) -> None:
    """Remove the oldest backups beyond the newest `keep` (after `backup` was written complete)."""
    root = destination_of(session, destination)
    for old in sets.beyond(root, keep, adding=0 if session.apply else 1):
        if not session.apply:
            session.gate.would(f"remove the backup {old}", f"only the newest {keep} are kept")
            continue
        sets.remove(old)
        backup.removed.append(old)
        session.say(f"removed the backup {old}: only the newest {keep} are kept")


def summary(backup: Backup, apply: bool) -> str:
    if not apply:
        return (f"plan: etcd's snapshot from {backup.source.name} and every node's machine configuration would be "
                "encrypted into a new backup; nothing was written")
    lines = [f"backup {backup.directory}: etcd snapshot from {backup.source.name} at revision "
             f"{backup.snapshot.revision} (hash {backup.snapshot.hash}, {backup.snapshot.saved_bytes} bytes)"]
    lines += [f"  {f.name}  sha256 {f.sha256}  {f.size} bytes  ({what})" for what, f in backup.files]
    lines += [f"  removed (retention): {p.name}" for p in backup.removed]
    lines += [f"  warning: {w}" for w in backup.warnings]
    return "\n".join(lines)
