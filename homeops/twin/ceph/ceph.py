"""Ceph as the Rook toolbox's `ceph` shows it, following the nodes.

One host bucket per node that has OSDs; OSD ids are given in node order. A host whose node is
rebooting has its OSDs down and every PG undersized and degraded; when it is back the PGs
recover for `recovery_seconds`, one after another (the count still recovering falls evenly), then are
active+clean again (never, with `pgs-stuck`). A node that joins (configured from maintenance mode)
brings its OSDs once it has registered, and PGs are remapped and backfilled onto them for `recovery_seconds`.
Pools are replicated three times across hosts with min_size 2.
"""

from __future__ import annotations

import math

import json
import re

from homeops.twin import faults, nodes
from homeops.twin.ceph import osd_lifecycle
from homeops.twin.kube import deployments

# Rook's defaultPgHealthyRegex: what the disruption controller counts as a clean PG.
PG_HEALTHY = re.compile(r"^active(\+(clean|deep|scrubbing|snaptrim|snaptrim_wait))+$")

# OSDMap flags in the order Ceph prints them, with their bits (CEPH_OSDMAP_*).
FLAG_BITS = {
    "full": 1 << 1,
    "pauserd": 1 << 2,
    "pausewr": 1 << 3,
    "noup": 1 << 5,
    "nodown": 1 << 6,
    "noout": 1 << 7,
    "noin": 1 << 8,
    "nobackfill": 1 << 9,
    "norebalance": 1 << 14,
    "norecover": 1 << 10,
    "noscrub": 1 << 11,
    "nodeep-scrub": 1 << 12,
    "notieragent": 1 << 13,
    "nosnaptrim": 1 << 21,
    "sortbitwise": 1 << 15,
    "recovery_deletes": 1 << 19,
    "purged_snapdirs": 1 << 20,
    "pglog_hardlimit": 1 << 22,
    "noautoscale": 1 << 23,
}
ALWAYS_SET = ("sortbitwise", "recovery_deletes", "purged_snapdirs", "pglog_hardlimit")
SETTABLE = (
    "full",
    "pause",
    "noup",
    "nodown",
    "noout",
    "noin",
    "nobackfill",
    "norebalance",
    "norecover",
    "noscrub",
    "nodeep-scrub",
    "notieragent",
    "nosnaptrim",
    "pglog_hardlimit",
    "noautoscale",
)
GROUP_FLAGS = ("noup", "nodown", "noin", "noout")
OBJECTS = 10_432
REPLICAS, MIN_SIZE = 3, 2
EINVAL, ENOENT, EBUSY, EPERM, EAGAIN = 22, 2, 16, 1, 11
# Rook's pools (the chart's defaults): each with its own CRUSH rule, failure domain host.
POOLS = ((1, ".mgr", 1), (2, "ceph-blockpool", 128), (3, "ceph-filesystem-metadata", 8))


class CephError(Exception):
    """`ceph` failed: the message (`Error EINVAL: ...`) and its exit code (the errno)."""

    def __init__(self, message: str, code: int, stdout: str = ""):
        super().__init__(message)
        self.code = code
        self.stdout = stdout


def hosts(state: dict) -> list[dict]:
    """The nodes with OSDs in Ceph: Rook prepares a node's OSDs only once Kubernetes has the node, so a
    machine still in maintenance mode (cluster.yaml's next node) has none yet."""
    return [n for n in state["nodes"] if n["osds"] and nodes.registered(n)]


def crush_host(node: dict) -> str:
    """The CRUSH host bucket of a node's OSDs: Rook names it after the node's hostname label with dots
    turned into dashes (NormalizeCrushName), or after the PVC; the twin keeps it in `crush_host`."""
    return node.get("crush_host") or node["name"]


def osd_up(state: dict, host: dict, osd: int, now: float) -> bool:
    # A drained node's OSD pods were evicted; pinned to that node, they wait until it is schedulable again.
    # An OSD whose Deployment was scaled to 0 (or deleted) has no pod.
    return (nodes.phase(host, now) in (nodes.RUNNING, nodes.UPGRADING) and not host["drained"]
            and osd not in state["ceph"]["forced_down"] and deployments.osd_stopped_at(state, osd) is None)


