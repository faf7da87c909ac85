"""Typed records of what the cluster tools report, as the runbooks use them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Flags Ceph sets by itself on every modern cluster; only the others mean "someone is doing maintenance".
CEPH_DEFAULT_FLAGS = frozenset({"sortbitwise", "recovery_deletes", "purged_snapdirs", "pglog_hardlimit"})


@dataclass(frozen=True)
class NodeStatus:
    name: str
    role: str  # "control-plane" or "worker", from the node-role label
    ready: str  # the Ready condition's status: "True", "False" or "Unknown"
    unschedulable: bool
    internal_ip: str | None
    kubelet_version: str
    os_image: str
    talos_version: str | None  # from osImage "Talos (v1.11.1)"; None when it is not a Talos image
    boot_id: str

    @property
    def is_ready(self) -> bool:
        return self.ready == "True"


@dataclass(frozen=True)
class HealthCheck:
    name: str  # e.g. OSD_DOWN
    severity: str
    message: str


@dataclass(frozen=True)
class CephStatus:
    health: str  # HEALTH_OK, HEALTH_WARN, HEALTH_ERR
    checks: tuple[HealthCheck, ...]
    num_osds: int
    num_up_osds: int
    num_in_osds: int
    pgs_by_state: tuple[tuple[str, int], ...]
    num_pgs: int

    @property
    def pgs_clean(self) -> bool:
        # An empty or partial PG map (a manager failing over reports none) proves nothing: clean
        # means every one of num_pgs is counted, and counted clean.
        counted = sum(count for _, count in self.pgs_by_state)
        return (
            self.num_pgs > 0
            and counted == self.num_pgs
            and all(pg_state_is_clean(state) for state, count in self.pgs_by_state if count)
        )

    @property
    def unclean_pgs(self) -> str:
        """The PG states that are not clean, as `12 active+undersized+degraded`, for messages."""
        return ", ".join(
            f"{count} {state}" for state, count in self.pgs_by_state if count and not pg_state_is_clean(state)
        )


# The one rule of PG health, Rook's own (`defaultPgHealthyRegex`, pkg/operator/ceph/cluster/osd):
# scrubbing and snapshot trimming are normal work of a healthy PG, so a cluster with snapshots
# is clean while it trims them. Every check, gate and wait reads PG health through this.
PG_HEALTHY = re.compile(r"^active(\+(clean|deep|scrubbing|snaptrim|snaptrim_wait))+$")


def pg_state_is_clean(state: str) -> bool:
    """`active+clean` and what Rook counts as healthy with it (`+scrubbing+deep`, `+snaptrim`, `+snaptrim_wait`)."""
    return PG_HEALTHY.match(state) is not None


@dataclass(frozen=True)
class OsdTree:
    osds_by_host: dict[str, tuple[int, ...]]
    down_osds: tuple[int, ...]

    def osds_of(self, host: str) -> tuple[int, ...]:
        return self.osds_by_host.get(host, ())


@dataclass(frozen=True)
class OsdPod:
    """A `rook-ceph-osd` pod: which OSD (label `ceph-osd-id`) runs on which node."""

    osd: int
    node: str  # spec.nodeName, or the node its nodeSelector pins it to while it is Pending
    crush_host: str  # label topology-location-host: the CRUSH host bucket Rook put it under


@dataclass(frozen=True)
class OsdDump:
    flags: frozenset[str]
    host_flags: dict[str, frozenset[str]]  # crush_node_flags: per-host flags such as noout

    @property
    def maintenance_flags(self) -> frozenset[str]:
        return self.flags - CEPH_DEFAULT_FLAGS


@dataclass(frozen=True)
class OkToStop:
    ok: bool
    osds: tuple[int, ...]
    reason: str  # why not, in Ceph's words, when not ok


@dataclass(frozen=True)
class TalosVersion:
    node: str
    tag: str


@dataclass(frozen=True)
class MachineStatus:
    node: str
    stage: str
    ready: bool
    unmet_conditions: tuple[str, ...] = ()


@dataclass(frozen=True)
class EtcdMember:
    node: str
    id: str
    hostname: str
    learner: bool


@dataclass(frozen=True)
class EtcdAlarm:
    node: str
    member: str
    alarm: str  # NOSPACE or CORRUPT (etcd's AlarmType)


@dataclass(frozen=True)
class EtcdSnapshot:
    """What `talosctl etcd snapshot` printed: the file and etcd's own account of it."""

    path: str
    saved_bytes: int
    hash: str  # etcd's hash of the database, 8 hex digits as talosctl prints it
    revision: int
    total_keys: int
    total_size: int


