"""The twin's state read straight from its directory, for drills to check what a runbook left behind.

Not through the fake tools and not through homeops' parsers (`homeops.tools`), which the runbooks
themselves use: a parser bug must not blind a runbook and its drill together. This reads the JSON
the twin keeps (`state.json`) with the few rules of its format spelt out here:

- A reboot is stored as the moments it passes through (`reboot`: `down_at`, `up_at`, ...) and is
  saved as finished only by the twin's next change. So a reboot whose `up_at` has passed is over:
  the node runs `target_version` on `next_boot_id`, Talos's own cordon is lifted, its PGs recover
  for `timing.recovery_seconds`, and with the `pgs-stuck` fault they stay unclean.
- A node is Ready unless a reboot has taken it down (from `down_at` until `up_at`; never back when
  `up_at` is null) or it is `off` (shut down, until powered on).
- Ceph's flags: `ceph.flags` cluster-wide, `ceph.group_flags` per host; its PGs are clean unless a
  host with OSDs is down, `recovered_at` lies ahead, an OSD is forced down, or `ceph.stuck` is set;
  a host exists once registered (a node joining from maintenance mode), and its OSDs' PGs backfill
  until its `backfill_until`;
  it is HEALTH_OK when they are clean, no host is down, no flag is set and neither the `mon-down`
  nor the `osd-nearfull` fault is on.
- A HelmRelease is what `flux.releases["NAMESPACE/NAME"]` says was done to it (absent: untouched,
  not suspended, no request annotation). It is Ready unless the `helmrelease-failing` fault names it,
  or `helmrelease-stuck` names it and no new attempt `recovered` it, or it is rook-ceph-cluster under
  `flux-not-ready`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

# Flags Ceph keeps set on every cluster; a drill cares about the ones an operator sets.
ALWAYS_SET = {"sortbitwise", "recovery_deletes", "purged_snapdirs", "pglog_hardlimit"}


@dataclass(frozen=True)
class NodeState:
    name: str
    talos_version: str
    kubelet_version: str
    boot_id: str
    unschedulable: bool
    is_ready: bool
    rebooting: bool  # a reboot is under way (or never ends)
    annotations: dict


@dataclass(frozen=True)
class CephFlags:
    maintenance_flags: frozenset[str]
    host_flags: dict[str, frozenset[str]]


@dataclass(frozen=True)
class CephState:
    pgs_clean: bool
    down_hosts: tuple[str, ...]
    warnings: tuple[str, ...]  # what else makes Ceph HEALTH_WARN: flags set, a monitor down, a full OSD

    @property
    def health(self) -> str:
        return "HEALTH_OK" if self.pgs_clean and not self.down_hosts and not self.warnings else "HEALTH_WARN"


@dataclass(frozen=True)
class ReleaseState:
    suspended: bool
    ready: bool
    generation: int
    annotations: dict  # the reconcile.fluxcd.io/* requests a flux command left on it


@dataclass(frozen=True)
class TwinState:
    nodes: dict[str, NodeState]
    ceph_flags: CephFlags
    ceph: CephState
    flux_requests: dict[str, str]  # "Kustomization/NAME" -> the time its reconcile was requested
    leases: dict
    releases: dict[str, ReleaseState]  # "NAMESPACE/NAME" -> what a runbook did to the HelmRelease

    def touched_releases(self) -> set[str]:
        """The HelmReleases a flux command annotated, suspended or resumed."""
        return {key for key, r in self.releases.items() if r.annotations or r.generation != 1 or r.suspended}


def _node(raw: dict, now: float) -> NodeState:
    if raw.get("off"):  # shut down (or lost): not Ready until powered on, whatever a reboot said
        return NodeState(raw["name"], raw["talos_version"], raw["kubelet_version"], raw["boot_id"],
                         raw["unschedulable"], False, False, raw["annotations"])
    reboot = raw["reboot"]
    over = reboot is not None and reboot["up_at"] is not None and now >= reboot["up_at"]
    if over:
        cordoned = False if reboot["talos_cordoned"] else raw["unschedulable"]
        return NodeState(raw["name"], reboot["target_version"], raw["kubelet_version"], reboot["next_boot_id"],
                         cordoned, True, False, raw["annotations"])
    down = reboot is not None and now >= reboot["down_at"]
    return NodeState(raw["name"], raw["talos_version"], raw["kubelet_version"], raw["boot_id"], raw["unschedulable"],
                     not down, reboot is not None, raw["annotations"])


def read_twin_state(twin_dir: Path) -> TwinState:
    raw = json.loads((Path(twin_dir) / "state.json").read_text())
    assert raw["kind"] == "homeops-twin", f"{twin_dir} holds no twin state"
    # The twin keeps wall-clock moments, on its own clock: the wall clock plus what tests moved it forward.
    now = time.time() + float(raw.get("clock_offset", 0.0))
    nodes = {n["name"]: _node(n, now) for n in raw["nodes"]}
    ceph = raw["ceph"]
    hosts = [n for n in raw["nodes"] if n["osds"] and n.get("registered", True)]  # OSDs only once in Kubernetes
    down_hosts = tuple(h["name"] for h in hosts if not nodes[h["name"]].is_ready)
    finished = [n for n in raw["nodes"] if n["reboot"] and n["reboot"]["up_at"] is not None
                and now >= n["reboot"]["up_at"]]
    recovered_at = {h["name"]: h["recovered_at"] for h in hosts}
    recovered_at.update({n["name"]: n["reboot"]["up_at"] + raw["timing"]["recovery_seconds"]
                         for n in finished if n["osds"] and not n["reboot"].get("from_maintenance")})
    backfilling = any(h.get("backfill_until", 0.0) > now for h in hosts)
    recovering = any(moment > now for moment in recovered_at.values()) or backfilling
    stuck = ceph["stuck"] or (bool(finished) and "pgs-stuck" in raw["faults"])
    clean = not down_hosts and not recovering and not ceph["forced_down"] and not stuck
    flags = CephFlags(frozenset(ceph["flags"]) - ALWAYS_SET,
                      {host: frozenset(f) for host, f in ceph["group_flags"].items() if f})
    warnings = tuple(sorted(flags.maintenance_flags)) + tuple(f"{flag} on {host}" for host, host_flags in
                                                           sorted(flags.host_flags.items()) for flag in host_flags)
    warnings += tuple(fault for fault in ("mon-down", "osd-nearfull") if fault in raw["faults"])
    ceph_state = CephState(clean, down_hosts, warnings)
    return TwinState(nodes, flags, ceph_state, dict(raw["flux"]["reconciled"]), raw["leases"], _releases(raw))


def _releases(raw: dict) -> dict[str, ReleaseState]:
    done = raw["flux"].get("releases", {})
    failing = set(raw["faults"].get("helmrelease-failing", []))
    stuck = set(raw["faults"].get("helmrelease-stuck", []))
    found = {}
    for entry in raw["rendered"]["helmreleases"]:
        key = f"{entry['namespace']}/{entry['name']}"
        record = done.get(key, {})
        ready = key not in failing and not (key in stuck and not record.get("recovered", False))
        if key == "rook-ceph/rook-ceph-cluster" and "flux-not-ready" in raw["faults"]:
            ready = False
        found[key] = ReleaseState(record.get("suspend", False), ready, record.get("generation", 1),
                                  dict(record.get("annotations", {})))
    return found



# --- the bootstrap ------------------------------------------------------------------------------
# A node booted in maintenance mode carries `maintenance: true` until its configuration is applied,
# `registered: false` until its kubelet registered, `etcd_member`/`etcd_data` false until it joined
# etcd and `etcd_learner_until` while a learner; missing keys mean a node of a built cluster. A
# twin made in maintenance mode has `cni: false` until Cilium is installed. What the bootstrap did
# besides (homeops.twin.setup) is `setup`; a twin without it was made bootstrapped, unless `cni` is
# false.


@dataclass(frozen=True)
class BootstrapState:
    in_maintenance: tuple[str, ...]
    registered: tuple[str, ...]
    etcd_voters: tuple[str, ...]
    etcd_learners: tuple[str, ...]
    cni: bool
    namespaces: frozenset[str]
    secrets: frozenset[str]
    helm: dict[str, str]
    flux_bootstrapped: bool


def read_bootstrap_state(twin_dir: Path) -> BootstrapState:
    raw = json.loads((Path(twin_dir) / "state.json").read_text())
    now = time.time()
    nodes = raw["nodes"]
    members = [n for n in nodes if n["role"] == "control-plane" and n.get("etcd_member", True)]
    learners = tuple(n["name"] for n in members if now < n.get("etcd_learner_until", 0.0))
    setup = raw.get("setup")
    if setup is None:
        built = raw.get("cni", True)
        setup = {"namespaces": ["flux-system"] if built else [], "secrets": ["flux-system/sops-age"] if built else [],
                 "helm": {}, "flux": built}
    return BootstrapState(
        in_maintenance=tuple(n["name"] for n in nodes if n.get("maintenance")),
        registered=tuple(n["name"] for n in nodes if n.get("registered", True)),
        etcd_voters=tuple(n["name"] for n in members if n["name"] not in learners),
        etcd_learners=learners,
        cni=bool(raw.get("cni", True)),
        namespaces=frozenset(setup["namespaces"]),
        secrets=frozenset(setup["secrets"]),
        helm=dict(setup["helm"]),
        flux_bootstrapped=bool(setup["flux"]),
    )