DOWN_OUT_INTERVAL = 600.0  # mon_osd_down_out_interval: Ceph marks a down OSD out after 10 minutes


def _down_since(host: dict) -> float | None:
    if host.get("off") and "off_since" in host:  # shut down (talosctl shutdown)
        return host["off_since"]
    if host["reboot"]:
        return host["reboot"]["down_at"]
    if host["drained"]:
        return host.get("drained_at")
    return None


def osd_in(state: dict, host: dict, osd: int, now: float) -> bool:
    """Whether Ceph still counts the OSD in: out once it has been down longer than the down-out
    interval with no noout (cluster-wide or on its host) covering it."""
    if osd_lifecycle.is_marked_out(state, osd):
        return False  # `ceph osd out`
    if osd_up(state, host, osd, now):
        return True
    since = _down_since(host)
    stopped = deployments.osd_stopped_at(state, osd)
    if stopped is not None:
        since = stopped if since is None else min(since, stopped)
    covered = "noout" in state["ceph"]["flags"] or "noout" in state["ceph"]["group_flags"].get(crush_host(host), [])
    return covered or since is None or now - since < DOWN_OUT_INTERVAL


def out_osds(state: dict, now: float) -> list[int]:
    return [osd for host in hosts(state) for osd in host["osds"] if not osd_in(state, host, osd, now)]


def down_osds(state: dict, now: float) -> list[int]:
    return [osd for host in hosts(state) for osd in host["osds"] if not osd_up(state, host, osd, now)]


def _hosts_touched(state: dict, osds: set[int]) -> list[dict]:
    return [h for h in hosts(state) if osds & set(h["osds"])]


def pg_states(state: dict, now: float) -> list[dict]:
    total = state["ceph"]["pg_count"]
    host_count = len(hosts(state))
    out = set(out_osds(state, now))
    # A down OSD still in holds copies nobody has replaced; once out, Ceph places them elsewhere.
    touched = len(_hosts_touched(state, set(down_osds(state, now)) - out))
    if touched:
        surviving = min(REPLICAS, host_count) - touched
        name = "active+undersized+degraded" if surviving >= MIN_SIZE else "undersized+degraded+peered"
        return [{"state_name": name, "count": total}]
    # Copies go to distinct hosts (failure domain host): hosts with an OSD still in, of those wanted.
    placeable = sum(1 for h in hosts(state) if set(h["osds"]) - out)
    wanted = min(REPLICAS, len([n for n in state["nodes"] if n["osds"] or n.get("osd_devices")]))
    if placeable < wanted:
        name = "active+undersized+degraded" if placeable >= MIN_SIZE else "undersized+degraded+peered"
        return [{"state_name": name, "count": total}]
    recovered_at = max((h["recovered_at"] for h in hosts(state)), default=0.0)
    if recovered_at > now:
        # Ceph recovers PG after PG: the count still recovering falls evenly over the recovery time.
        window = max(state["timing"]["recovery_seconds"], recovered_at - now)
        left = min(total, max(1, math.ceil(total * (recovered_at - now) / window)))
        return [s for s in ({"state_name": "active+clean", "count": total - left},
                            {"state_name": "active+recovering+degraded", "count": left}) if s["count"]]
    backfill_until = max((h.get("backfill_until", 0.0) for h in hosts(state)), default=0.0)
    if backfill_until > now:
        # A new host's OSDs take their share of the data: PGs remapped onto them, backfilled one after another.
        window = max(state["timing"]["recovery_seconds"], backfill_until - now)
        left = min(total, max(1, math.ceil(total * (backfill_until - now) / window)))
        return [s for s in ({"state_name": "active+clean", "count": total - left},
                            {"state_name": "active+remapped+backfilling", "count": left}) if s["count"]]
    if state["ceph"]["stuck"]:
        return [{"state_name": "active+recovery_wait+degraded", "count": total}]
    if state["ceph"].get("snaptrim"):
        # Snapshot trimming after a snapshot was deleted: healthy work, as Rook counts it.
        trimming, waiting = min(total, 6), min(max(total - 6, 0), 4)
        return [s for s in ({"state_name": "active+clean", "count": total - trimming - waiting},
                            {"state_name": "active+clean+snaptrim", "count": trimming},
                            {"state_name": "active+clean+snaptrim_wait", "count": waiting}) if s["count"]]
    return [{"state_name": "active+clean", "count": total}]