@dataclass(frozen=True)
class EtcdStatus:
    node: str
    member: str
    leader: str
    learner: bool
    errors: str


@dataclass(frozen=True)
class FluxObject:
    kind: str
    namespace: str
    name: str
    ready: str  # "True", "False", "Unknown"
    reason: str
    message: str
    suspended: bool
    generation: int | None = None  # metadata.generation
    observed_generation: int | None = None  # status.observedGeneration
    reconciling: str | None = None  # the Reconciling condition's message when it is True
    stalled: str | None = None  # the Stalled condition's message when it is True

    @property
    def is_ready(self) -> bool:
        """Current in kstatus's sense: Ready=True for the latest generation, neither reconciling nor stalled.

        Ready=True alone may be the verdict on an older spec (kubernetes-sigs/cli-utils, kstatus).
        """
        return self.problem is None

    @property
    def problem(self) -> str | None:
        """Why the object is not current, in words for a check or a stop; None when it is.

        The one place Flux readiness is decided: cluster-health, the gates and the waits all ask it.
        """
        if self.stalled is not None:
            return f"{self} is stalled: {self.stalled}".rstrip(": ")
        if (self.generation is not None and self.observed_generation is not None
                and self.observed_generation < self.generation):
            return (f"{self} is in progress: generation {self.generation} not yet observed "
                    f"(observedGeneration {self.observed_generation})")
        if self.reconciling is not None:
            return f"{self} is in progress: Reconciling: {self.reconciling}".rstrip(": ")
        if self.ready != "True":
            return f"{self} Ready={self.ready} {self.reason}: {self.message}".rstrip(": ")
        return None

    @property
    def failed(self) -> bool:
        """Not current and nothing in progress: Stalled (kstatus Failed), or Ready=False for the latest
        generation with no Reconciling. What a remediation acts on; an object in progress is left to finish."""
        if self.stalled is not None:
            return True
        in_progress = self.reconciling is not None or (
            self.generation is not None and self.observed_generation is not None
            and self.observed_generation < self.generation)
        return self.ready == "False" and not in_progress

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


@dataclass(frozen=True)
class DaemonSetStatus:
    namespace: str
    name: str
    desired: int  # status.desiredNumberScheduled
    ready: int  # status.numberReady
    updated: int  # status.updatedNumberScheduled
    available: int  # status.numberAvailable
    generation: int | None = None
    observed_generation: int | None = None

    @property
    def problem(self) -> str | None:
        """Why the DaemonSet is not rolled out and ready on every node it should run on; None when it is.

        kubectl rollout status's rule for a DaemonSet: the latest generation observed, every desired
        pod updated and available (kubectl/pkg/polymorphichelpers/rollout_status.go), and ready.
        """
        if self.generation is not None and self.observed_generation is not None \
                and self.observed_generation < self.generation:
            return f"DaemonSet {self.namespace}/{self.name}: generation {self.generation} not yet observed"
        if self.desired == 0:
            return f"DaemonSet {self.namespace}/{self.name} runs no pod (0 desired)"
        if min(self.ready, self.updated, self.available) < self.desired:
            return (f"DaemonSet {self.namespace}/{self.name}: {self.ready}/{self.desired} ready, "
                    f"{self.updated} updated, {self.available} available")
        return None


@dataclass(frozen=True)
class LoadBalancerService:
    namespace: str
    name: str
    addresses: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Disk:
    """A block device a Talos node sees (`talosctl get disks`, resource Disks.block.talos.dev)."""

    node: str
    id: str  # the kernel's name: sda, nvme0n1
    dev_path: str  # /dev/sda
    size: int  # bytes
    readonly: bool
    cdrom: bool
    model: str
    serial: str
    symlinks: tuple[str, ...]  # /dev/disk/by-id/..., /dev/disk/by-path/...

    @property
    def names(self) -> frozenset[str]:
        """Every path cluster.yaml may name this disk by."""
        return frozenset({self.dev_path, *self.symlinks})


@dataclass(frozen=True)
class Link:
    """A network link a Talos node sees (`talosctl get links`, resource LinkStatuses.net.talos.dev)."""

    node: str
    id: str  # eth0, enp1s0
    type: str  # ether, loopback, ...
    kind: str  # "" for a physical NIC; bond, vlan, dummy... for a logical one
    hardware_addr: str  # lower case, colon-separated
    permanent_addr: str  # the NIC's own MAC when a bond rewrote hardwareAddr; "" when not reported
