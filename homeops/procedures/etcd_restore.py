"""etcd-restore: Talos's disaster recovery (v1.11 `website/content/v1.11/advanced/disaster-recovery.md`),
step by step, each step refusing to go on while what the next one needs is not there.

The order is the safety (each step takes what the one before returned):
1. triage and the refusal with quorum (`etcd_triage`);
2. etcd's database copied (`talosctl cp /var/lib/etcd/member/snap/db`) off a member that still has
   one, before anything is wiped ("make sure a database snapshot is taken before doing this"), into
   the tmpfs scratch and sealed with age at once like a backup (`backups/etcd-copy-TIME/`);
3. the snapshot chosen (`newest` of every source, a backup's name or path, or `copied`), its sha256
   checked against its manifest and decrypted whole with the operator's identity into nothing:
   a wrong identity or a damaged file stops here, before any reset (`Verified` is what step 4 needs);
4. `talosctl reset --graceful=false --reboot --system-labels-to-wipe=EPHEMERAL` on every control plane
   whose etcd has data (the guide's command);
5. every reachable control plane's etcd service `Preparing` ("Make sure all etcd service instances are
   in Preparing state");
6. `talosctl bootstrap --recover-from=FILE` once, against one node, the snapshot decrypted into the
   scratch just before and removed just after (`--recover-skip-hash-check` only for a copied database,
   which has no integrity hash: the guide's note);
7. every reachable member healthy, the API, nodes Ready, Ceph, Flux; lost control planes named with
   the way back (node-add).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from homeops.backup import scratch, sets, snapshots, unsealing
from homeops.backup.sealing import SealedFile, seal_file
from homeops.backup.snapshots import LocalSource, SnapshotRef, SnapshotSource, SnapshotUnavailable
from homeops.cluster.model import Node
from homeops.errors import RunbookStopped
from homeops.gate import in_doubt
from homeops.procedures import etcd_backup, preflight, waits
from homeops.procedures.etcd_triage import PREPARING, ControlPlane, Triage
from homeops.procedures.session import Session
from homeops.procedures.waits import WaitTimedOut, wait_until
from homeops.tools import kubectl, talos_recovery, talosctl
from homeops.tools.decode import ToolOutputInvalid
from homeops.tools.process import ToolError

NEWEST = "newest"
COPIED = "copied"
SNAPSHOT_PLAIN = "db.snapshot"  # the decrypted snapshot's name in the scratch directory


def _stop(step: str, detail: str, left: str) -> RunbookStopped:
    return RunbookStopped(f"stopped at step '{step}': {detail}; left in place: {left}")


# --- parameters and identity ------------------------------------------------------------------


def identities(session: Session, identity: str) -> unsealing.Identities:
    """The operator's age identities (never shown: only where they came from); a stop when there are none."""
    try:
        found = unsealing.find_identities(identity or None)
    except unsealing.IdentityMissing as exc:
        raise RunbookStopped(f"refused: {exc}; nothing changed") from None
    session.say(f"decrypting with {found.describe()}")
    return found


# --- step 2: the database copied before anything is wiped --------------------------------------


@dataclass(frozen=True)
class Copied:
    node: Node
    directory: Path | None  # the sealed copy's set; None in plan mode
    sealed: SealedFile | None


def copy_database(session: Session, found: Triage, destination: str) -> Copied | None:
    """The database of the first member that still has one, sealed into `destination/etcd-copy-TIME/`.

    None when no reachable member has data (each waits in Preparing): the snapshot is then all there is."""
    holders = found.with_data
    if not holders:
        session.say("no reachable control plane's etcd holds data (each waits in Preparing): nothing to copy "
                    "before the restore")
        return None
    to = etcd_backup.age_recipient(session)
    root = etcd_backup.destination_of(session, destination)
    failures = []
    try:
        for cp in holders:
            copied = _copy_from(session, cp, root, to, failures)
            if copied is not None:
                return copied
    except scratch.ScratchUnavailable as exc:
        raise RunbookStopped(f"refused: {exc}; nothing changed") from None
    raise RunbookStopped(
        "refused: etcd's database could not be copied off any member that holds one (" + "; ".join(failures)
        + "): nothing is wiped without a copy; nothing changed")