def _check(message: str, count: int | None = None) -> dict:
    summary: dict = {"message": message}
    if count is not None:
        summary["count"] = count
    return {"severity": "HEALTH_WARN", "summary": summary, "muted": False}


def _quorum(state: dict) -> list[str]:
    """The monitors in quorum: mon c is down with mon-down."""
    return ["a", "b"] if faults.active(state, "mon-down") else ["a", "b", "c"]


def health(state: dict, now: float) -> dict:
    checks = {}
    quorum = _quorum(state)
    if len(quorum) < 3:  # wording of Ceph's HealthMonitor (MON_DOWN)
        checks["MON_DOWN"] = _check(f"{3 - len(quorum)}/3 mons down, quorum {','.join(quorum)}", 3 - len(quorum))
    if faults.active(state, "osd-nearfull") and hosts(state):
        checks["OSD_NEARFULL"] = _check("1 nearfull osd(s)", 1)  # the first OSD passed nearfull_ratio
    down = down_osds(state, now)
    if down:
        checks["OSD_DOWN"] = _check(f"{len(down)} osds down", len(down))
        dead_hosts = [h for h in hosts(state) if set(h["osds"]) <= set(down)]
        if dead_hosts:
            osds = sum(len(h["osds"]) for h in dead_hosts)
            checks["OSD_HOST_DOWN"] = _check(f"{len(dead_hosts)} host ({osds} osds) down", len(dead_hosts))
    user_flags = [f for f in FLAG_BITS if f in state["ceph"]["flags"]]
    if user_flags:
        checks["OSDMAP_FLAGS"] = _check(f"{','.join(user_flags)} flag(s) set", len(user_flags))
    grouped = {host: flags for host, flags in state["ceph"]["group_flags"].items() if flags}
    if grouped:
        names = sorted({flag.upper() for flags in grouped.values() for flag in flags})
        checks["OSD_FLAGS"] = _check(
            f"{len(grouped)} OSDs or CRUSH {{nodes, device-classes}} have {{{','.join(names)}}} flags set", len(grouped)
        )
    states = pg_states(state, now)
    degraded = sum(s["count"] for s in states if "degraded" in s["state_name"])
    if degraded:
        copies = OBJECTS * REPLICAS
        lost = OBJECTS * max(1, len(_hosts_touched(state, set(down))))
        message = (
            f"Degraded data redundancy: {lost}/{copies} objects degraded ({100 * lost / copies:.3f}%), "
            f"{degraded} pgs degraded"
        )
        undersized = sum(s["count"] for s in states if "undersized" in s["state_name"])
        if undersized:
            message += f", {undersized} pgs undersized"
        checks["PG_DEGRADED"] = _check(message, degraded)
    inactive = sum(s["count"] for s in states if not s["state_name"].startswith("active"))
    if inactive:
        checks["PG_AVAILABILITY"] = _check(f"Reduced data availability: {inactive} pgs inactive", inactive)
    return {"status": "HEALTH_WARN" if checks else "HEALTH_OK", "checks": checks, "mutes": []}


