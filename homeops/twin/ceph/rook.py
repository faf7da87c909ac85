"""Rook's OSD disruption controller, as the twin plays it (rook `pkg/operator/ceph/disruption/
clusterdisruption/osd.go`, with `disruptionManagement.managePodBudgets: true`, the chart's default).

At every reconcile (here: every tool call, at the twin's clock) Rook looks for failure domains
(hosts) whose OSDs are down. While PGs are not clean it picks one as draining, preferring a host
whose node is unschedulable (a drain), and only then asks for noout on it. `updateNoout` then
sets noout on the draining host until `osdMaintenanceTimeout` (30 min) has passed since it first
did, clears it after, and clears noout on every other host: a `set-group noout` of someone else's
on a host that is not draining vanishes at the next reconcile. The cluster-wide `noout` flag and
flags on single OSDs are not Rook's and stay.
"""

from __future__ import annotations

from homeops.twin.ceph import ceph
from homeops.twin.kube import deployments

DEFAULT_MAINTENANCE_TIMEOUT = 30 * 60.0  # osdMaintenanceTimeout: 30 minutes


def initial() -> dict:
    return {
        "manage_pod_budgets": True,
        "osd_maintenance_timeout": DEFAULT_MAINTENANCE_TIMEOUT,
        "toolbox": True,
        "draining": "",
        "set_noout": False,
        "noout_set_at": {},
    }


def settings(state: dict) -> dict:
    rook = state.setdefault("rook", {})
    for key, value in initial().items():
        rook.setdefault(key, value)
    return rook


def reconcile(state: dict, now: float) -> None:
    rook = settings(state)
    if not rook["manage_pod_budgets"] or not deployments.operator_running(state):
        return  # an operator scaled to 0 reconciles nothing
    down = set(ceph.down_osds(state, now))
    osd_down = [ceph.crush_host(h) for h in ceph.hosts(state) if down & set(h["osds"])]
    drained = [ceph.crush_host(h) for h in ceph.hosts(state) if down & set(h["osds"]) and h["unschedulable"]]
    clean = all(s["state_name"] == "active+clean" or ceph.PG_HEALTHY.match(s["state_name"])
                for s in ceph.pg_states(state, now))
    if not osd_down and clean:
        rook["draining"], rook["set_noout"] = "", False
    elif osd_down and clean and not drained:
        rook["draining"], rook["set_noout"] = "", False
    elif osd_down and not clean and not rook["draining"]:
        if drained:
            rook["draining"], rook["set_noout"] = drained[0], True
        else:
            rook["draining"], rook["set_noout"] = osd_down[0], False
    _update_noout(state, rook, now)


def _update_noout(state: dict, rook: dict, now: float) -> None:
    groups = state["ceph"]["group_flags"]
    for host in ceph.hosts(state):
        name = ceph.crush_host(host)
        if name == rook["draining"] and rook["set_noout"]:
            since = rook["noout_set_at"].setdefault(name, now)
            wanted = now - since < rook["osd_maintenance_timeout"]
        else:
            rook["noout_set_at"].pop(name, None)
            wanted = False
        flags = groups.get(name, [])
        if wanted and "noout" not in flags:
            groups[name] = flags + ["noout"]
        elif not wanted and "noout" in flags:
            flags.remove("noout")
            if not flags:
                groups.pop(name, None)