def _copy_from(session: Session, cp: ControlPlane, root: Path, to, failures: list[str]) -> Copied | None:
    node = cp.node
    why = "a copy of the newest data etcd has, before any reset wipes it (Talos's guide)"
    if not session.apply:
        talos_recovery.copy_database(session.gate, str(node.address), f"{scratch.PREFIX}XXXX/copy", why=why)
        session.gate.would(f"encrypt the copy to {to} into {root}/{sets.COPY_PREFIX}TIME/{sets.COPY_FILE} "
                           "(the plain copy stays in memory)")
        return Copied(node, None, None)
    with scratch.private_directory() as memory:
        into = memory / "copy"
        try:
            talos_recovery.copy_database(session.gate, str(node.address), str(into), why=why)
        except ToolError as exc:
            failures.append(f"{node.name}: {str(exc).strip().splitlines()[-1]}")
            return None
        plain = into / "db"
        if not plain.is_file() or plain.stat().st_size == 0:
            failures.append(f"{node.name}: talosctl cp wrote no database")
            return None
        directory = sets.new_set(root, prefix=sets.COPY_PREFIX)
        sealed = seal_file(plain, directory / sets.COPY_FILE, to)
        plain.unlink()
    sets.write_manifest(directory, {
        "complete": True, "kind": "copied-database",
        "taken": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "recipient": str(session.cluster.secrets.age_public_key),
        "source": {"node": node.name, "address": str(node.address)},
        "snapshot": {"file": sets.COPY_FILE, "hash_appended": False, "revision": None},
        "files": [{"name": sealed.name, "what": f"etcd database copied off {node.name}", "sha256": sealed.sha256,
                   "size": sealed.size}],
        "warnings": [],
    })
    session.say(f"etcd's database copied off {node.name} and encrypted: {sealed.path} sha256 {sealed.sha256} "
                f"({sealed.size} bytes)")
    return Copied(node, directory, sealed)


# --- step 3: the snapshot chosen and checked ---------------------------------------------------


@dataclass(frozen=True)
class Chosen:
    ref: SnapshotRef | None  # None: this run's copy, planned only
    source: SnapshotSource | None
    copied_from: str | None  # the node a copied database came off: no integrity hash, skip its check

    @property
    def skip_hash_check(self) -> bool:
        return self.copied_from is not None

    def describe(self) -> str:
        if self.ref is None:
            return "the database this run would copy"
        taken = _utc(self.ref.taken_at) if self.ref.taken_at else "time unknown"
        revision = f"revision {self.ref.revision}" if self.ref.revision is not None else "revision unknown"
        return f"{self.ref.name} from {self.ref.source} ({taken}, {revision})"


def _utc(moment: datetime) -> str:
    # talos-backup in a pod whose TZ is not UTC names its objects with an offset (13:00:00+02:00): the Z is earned
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def choose(session: Session, snapshot: str, destination: str, copied: Copied | None) -> Chosen:
    wanted = (snapshot or NEWEST).strip()
    local = LocalSource(etcd_backup.destination_of(session, destination))
    if wanted == COPIED:
        if copied is None:
            raise RunbookStopped("refused: snapshot=copied, but no member had a database to copy; choose a backup "
                                 "(the default: the newest); nothing changed")
        if copied.directory is None:
            return Chosen(None, None, copied.node.name)
        return Chosen(local.ref(copied.directory), local, copied.node.name)
    if wanted == NEWEST:
        return _newest(session, destination, copied)
    path = Path(wanted).expanduser()
    if not path.is_absolute() and session.project is not None and (session.project / path).exists():
        path = session.project / path
    if path.exists():
        directory = path if path.is_dir() else path.parent
        ref = LocalSource(directory.parent).ref(directory)
        if ref is None:
            raise RunbookStopped(f"refused: {path} is not a complete backup with a manifest naming its snapshot; "
                                 "nothing changed")
        return Chosen(ref, LocalSource(directory.parent), snapshots.copied_from(directory))
    named = local.directory / wanted
    if "/" not in wanted and named.is_dir() and local.ref(named) is not None:  # a backup, or a copy (never listed)
        return Chosen(local.ref(named), local, snapshots.copied_from(named))
    for source in snapshots.sources_for(session, destination):
        for ref in _listed(session, source):
            if ref.name == wanted:
                return Chosen(ref, source, None)
    raise RunbookStopped(f"refused: no backup named {wanted!r} in "
                         + ", ".join(s.describe() for s in snapshots.sources_for(session, destination))
                         + "; nothing changed")


