"""A re-run finishes what an earlier run of the same runbook left: telling its own leftovers
(one node cordoned and flagged mid-maintenance) from foreign problems, which still stop the run.

The earlier run is known from the last record of the same runbook beside this run's record
(`HOMEOPS_RECORD`): a stop there names the node first (`worker-2: stopped at step ...`). A run
that left no readable stop (killed) is recognised by its signature instead: exactly one node of
the runbook's role cordoned, noout on exactly that node's CRUSH hosts and nowhere else, Ceph's
only complaints about that node's OSDs being down. A run stopped before its cordon (its
`set-group noout` interrupted before the answer) leaves only the flag: accepted on the node its
record names, never by signature. Everything else must pass as usual.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from homeops.cluster.model import Cluster
from homeops.procedures.checks import CheckResult
from homeops.procedures.osd_placement import placement
from homeops.tools import ceph, kubectl
from homeops.tools.process import ToolError

# The runbooks that take nodes out one at a time, and the role of the nodes they work on.
ROLES = {"worker-upgrade": "worker", "control-plane-upgrade": "control-plane", "apply-config": None}  # None: any
# Ceph's complaints that a node down for maintenance causes by itself.
EXPECTED_CEPH_CHECKS = {"OSD_DOWN", "OSD_HOST_DOWN", "PG_DEGRADED", "OSDMAP_FLAGS", "OSD_FLAGS"}
EXPLAINABLE = {"nodes Ready", "Ceph health", "Ceph PGs", "Ceph flags"}
_STOPPED_NODE = re.compile(r"^(?:stopped: )?([a-z0-9][a-z0-9.-]*): stopped at step ")
_RECORD = re.compile(r"^\d{8}T\d{6}Z-(?P<runbook>.+?)(?:-\d+)?\.ipynb$")


def _this_record() -> Path | None:
    """This run's record: the kernel's safety layer knows it whatever started the notebook (Jupyter
    included); `HOMEOPS_RECORD` is what `homeops run` claimed for it."""
    from homeops.runner import guard

    running = guard.active()
    if running is not None and not running.finished:
        return running.record_path
    claimed = os.environ.get("HOMEOPS_RECORD")
    return Path(claimed) if claimed else None


def this_runbook() -> str | None:
    """The runbook of this run, from its record's name (`<stamp>-<runbook>.ipynb`)."""
    record = _this_record()
    found = _RECORD.match(record.name) if record else None
    return found["runbook"] if found else None


def last_stopped_node(runbook: str) -> str | None:
    """The node the last earlier record of `runbook` stopped on, when it stopped on one."""
    record = _this_record()
    if record is None:
        return None
    earlier = sorted(p for p in record.parent.glob(f"*-{runbook}*.ipynb")
                     if p != record and (m := _RECORD.match(p.name)) and m["runbook"] == runbook)
    if not earlier:
        return None
    try:
        status = json.loads(earlier[-1].read_text(encoding="utf-8"))["metadata"]["homeops"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    found = _STOPPED_NODE.match(str(status.get("reason") or ""))
    return found.group(1) if found and status.get("outcome") in ("stopped", "interrupted", "failed") else None


def own_leftovers(cluster: Cluster, results: list[CheckResult]) -> list[CheckResult]:
    """`results` with the failures an earlier run of this runbook left turned into warnings that say so.

    Unchanged unless every failure is one of EXPLAINABLE and explained by the one node left out.
    """
    failures = [r for r in results if r.failed]
    runbook = this_runbook()
    if not failures or runbook not in ROLES or any(r.check not in EXPLAINABLE for r in failures):
        return results
    try:
        node = _left_out(cluster, runbook, failures)
    except ToolError:
        return results
    if node is None:
        return results
    return [CheckResult(r.check, "warn", f"left by an earlier run of {runbook} on {node}, finished first: {r.detail}")
            if r.failed else r for r in results]


def _left_out(cluster: Cluster, runbook: str, failures: list[CheckResult]) -> str | None:
    cordoned = [n.name for n in kubectl.nodes() if n.unschedulable]
    named = last_stopped_node(runbook)
    if len(cordoned) == 1:
        (name,) = cordoned
    elif not cordoned and named:
        # Stopped before its cordon (a `set-group noout` interrupted before its answer): only the flag
        # on the named node's hosts is left, and the re-run sets it again anyway (set-group is idempotent).
        name = named
    else:
        return None
    if name not in {n.name for n in cluster.nodes if ROLES[runbook] in (None, n.role)}:
        return None
    nodes = next((r for r in failures if r.check == "nodes Ready"), None)
    if nodes and not all(problem.startswith(f"{name} ") for problem in nodes.detail.split("; ")):
        return None
    found = placement(name)
    dump, status, tree = ceph.osd_dump(), ceph.status(), ceph.osd_tree()
    if dump.maintenance_flags - {"noout"} or not set(tree.down_osds) <= set(found.osds):
        return None
    flagged = {host: flags for host, flags in dump.host_flags.items() if flags}
    if set(flagged) - set(found.crush_hosts) or any(flags - {"noout"} for flags in flagged.values()):
        return None
    if {c.name for c in status.checks} - EXPECTED_CEPH_CHECKS:
        return None
    # Without the record, only this runbook's own signature: one node cordoned, noout on its hosts, none
    # cluster-wide (ceph-maintenance leaves the cluster-wide flag too).
    signature = bool(cordoned) and bool(flagged) and "noout" not in dump.flags
    return name if named == name or signature else None