def status(state: dict, now: float) -> dict:
    osds = [osd for h in hosts(state) for osd in h["osds"]]
    down = down_osds(state, now)
    return {
        "fsid": state["ceph"]["fsid"],
        "health": health(state, now),
        "election_epoch": 42,
        "quorum": list(range(len(_quorum(state)))),
        "quorum_names": _quorum(state),
        "monmap": {"epoch": 3, "min_mon_release_name": "squid", "num_mons": 3},
        "osdmap": {
            "epoch": state["ceph"]["epoch"],
            "num_osds": len(osds),
            "num_up_osds": len(osds) - len(down),
            "osd_up_since": int(state["created"]),
            "num_in_osds": len(osds) - len(out_osds(state, now)),
            "osd_in_since": int(state["created"]),
            "num_remapped_pgs": 0,
        },
        "pgmap": {
            "pgs_by_state": pg_states(state, now),
            "num_pgs": state["ceph"]["pg_count"],
            "num_pools": 3,
            "num_objects": OBJECTS,
            "data_bytes": 41_943_040_000,
            "bytes_used": 125_829_120_000,
            "bytes_avail": 2_874_170_880_000,
            "bytes_total": 3_000_000_000_000,
        },
        "mgrmap": {"available": True, "num_standbys": 1},
    }


def tree(state: dict, now: float) -> dict:
    host_list = hosts(state)
    racks = sorted({h["rack"] for h in host_list if h.get("rack")})
    rack_ids = {rack: -100 - i for i, rack in enumerate(racks)}
    top = [rack_ids[r] for r in racks] + [-2 - i for i, h in enumerate(host_list) if not h.get("rack")]
    out = [{"id": -1, "name": "default", "type": "root", "type_id": 11, "children": top}]
    for rack in racks:
        out.append({"id": rack_ids[rack], "name": rack, "type": "rack", "type_id": 3, "pool_weights": {},
                    "children": [-2 - i for i, h in enumerate(host_list) if h.get("rack") == rack]})
    for index, host in enumerate(host_list):
        out.append(
            {
                "id": -2 - index,
                "name": crush_host(host),
                "type": "host",
                "type_id": 1,
                "pool_weights": {},
                "children": list(host["osds"]),
            }
        )
    for host in host_list:
        for osd in host["osds"]:
            out.append(
                {
                    "id": osd,
                    "device_class": "ssd",
                    "name": f"osd.{osd}",
                    "type": "osd",
                    "type_id": 0,
                    "crush_weight": 0.931,
                    "depth": 2,
                    "pool_weights": {},
                    "exists": 1,
                    "status": "up" if osd_up(state, host, osd, now) else "down",
                    "reweight": 1 if osd_in(state, host, osd, now) else 0,
                    "primary_affinity": 1,
                }
            )
    return {"nodes": out, "stray": []}


def dump(state: dict, now: float) -> dict:
    flags = [f for f in FLAG_BITS if f in state["ceph"]["flags"] or f in ALWAYS_SET]
    osds = []
    for host in hosts(state):
        for osd in host["osds"]:
            up = osd_up(state, host, osd, now)
            osds.append(
                {
                    "osd": osd,
                    "uuid": osd_lifecycle.uuid_of(state, osd),
                    "up": int(up),
                    "in": int(osd_in(state, host, osd, now)),
                    "weight": 1,
                    "primary_affinity": 1,
                    "state": ["exists", "up" if up else "down"],
                }
            )
    return {
        "epoch": state["ceph"]["epoch"],
        "fsid": state["ceph"]["fsid"],
        "flags": ",".join(flags),
        "flags_num": sum(FLAG_BITS[f] for f in flags),
        "flags_set": flags,
        "crush_version": 17,
        "full_ratio": 0.95,
        "backfillfull_ratio": 0.9,
        "nearfull_ratio": 0.85,
        "max_osd": len(osds),
        "require_osd_release": "squid",
        "pools": [
            {"pool": 1, "pool_name": ".mgr", "size": REPLICAS, "min_size": MIN_SIZE, "pg_num": 1},
            {"pool": 2, "pool_name": "ceph-blockpool", "size": REPLICAS, "min_size": MIN_SIZE, "pg_num": 128},
            {"pool": 3, "pool_name": "ceph-filesystem-metadata", "size": REPLICAS, "min_size": MIN_SIZE, "pg_num": 8},
        ],
        "osds": osds,
        "crush_node_flags": {h: list(f) for h, f in state["ceph"]["group_flags"].items() if f},
        "device_class_flags": {},
    }