def _listed(session: Session, source: SnapshotSource) -> list[SnapshotRef]:
    try:
        return source.list()
    except (OSError, SnapshotUnavailable, ToolError) as exc:
        session.say(f"warning: cannot list the snapshots of {source.describe()}: {exc}")
        return []


def _newest(session: Session, destination: str, copied: Copied | None) -> Chosen:
    found = []
    sources = snapshots.sources_for(session, destination)
    for source in sources:
        found += [(ref, source) for ref in _listed(session, source)]
    if not found:
        hint = (f"; the database copied off {copied.node.name} can be restored with -p snapshot=copied "
                "(it may be inconsistent: the guide's last resort)") if copied else ""
        raise RunbookStopped("refused: no backup in " + ", ".join(s.describe() for s in sources) + hint
                             + "; nothing changed")
    order = snapshots.newest_first([ref for ref, _ in found])
    ref = order[0]
    source = next(s for r, s in found if r is ref)
    return Chosen(ref, source, None)


@dataclass(frozen=True)
class Verified:
    """A snapshot whose sha256 matched its manifest and that decrypted whole with the identities."""

    chosen: Chosen
    size: int | None  # bytes of plaintext; None when only planned


def _encrypted(chosen: Chosen, into: Path) -> Path:
    source, ref = chosen.source, chosen.ref
    if isinstance(source, LocalSource):
        return source.path_of(ref)
    return source.fetch(ref, into)


def _checked(chosen: Chosen, path: Path) -> None:
    expected = chosen.ref.sha256
    if expected is None:
        return  # a source without a manifest: age's own authentication is the check
    actual = snapshots.sha256_of(path)
    if actual != expected:
        raise RunbookStopped(f"refused: {path} has sha256 {actual}, its manifest says {expected}: the file changed "
                             "since the backup was written; choose another backup (-p snapshot=NAME); nothing changed")


def verify(session: Session, chosen: Chosen, keys: unsealing.Identities) -> Verified:
    """Check the chosen snapshot before anything is wiped: its hash, and that it decrypts (into nothing)."""
    session.say(f"snapshot: {chosen.describe()}")
    if chosen.ref is None:
        session.gate.would("check the copy's sha256 and that it decrypts with the identity, before any reset")
        return Verified(chosen, None)
    try:
        with scratch.private_directory() as memory:
            path = _encrypted(chosen, memory)
            _checked(chosen, path)
            size = unsealing.check_opens(path, keys)
    except (SnapshotUnavailable, OSError) as exc:
        raise RunbookStopped(f"refused: cannot read the snapshot {chosen.describe()}: {exc}; nothing changed") from None
    except scratch.ScratchUnavailable as exc:
        raise RunbookStopped(f"refused: {exc}; nothing changed") from None
    except unsealing.WontOpen as exc:
        raise RunbookStopped(f"refused: {exc} (the identity must be the key of secrets.age_public_key); nothing changed") from None
    if size == 0:
        raise RunbookStopped(f"refused: the snapshot {chosen.describe()} decrypts to nothing; nothing changed")
    sums = "sha256 matches its manifest" if chosen.ref.sha256 else "no manifest sha256 (age authenticated it)"
    session.say(f"snapshot checked: {sums}, decrypts whole ({size} bytes)")
    return Verified(chosen, size)


# --- steps 4 and 5: the reset, and every etcd waiting ------------------------------------------


