"""talosctl in etcd's disaster recovery (Talos v1.11 `website/content/v1.11/advanced/disaster-recovery.md`):
the etcd service's state, the database copied off a member, the EPHEMERAL reset and the bootstrap
from a snapshot. Changes go through the gate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from homeops.gate import Gate
from homeops.tools import process
from homeops.tools.decode import ToolOutputInvalid

READ_TIMEOUT = 30.0
COPY_TIMEOUT = 300.0  # the database of a home cluster is tens of MB
RECOVER_TIMEOUT = 300.0  # the upload of that database
RESET_MARGIN = 60.0  # beyond reset's own --timeout, for talosctl to report and exit

# Where etcd keeps its database on a Talos node; the guide copies it when no snapshot can be taken.
ETCD_DATABASE = "/var/lib/etcd/member/snap/db"
# `talosctl service etcd` (pkg/machinery/formatters RenderServicesInfo): `NAME  value` rows, the
# state in STATE: Running, Preparing (waiting for a bootstrap or to join), Failed, Finished...
_ROW = re.compile(r"^(?P<key>[A-Z]+)\s+(?P<value>.*\S)\s*$")
# The one line `bootstrap --recover-from` prints before uploading (cmd/talosctl/cmd/talos/bootstrap.go;
# fixture talosctl-bootstrap-recover-from.txt).
_RECOVERING = re.compile(r'^recovering from snapshot "(?P<path>.*)": hash (?P<hash>[0-9a-f]{8}), '
                         r"revision (?P<revision>\d+), total keys (?P<keys>\d+), total size (?P<size>\d+)$",
                         re.MULTILINE)


@dataclass(frozen=True)
class ServiceState:
    node: str
    state: str
    health: str


@dataclass(frozen=True)
class Recovering:
    path: str
    hash: str
    revision: int
    total_keys: int
    total_size: int


def parse_service(text: str, argv: Sequence[str]) -> ServiceState:
    rows = {}
    for line in text.splitlines():
        found = _ROW.match(line)
        if found and found["key"] not in rows:
            rows[found["key"]] = found["value"]
    if "STATE" not in rows:
        raise ToolOutputInvalid(argv, text, "talosctl service's STATE row")
    return ServiceState(rows.get("NODE", ""), rows["STATE"], rows.get("HEALTH", ""))


def etcd_service(address: str, *, timeout: float = READ_TIMEOUT) -> ServiceState:
    argv = ["talosctl", "-n", address, "service", "etcd"]
    return parse_service(process.run(argv, timeout=timeout).stdout, argv)


def copy_database(gate: Gate, address: str, directory: str, *, why: str = "") -> bool:
    """`talosctl cp` of etcd's database into `directory` (as `directory/db`); False in plan mode."""
    done = gate.change(["talosctl", "-n", address, "cp", ETCD_DATABASE, directory], timeout=COPY_TIMEOUT, why=why,
                       about=f"the copy {directory}/db", unsure="may be incomplete")
    return done is not None


def reset_ephemeral_argv(address: str, timeout: float) -> list[str]:
    # The guide's command, with --timeout bounding talosctl's own wait for the reboot (reset's
    # trackable-action flags --wait, default true, and --timeout: cmd/talosctl/cmd/talos/reset.go, release-1.11).
    return ["talosctl", "-n", address, "reset", "--graceful=false", "--reboot", "--system-labels-to-wipe=EPHEMERAL",
            "--timeout", f"{timeout:g}s"]


def reset_ephemeral(gate: Gate, address: str, *, timeout: float, node: str, why: str = "") -> None:
    """Wipe the node's EPHEMERAL partition (etcd's data directory with it) and reboot it."""
    gate.change(reset_ephemeral_argv(address, timeout), timeout=timeout + RESET_MARGIN, why=why, about=node,
                unsure="may be wiping EPHEMERAL and rebooting")


def parse_recovering(text: str, argv: Sequence[str]) -> Recovering:
    found = _RECOVERING.search(text)
    if not found:
        raise ToolOutputInvalid(argv, text, "talosctl's 'recovering from snapshot' line")
    return Recovering(found["path"], found["hash"], int(found["revision"]), int(found["keys"]), int(found["size"]))


def recover_argv(address: str, path: str, *, skip_hash_check: bool) -> list[str]:
    argv = ["talosctl", "-n", address, "bootstrap", f"--recover-from={path}"]
    return [*argv, "--recover-skip-hash-check"] if skip_hash_check else argv


def recover(gate: Gate, address: str, path: str, *, skip_hash_check: bool, node: str,
            why: str = "") -> Recovering | None:
    """Bootstrap etcd on `address` from the snapshot at `path`; what talosctl read of it (None in plan mode)."""
    argv = recover_argv(address, path, skip_hash_check=skip_hash_check)
    done = gate.change(argv, timeout=RECOVER_TIMEOUT, why=why, about=f"etcd on {node}",
                       unsure="may be recovering from the snapshot (look at `talosctl service etcd` before anything else)")
    return None if done is None else parse_recovering(done.stdout, argv)
