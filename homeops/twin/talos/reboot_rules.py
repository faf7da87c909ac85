"""Which changes of a machine configuration Talos applies without a reboot, and which need one.

Talos v1.11's own rule, `Runtime.CanApplyImmediate` (siderolabs/talos v1.11.1,
commit 8e85c83625502e08c058b865c123b0828a90fed6,
`internal/app/machined/pkg/runtime/v1alpha1/v1alpha1_runtime.go`): the new v1alpha1 document is
copied, the sections below are overwritten with the running ones, and if what is left differs
the change "can't be applied in immediate mode". Everything else in `machine` (type, token, env,
files, udev, disks, systemDiskEncryption, the other features) and the top-level fields need a
reboot. `machine.install` (disk, image, extraKernelArgs, extensions) applies at once because it
only matters at the next install or upgrade.
"""

from __future__ import annotations

SOURCE = ("siderolabs/talos", "internal/app/machined/pkg/runtime/v1alpha1/v1alpha1_runtime.go",
          "8e85c83625502e08c058b865c123b0828a90fed6")

# The sections CanApplyImmediate copies from the running configuration, in its comment's order.
IMMEDIATE = (
    "debug",
    "cluster",
    "machine.ca",
    "machine.acceptedCAs",
    "machine.time",
    "machine.certSANs",
    "machine.install",
    "machine.network",
    "machine.sysfs",
    "machine.sysctls",
    "machine.logging",
    "machine.controlplane",
    "machine.kubelet",
    "machine.kernel",
    "machine.registries",
    "machine.pods",
    "machine.seccompProfiles",
    "machine.nodeAnnotations",
    "machine.nodeLabels",
    "machine.nodeTaints",
    "machine.features.kubernetesTalosAPIAccess",
    "machine.features.kubePrism",
    "machine.features.hostDNS",
    "machine.features.imageCache",
    "machine.features.nodeAddressSortAlgorithm",
)


def _leaves(value, prefix: str, into: dict) -> dict:
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            _leaves(inner, f"{prefix}.{key}" if prefix else key, into)
    else:
        into[prefix] = value  # a sequence is one value: Talos compares it whole too
    return into


def changed_paths(old: dict, new: dict) -> list[str]:
    """The dotted paths whose value differs between the two configurations, sorted."""
    before, after = _leaves(old, "", {}), _leaves(new, "", {})
    return sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))


def immediate(path: str) -> bool:
    return any(path == section or path.startswith(section + ".") for section in IMMEDIATE)


def reboot_paths(old: dict, new: dict) -> list[str]:
    """The changed paths that Talos applies only with a reboot (none: the change applies at once)."""
    return [path for path in changed_paths(old, new) if not immediate(path)]