def reset_members(session: Session, found: Triage, verified: Verified) -> list[str]:
    """Wipe EPHEMERAL on every reachable control plane whose etcd has data. `verified` is what only a
    checked snapshot gives: the order is in the signature, nothing is wiped before the check."""
    done = []
    for cp in found.with_data:
        node = cp.node
        try:
            with session.covering(session.wait_timeout + talos_recovery.RESET_MARGIN, f"the reset of {node.name}"):
                talos_recovery.reset_ephemeral(
                    session.gate, str(node.address), timeout=session.wait_timeout, node=node.name,
                    why=f"etcd on {node.name} is {cp.service}: wipe its data directory so it waits for the recovery")
        except ToolError as exc:
            left = ", ".join(done) + " wiped" if done else "nothing wiped"
            raise _stop(f"reset {node.name}", str(exc).strip(),
                        f"{left}; {node.name} may be resetting; run etcd-restore again once it answers") from None
        done.append(node.name)
    if not found.with_data:
        session.say("no control plane's etcd holds data: nothing to wipe")
    return done


def _services(found: Triage) -> dict[str, str]:
    states = {}
    for cp in found.reachable:
        try:
            states[cp.node.name] = talos_recovery.etcd_service(str(cp.node.address)).state
        except ToolError as exc:
            states[cp.node.name] = f"no answer ({str(exc).strip().splitlines()[-1]})"
    return states


def wait_preparing(session: Session, found: Triage) -> None:
    what = "every reachable control plane's etcd service Preparing (" + ", ".join(
        cp.node.name for cp in found.reachable) + ")"

    def look() -> bool | str:
        states = _services(found)
        seen = ", ".join(f"{name} {state}" for name, state in states.items())
        return all(state == PREPARING for state in states.values()) or seen

    try:
        waits.wait_for(session, what, look)
    except WaitTimedOut as exc:
        raise _stop("wait for Preparing", str(exc), "the reset control planes, etcd not recovered; run etcd-restore "
                    "again once every etcd waits in Preparing") from None


# --- step 6: the one bootstrap from the snapshot -----------------------------------------------


def target(found: Triage) -> Node:
    """The node etcd is recovered on: the first reachable control plane in cluster.yaml's order."""
    return found.reachable[0].node


def recover(session: Session, found: Triage, verified: Verified, keys: unsealing.Identities
            ) -> talos_recovery.Recovering | None:
    """`talosctl bootstrap --recover-from` exactly once; the snapshot in plain text only in the scratch, only meanwhile."""
    node, chosen = target(found), verified.chosen
    skip = chosen.skip_hash_check
    why = (f"recover etcd on {node.name} from {chosen.describe()}, once; the other control planes join it"
           + (" (a copied database has no integrity hash: --recover-skip-hash-check)" if skip else ""))
    if chosen.ref is None or not session.apply:
        plain = f"{scratch.PREFIX}XXXX/{SNAPSHOT_PLAIN}"
        session.gate.would(f"decrypt the snapshot into {plain} in memory (tmpfs), removed after the upload")
        talos_recovery.recover(session.gate, str(node.address), plain, skip_hash_check=skip, node=node.name, why=why)
        return None
    try:
        with scratch.private_directory() as memory:
            plain = memory / SNAPSHOT_PLAIN
            path = _encrypted(chosen, memory)
            _checked(chosen, path)  # again: the file is read now, not when it was checked
            unsealing.open_into(path, plain, keys)
            try:
                recovering = talos_recovery.recover(session.gate, str(node.address), str(plain),
                                                    skip_hash_check=skip, node=node.name, why=why)
            except ToolError as exc:
                look = f"look at `talosctl -n {node.address} service etcd`"
                if in_doubt(exc) or isinstance(exc, ToolOutputInvalid):  # it may have been uploaded
                    left = f"every control plane wiped; etcd on {node.name} may be recovering: {look} first"
                else:
                    left = f"every control plane wiped, etcd not recovered; {look}, then run etcd-restore again"
                raise _stop("bootstrap --recover-from", str(exc).strip(), left) from None
            plain.unlink()
    except (scratch.ScratchUnavailable, SnapshotUnavailable, OSError, unsealing.WontOpen) as exc:
        raise _stop("decrypt the snapshot", str(exc), "every control plane wiped, etcd not recovered; run "
                    "etcd-restore again") from None
    session.say(f"etcd recovering on {node.name}: revision {recovering.revision}, hash {recovering.hash}, "
                f"total keys {recovering.total_keys}")
    if chosen.ref.revision is not None and recovering.revision != chosen.ref.revision:
        session.say(f"warning: talosctl read revision {recovering.revision}, the manifest says {chosen.ref.revision}")
    return recovering