def ok_to_stop(state: dict, osd_ids: list[int], now: float) -> tuple[dict, bool]:
    """Whether stopping these OSDs (with those already down) keeps every PG available."""
    stopping = set(osd_ids) | set(down_osds(state, now))
    touched = len(_hosts_touched(state, stopping))
    total = state["ceph"]["pg_count"]
    ok = min(REPLICAS, len(hosts(state))) - touched >= MIN_SIZE
    if ok:
        return {"ok_to_stop": True, "osds": sorted(osd_ids), "num_ok_pgs": total, "num_not_ok_pgs": 0}, True
    return {
        "ok_to_stop": False,
        "osds": sorted(osd_ids),
        "num_ok_pgs": 0,
        "num_not_ok_pgs": total,
        "bad_become_inactive": [f"2.{i:x}" for i in range(min(total, 8))],
        "ok_become_degraded": [],
    }, False


def run(state: dict, words: list[str], output_format: str | None, now: float) -> tuple[str, str]:
    """Run `ceph WORDS` against the state (changing it for set/unset); return (stdout, stderr).

    Raises CephError with Ceph's message and errno exit code.
    """
    command = " ".join(words[:2])
    if words[:1] in (["status"], ["-s"], ["s"]):
        return _out(status(state, now), output_format, _status_text), ""
    if words[:1] == ["health"]:
        report = health(state, now)
        return _out(report, output_format, lambda r: r["status"]), ""
    if command == "osd tree":
        return _out(tree(state, now), output_format, _tree_text), ""
    if command == "osd dump":
        return _out(dump(state, now), output_format, lambda d: f"epoch {d['epoch']}\nflags {d['flags']}"), ""
    if command == "osd ok-to-stop":
        return _ok_to_stop(state, words[2:], output_format, now)
    if command in ("osd set", "osd unset"):
        return _set_flag(state, words[1], words[2:])
    if command in ("osd set-group", "osd unset-group"):
        return _set_group(state, words[1], words[2:])
    if command in ("osd out", "osd in"):
        osd = _one_osd(state, words[2:])
        return "", osd_lifecycle.mark(state, osd, words[1] == "out", now) + "\n"
    if command == "osd safe-to-destroy":
        return _safe_to_destroy(state, words[2:], output_format, now)
    if command == "osd purge":
        osd = _one_osd(state, words[2:3], missing_ok=True)
        if "--yes-i-really-mean-it" not in words[3:] and "--force" not in words[3:]:
            raise CephError("Error EPERM: Are you SURE?  This will mean real, permanent data loss, as well as "
                            "cephx and lockbox keys.  Pass --yes-i-really-mean-it if you really do.", EPERM)
        if osd_lifecycle.host_of(state, osd) is None:
            return "", f"osd.{osd} does not exist\n"
        return "", osd_lifecycle.purge(state, osd, now) + "\n"
    if command == "osd metadata":
        osd = _one_osd(state, words[2:])
        return _out(osd_lifecycle.metadata(state, osd), output_format, lambda r: json.dumps(r, indent=4)), ""
    if words[:4] == ["osd", "pool", "ls", "detail"]:
        return _out(pool_details(), output_format, lambda r: "\n".join(
            f"pool {p['pool_id']} '{p['pool_name']}' replicated size {p['size']} min_size {p['min_size']} "
            f"crush_rule {p['crush_rule']}" for p in r)), ""
    if words[:4] == ["osd", "crush", "rule", "dump"]:
        return _out(crush_rules(), output_format, lambda r: json.dumps(r, indent=4)), ""
    raise CephError("no valid command found\nError EINVAL: invalid command", EINVAL)


def pool_details() -> list[dict]:
    """`ceph osd pool ls detail -f json` (the keys a runbook reads; Ceph prints many more)."""
    return [{"pool_id": pool, "pool_name": name, "type": 1, "size": REPLICAS, "min_size": MIN_SIZE,
             "crush_rule": index, "pg_num": pgs, "pgp_num": pgs} for index, (pool, name, pgs) in enumerate(POOLS)]


