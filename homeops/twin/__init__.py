"""The cluster's digital twin: fake `kubectl`, `talosctl` and `flux` over a shared state directory.

Make one with `homeops twin create DIR [--scenario FILE]` (or `homeops.twin.create(DIR, cluster,
scenario)`), then put `DIR/bin` first on the PATH (`export PATH=DIR/bin:$PATH`, or
`homeops run NAME --twin DIR`). The three executables accept the command lines the runbooks use
(ARCHITECTURE.md, "Tool command lines") and print the shapes and errors of the real tools
(`../shared/reference/cluster-tools.md`), exit codes included.

How it works
------------
- State: `DIR/state.json`, read under a shared and changed under an exclusive `fcntl.flock` on
  `DIR/state.lock`, replaced atomically. Concurrent tool calls never lose an update.
- Time: an upgrade stores wall-clock deadlines (drain given up, reboot, boot, Ready); every call
  works out where each node is from the clock, so no daemon runs. `reboot_seconds` (scenario,
  default 1.0) is how long a node is NotReady.
- Scaled waits: a wait that in a real cluster only ends by timing out (a drain blocked by a PDB,
  a node that never comes back, `health` of a broken cluster) lasts at most
  `max(4 * reboot_seconds, 1)` seconds of real time; the error still names the real timeout.
  Talos's own five-minute drain rule is scaled to `reboot_seconds`; Ceph recovers in
  `reboot_seconds / 2` after a host is back.
- Speed: each call is a new process started with `python -S`; the fake tools import only
  `homeops.twin.*` modules and the standard library (never pydantic or PyYAML), and keep those
  modules compiled in the user's cache directory (`$XDG_CACHE_HOME/homeops/twin-bytecode`), so
  no call compiles them again, even where PYTHONDONTWRITEBYTECODE is set. A tool that follows
  the cluster (`talosctl upgrade`, `talosctl health`) looks at the state every 10 ms.

Behaviour
---------
- Nodes from cluster.yaml (roles, addresses, kubelet and Talos versions, boot IDs, Ready).
- `talosctl upgrade -i IMAGE`: the image must be `<installer>/<schematic_id>:vX.Y.Z` of cluster.yaml;
  Talos refuses a control-plane node of a 2-member or unhealthy etcd without `--force`; it cordons
  (annotation `talos.dev/cordoned`), drains, reboots (new bootID, new osImage) and uncordons only
  what it cordoned. The same version again reinstalls and reboots, like the real one.
- `talosctl upgrade-k8s --to X [--dry-run]`: at most one minor up, within the running Talos's range.
- Ceph follows the nodes (OSDs down and PGs degraded while a host is down; recovering, then clean);
  flags with `osd set/unset` and `osd set-group/unset-group`; `osd ok-to-stop`.
- Leases in kube-system: create/replace (resourceVersion conflicts)/get/delete.
- `kubectl delete` of anything but a Lease is refused as by RBAC (Forbidden).

- Maintenance mode (scenario `maintenance`): those nodes answer only `--insecure` talosctl calls
  (`version`, `get machinestatus|disks|links`, `apply-config`), are not in Kubernetes and not in
  etcd. `apply-config --insecure` installs versions.talos and reboots; the node then registers
  once an API server answers (Ready once the state has a CNI, `cni`), and a control plane's etcd
  joins a running etcd as a learner, promoted `promote_seconds` later, or waits for `bootstrap`.
- etcd: `bootstrap` once (then "etcd data directory is not empty"), `--recover-from` a snapshot
  (its revision comes back), `etcd leave`/`remove-member` (need quorum), `reset` with its wipe
  labels (EPHEMERAL: etcd's data; STATE: back to maintenance mode; without --graceful a control
  plane's member stays in the list), `service etcd` (Preparing/Running/Failed/Finished), `etcd alarm list`,
  `cp /var/lib/etcd/member/snap/db DIR` (a database without integrity hash: --recover-skip-hash-check).
- `talosctl health` runs Talos's checks in order, including "all k8s nodes to report
  schedulable": a node left cordoned fails it, as on a real cluster.
- The `ceph` CLI prints its status lines (`noout is set`) on stderr, as the real one does.

Modules: one room per tool, `talos/` (`talosctl` and the Talos API), `kube/` (`kubectl`, the
API objects and Leases), `ceph/` (the toolbox's `ceph` and Rook's controller) and `flux/`
(`flux` and its objects), over a shared core at the top: `state` (the JSON file and its lock),
`clock` (deadlines, durations, scaled waits), `cluster` (the state as of now), `nodes` and `etcd`
(the simulation), `args` (pflag-style command lines), `scenario` and `directory` (making a twin).

Scenario file (all keys optional)::

    talos_version: v1.11.0       # what every node runs at the start (default: cluster.yaml)
    kubernetes_version: v1.34.0  # likewise
    reboot_seconds: 1.0
    maintenance: [worker-3]      # or `all`: booted from the install image, unconfigured
    faults:
      - {fault: never-ready, node: worker-2}

Faults: never-ready (node), drain-blocked (node), upgrade-error (node), ceph-degraded (optional
node with OSDs; default the first OSD host), pgs-stuck, api-unreachable, flux-not-ready,
etcd-unhealthy (optional control-plane node; default the last), leak-secret (optional node for the
bearer-token annotation; an age key goes in the flux-system Kustomization's Ready message),
upgrade-without-reboot (node: reports the new Talos version at once, Ready on its old boot ID),
mon-down (Ceph MON_DOWN, mon c out of quorum), osd-nearfull (Ceph OSD_NEARFULL): both leave PGs clean;
on a control-plane node: etcd-member-lost (the node answers, its etcd data is gone: a 2-member etcd
has lost quorum), control-plane-lost (the node never answers again), etcd-nospace (NOSPACE alarm).

`create` into a directory: a missing or empty one is filled; one that already holds a twin is
reset (state and bin/ rewritten, other files kept); any other non-empty directory is refused.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "create": "homeops.twin.directory",
    "TwinDirRefused": "homeops.twin.directory",
    "load_scenario": "homeops.twin.scenario",
    "Scenario": "homeops.twin.scenario",
    "ScenarioInvalid": "homeops.twin.scenario",
    "Fault": "homeops.twin.scenario",
    "FAULTS": "homeops.twin.scenario",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    # Lazy, so that the fake tools (which import homeops.twin.kubectl and friends) never load
    # PyYAML or pydantic through this package.
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'homeops.twin' has no attribute {name!r}")