# --- step 7: back -------------------------------------------------------------------------------


def _etcd_back(found: Triage) -> bool | str:
    expected = sorted(cp.node.name for cp in found.reachable)
    node = target(found)
    members = talosctl.etcd_members(str(node.address))
    names = sorted(m.hostname for m in members)
    problems = [] if names == expected else [f"members {', '.join(names) or 'none'}, expected {', '.join(expected)}"]
    problems += [f"{m.hostname} still a learner" for m in members if m.learner]
    for cp in found.reachable:
        try:
            statuses = talosctl.etcd_status(str(cp.node.address))
        except ToolError as exc:
            problems.append(f"{cp.node.name}: {str(exc).strip().splitlines()[-1]}")
            continue
        problems += [f"{cp.node.name}: {s.errors}" for s in statuses if s.errors]
    return not problems or "; ".join(problems)


def _nodes_back(session: Session, found: Triage) -> bool | str:
    lost = {cp.node.name for cp in found.lost}
    seen = {n.name: n for n in kubectl.nodes()}
    problems = []
    for node in session.cluster.nodes:
        if node.name in lost:
            continue
        status = seen.get(node.name)
        if status is None:
            problems.append(f"{node.name} not registered")
        elif not status.is_ready:
            problems.append(f"{node.name} not Ready (Ready={status.ready})")
    return not problems or "; ".join(problems)


def _checks_back(read) -> bool | str:
    failed = [f"{r.check}: {r.detail}" for r in read() if r.failed]
    return not failed or "; ".join(failed)


def wait_recovered(session: Session, found: Triage) -> None:
    """Every reachable control plane a healthy voting member, then the API with every node but the lost
    Ready, then Ceph healthy and every Flux object Ready."""
    reachable = ", ".join(cp.node.name for cp in found.reachable)
    steps = [
        (f"etcd: {reachable} voting members, each answering without errors", lambda: _etcd_back(found)),
        ("the Kubernetes API, every node Ready" + (" but " + ", ".join(cp.node.name for cp in found.lost)
                                                   if found.lost else ""), lambda: _nodes_back(session, found)),
        ("Ceph healthy", lambda: _checks_back(preflight.ceph_health)),
        ("every Flux object Ready", lambda: _checks_back(preflight.flux_ready)),
    ]
    for what, look in steps:
        if not session.apply:
            session.gate.would_wait(what, session.wait_timeout)
            continue
        try:
            wait_until(look, session.wait_timeout, session.poll_interval, what, progress=waits.progress(session, what))
        except WaitTimedOut as exc:
            raise _stop(f"wait for {what}", str(exc), "etcd recovered from the snapshot; look at the cluster, then "
                        "run cluster-health (a re-run of etcd-restore refuses while etcd has quorum)") from None
        session.say(f"back: {what}")


def summary(session: Session, found: Triage, verified: Verified,
            recovering: talos_recovery.Recovering | None) -> str:
    lines = [f"{cp.node.name} did not answer ({cp.answer}): it is out of etcd now; wipe or reinstall it with its "
             f"machine configuration (the backup holds it), then run node-add -p node={cp.node.name} to bring it back"
             for cp in found.lost]
    chosen = verified.chosen
    if not session.apply or recovering is None:
        lines.append(f"plan: etcd would be recovered on {target(found).name} from {chosen.describe()}; nothing changed")
        return "\n".join(lines)
    ref = chosen.ref
    taken = _utc(ref.taken_at) if ref.taken_at else "an unknown time"
    what = f"the database copied off {chosen.copied_from}" if chosen.copied_from else f"the backup {ref.name}"
    lines.append(f"etcd restored on {target(found).name} from {what}: the cluster's state went back to the "
                 f"snapshot's time, {taken} (revision {recovering.revision}); every change to Kubernetes since then "
                 "is gone (Flux applies again what Git holds)")
    return "\n".join(lines)