def crush_rules() -> list[dict]:
    """`ceph osd crush rule dump -f json`: take the default root, one leaf per host."""
    return [{"rule_id": index, "rule_name": "replicated_rule" if name == ".mgr" else name, "type": 1,
             "steps": [{"op": "take", "item": -1, "item_name": "default"},
                       {"op": "chooseleaf_firstn", "num": 0, "type": "host"}, {"op": "emit"}]}
            for index, (_, name, _) in enumerate(POOLS)]


def _one_osd(state: dict, ids: list[str], missing_ok: bool = False) -> int:
    if not ids:
        raise CephError("Invalid command: missing required parameter ids(<string>)\nError EINVAL: invalid command",
                        EINVAL)
    try:
        osd = int(ids[0].removeprefix("osd."))
    except ValueError:
        raise CephError(f"Error EINVAL: osd id {ids[0]} is not valid", EINVAL) from None
    if not missing_ok and osd_lifecycle.host_of(state, osd) is None:
        raise CephError(f"Error ENOENT: osd.{osd} does not exist", ENOENT)
    return osd


def _safe_to_destroy(state: dict, ids: list[str], output_format: str | None, now: float) -> tuple[str, str]:
    osd = _one_osd(state, ids, missing_ok=True)
    report = osd_lifecycle.safe_to_destroy(state, osd, now, pg_states(state, now))
    if output_format:
        return _out(report, output_format, lambda r: ""), ""  # with a format: always the JSON, exit 0
    if report["safe_to_destroy"]:
        return "", f"OSD(s) {osd} are safe to destroy without reducing data durability.\n"
    if report["active"]:
        count = state["ceph"]["pg_count"] // max(1, len([o for h in hosts(state) for o in h["osds"]])) * REPLICAS
        raise CephError(f"Error EBUSY: OSD(s) {osd} have {count} pgs currently mapped to them. ", EBUSY)
    if report["stored_pgs"]:
        raise CephError(f"Error EBUSY: OSD(s) {osd} last reported they still store some PG data, and not all PGs "
                        "are active+clean; we cannot be sure they aren't still needed.", EBUSY)
    raise CephError(f"Error EAGAIN: OSD(s) {osd} have no reported stats, and not all PGs are active+clean; we "
                    "cannot draw any conclusions. ", EAGAIN)


def _out(report: dict, output_format: str | None, as_text) -> str:
    if output_format == "json":
        return json.dumps(report, separators=(",", ":")) + "\n"
    if output_format == "json-pretty":
        return json.dumps(report, indent=4) + "\n"
    return as_text(report) + "\n"


def _ok_to_stop(state: dict, ids: list[str], output_format: str | None, now: float) -> tuple[str, str]:
    known = {osd for h in hosts(state) for osd in h["osds"]}
    try:
        wanted = [int(i.removeprefix("osd.")) for i in ids]
    except ValueError:
        raise CephError(f"Error EINVAL: osd id(s) {' '.join(ids)} are not valid", EINVAL) from None
    if not wanted:
        raise CephError(
            "Invalid command: missing required parameter ids(<string>)\nError EINVAL: invalid command", EINVAL
        )
    missing = [str(i) for i in wanted if i not in known]
    if missing:
        raise CephError(f"Error ENOENT: osd(s) {','.join(missing)} do not exist", ENOENT)
    report, ok = ok_to_stop(state, wanted, now)
    if not ok:
        # A refusal is an errno and a message; ceph prints no JSON then, whatever -f says.
        raise CephError(
            f"Error EBUSY: unsafe to stop osd(s) at this time "
            f"({report['num_not_ok_pgs']} PGs are or would become offline)",
            EBUSY,
        )
    stdout = _out(report, output_format, lambda r: "") if output_format else ""
    ids_text = ",".join(str(i) for i in wanted)
    return stdout, (
        f"OSD(s) {ids_text} are ok to stop without reducing availability or risking data, provided there are no "
        f"other concurrent failures or interventions.\n{report['num_ok_pgs']} PGs are likely to be degraded "
        "(but remain available) as a result.\n"
    )


def _set_flag(state: dict, verb: str, args: list[str]) -> tuple[str, str]:
    if len(args) != 1 or args[0] not in SETTABLE:
        choices = "|".join(SETTABLE)
        given = args[0] if args else ""
        raise CephError(
            f"Invalid command: {given} not in {choices}\n"
            f"osd {verb} {choices} :  {verb} <key>\nError EINVAL: invalid command",
            EINVAL,
        )
    names = ["pauserd", "pausewr"] if args[0] == "pause" else [args[0]]
    flags = state["ceph"]["flags"]
    for name in names:
        if verb == "set" and name not in flags:
            flags.append(name)
        if verb == "unset" and name in flags:
            flags.remove(name)
    state["ceph"]["epoch"] += 1
    # The ceph CLI prints the monitor's status line on stderr, not stdout.
    return "", f"{','.join(names)} is {verb}\n"


def _set_group(state: dict, verb: str, args: list[str]) -> tuple[str, str]:
    if len(args) < 2:
        raise CephError(
            f"Invalid command: missing required parameter who(<string>)\nosd {verb} <flags> <who>... :  "
            f"{verb.replace('-group', '')} <flags> for batch osds or crush nodes, <flags> must be a comma-separated "
            "subset of {noup,nodown,noin,noout}\nError EINVAL: invalid command",
            EINVAL,
        )
    wanted = args[0].split(",")
    for flag in wanted:
        if flag not in GROUP_FLAGS:
            raise CephError(f"Error EINVAL: unknown flag '{flag}'", EINVAL)
    host_names = [crush_host(h) for h in hosts(state)] + [h["rack"] for h in hosts(state) if h.get("rack")]
    for who in args[1:]:
        if who not in host_names:
            raise CephError(f"Error EINVAL: unable to parse osd id or crush node or device class: '{who}'", EINVAL)
    groups = state["ceph"]["group_flags"]
    for who in args[1:]:
        current = groups.setdefault(who, [])
        for flag in wanted:
            if verb == "set-group" and flag not in current:
                current.append(flag)
            if verb == "unset-group" and flag in current:
                current.remove(flag)
        if not current:
            del groups[who]
    state["ceph"]["epoch"] += 1
    return "", ""


def _status_text(report: dict) -> str:
    osdmap, pgmap = report["osdmap"], report["pgmap"]
    lines = [
        "  cluster:",
        f"    id:     {report['fsid']}",
        f"    health: {report['health']['status']}",
    ]
    lines += [f"            {c['summary']['message']}" for c in report["health"]["checks"].values()]
    lines += [
        "",
        "  services:",
        f"    mon: 3 daemons, quorum {','.join(report['quorum_names'])}",
        "    mgr: a(active), standbys: b",
        f"    osd: {osdmap['num_osds']} osds: {osdmap['num_up_osds']} up, {osdmap['num_in_osds']} in",
        "",
        "  data:",
        f"    pools:   {pgmap['num_pools']} pools, {pgmap['num_pgs']} pgs",
        f"    objects: {pgmap['num_objects']} objects",
    ]
    lines += [f"    pgs:     {s['count']} {s['state_name']}" for s in pgmap["pgs_by_state"]]
    return "\n".join(lines)


def _tree_text(report: dict) -> str:
    lines = ["ID  CLASS  WEIGHT   TYPE NAME         STATUS  REWEIGHT  PRI-AFF"]
    for item in report["nodes"]:
        if item["type"] == "osd":
            lines.append(
                f"{item['id']:>2}    ssd  0.93100          {item['name']:<12} {item['status']:>6}   1.00000  1.00000"
            )
        else:
            lines.append(f"{item['id']:>2}         -         {item['type']} {item['name']}")
    return "\n".join(lines)
