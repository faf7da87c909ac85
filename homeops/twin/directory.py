"""The twin directory: the initial state from cluster.yaml and a scenario, and the three fake tools."""

from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path

import homeops
from homeops.twin import clock, ids, state
from homeops.twin.ceph import rook
from homeops.twin.scenario import Scenario, load_scenario
from homeops.twin.setup import built_cluster

# Each fake tool and the module whose main() it runs.
TOOLS = {"kubectl": "kube.kubectl", "talosctl": "talos.talosctl", "flux": "flux.flux",
         # what the bootstrap runs besides them (homeops.twin.setup)
         "helm": "setup.helm", "sops": "setup.sops", "dig": "setup.dig"}
PG_COUNT = 137  # placement groups of the simulated Ceph pools (the reference's example)

# Where the fake tools keep homeops's compiled modules, under the user's cache directory
# ($XDG_CACHE_HOME, else ~/.cache): shared by every twin, so a fresh twin (each rehearsal makes
# one) starts warm.
BYTECODE_CACHE = ("homeops", "twin-bytecode")

_LAUNCHER = """#!{python} -S
# The {tool} of a homeops twin: reads and changes the state in the directory above bin/.
# -S skips site-packages: the fake tools need only homeops.twin and the standard library.
import os, sys
# Loaded first, from the standard library's own compiled files (the cache below would hold its
# own copies of them).
import __future__, collections.abc, contextlib, importlib, json
# Every call is a new process: homeops's modules are compiled once, into a cache, rather than on
# every call (PYTHONDONTWRITEBYTECODE may forbid writing them beside the sources). A cache that
# cannot be written is skipped by Python itself.
cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
sys.pycache_prefix = os.path.join(cache, *{cache_path!r})
sys.dont_write_bytecode = False
sys.path.insert(0, {package_root!r})
from homeops.twin.{module} import main
sys.exit(main(sys.argv[1:], os.path.dirname(os.path.dirname(os.path.realpath(__file__)))))
"""


class TwinDirRefused(Exception):
    """The directory holds something that is not a twin: creating there would destroy it."""


def create(directory: str | Path, cluster, scenario: Scenario | str | Path | None = None,
           repository: Path | None = None) -> Path:
    """Make (or reset) a twin of `cluster` in `directory` and return the directory.

    An empty or missing directory is filled; a directory that already holds a twin is reset to
    the new initial state (its state and bin/ are rewritten, other files are left alone); any
    other non-empty directory is refused with TwinDirRefused, and nothing in it is touched.
    `repository` is the project whose committed files the twin's Flux reads (user-written SOPS files).
    """
    if scenario is None:
        scenario = Scenario()
    elif not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    scenario.check_against(cluster)
    directory = Path(directory).absolute()
    _check_target(directory)
    bin_dir = directory / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    initial = initial_state(cluster, scenario)
    if repository is not None:
        initial["repository"] = str(Path(repository).absolute())
    state.write_new(directory, initial)
    built_cluster.seed(directory, initial["nodes"], cluster.secrets.age_public_key, cluster.cluster.name)
    package_root = str(Path(homeops.__file__).resolve().parent.parent)
    for tool, module in TOOLS.items():
        launcher = bin_dir / tool
        launcher.write_text(_LAUNCHER.format(python=sys.executable, tool=tool, module=module,
                                             package_root=package_root, cache_path=BYTECODE_CACHE))
        launcher.chmod(0o755)
    return directory


def _check_target(directory: Path) -> None:
    if directory.exists() and not directory.is_dir():
        raise TwinDirRefused(f"{directory} exists and is not a directory")
    if not directory.exists() or not any(directory.iterdir()):
        return
    not_a_twin = TwinDirRefused(
        f"{directory} is not empty and holds no twin; refusing to create a twin there "
        "(choose an empty or new directory)"
    )
    # Look before locking: taking the lock creates its file, and a refused directory must stay untouched.
    if not (directory / state.STATE_FILE).is_file():
        raise not_a_twin
    try:
        state.read(directory)
    except state.NotATwin:
        raise not_a_twin from None


def initial_state(cluster, scenario: Scenario) -> dict:
    from homeops.rendering.inventory import rendered_twin_view

    talos_version = scenario.talos_version or cluster.versions.talos
    kubernetes_version = scenario.kubernetes_version or cluster.versions.kubernetes
    reboot = scenario.reboot_seconds
    faults: dict[str, list[str]] = {}
    for fault in scenario.faults:
        faults.setdefault(fault.fault, [])
        if fault.node or fault.release:
            faults[fault.fault].append(fault.node or fault.release)
    started = clock.now()
    in_maintenance = set(scenario.maintenance_nodes(cluster))
    pod_networks = ipaddress.ip_network(str(cluster.network.pod_cidr)).subnets(new_prefix=24)
    nodes, next_osd = [], 0
    for node in cluster.nodes:
        osds = list(range(next_osd, next_osd + node.osd_count))
        next_osd += node.osd_count
        nodes.append(
            {
                "name": node.name,
                "role": node.role,
                "address": str(node.address),
                "talos_version": talos_version,
                "kubelet_version": kubernetes_version,
                "boot_id": ids.uuid4(),
                "machine_id": ids.hex_id(32),
                "uid": ids.uuid4(),
                "member_id": ids.hex_id(16),
                "pod_cidr": str(next(pod_networks)),
                "osds": osds,
                "unschedulable": False,
                "annotations": {},
                "drained": False,
                "reboot": None,
                "recovered_at": 0.0,
                "boots": 0,
                "ready_since": started,
                # What `talosctl get disks|links` shows; the MAC is made up when cluster.yaml gives none.
                "install_disk": str(node.install_disk),
                "mac_address": str(node.mac_address) if node.mac_address else ids.mac_address(node.name),
                "osd_devices": [str(device) for device in node.osd_devices],
            }
        )
        if node.name in in_maintenance:
            # Booted from the install image, unconfigured: answers only --insecure talosctl calls,
            # not in Kubernetes, not in etcd.
            nodes[-1].update(maintenance=True, registered=False, etcd_member=False, etcd_data=False)
    _configure(cluster, nodes)
    for node in nodes:
        if node["name"] in faults.get("etcd-member-lost", []):
            node["etcd_data"] = False  # as after a reset without --graceful, or a replaced disk
        if node["name"] in faults.get("control-plane-lost", []):
            node["off"] = True  # never answers again
    if "etcd-unhealthy" in faults and not faults["etcd-unhealthy"]:
        faults["etcd-unhealthy"] = [cluster.control_planes[-1].name] if cluster.control_planes else []
    forced_down = []
    if "ceph-degraded" in faults:
        named = faults["ceph-degraded"]
        hosts = [n for n in nodes if n["osds"] and (not named or n["name"] in named)]
        forced_down = [hosts[0]["osds"][0]] if hosts else []
    if "leak-secret" in faults:
        target = (faults["leak-secret"] or [nodes[0]["name"]])[0]
        leaked = _leaked_secrets()
        for node in nodes:
            if node["name"] == target:
                # Where a careless operator might leave a token: a note on the node.
                node["annotations"]["homeops.dev/debug-authorization"] = f"Bearer {leaked['bearer']}"
    else:
        leaked = {}
    versions = {k: v for k, v in cluster.versions.model_dump().items() if v}
    return {
        "kind": state.MARKER,
        "created": started,
        "cluster": {
            "name": cluster.cluster.name,
            "domain": cluster.cluster.domain,
            "vip": str(cluster.network.control_plane_vip),
            "installer": cluster.talos.installer,
            "schematic": cluster.talos.schematic_id,
            "service_cidr": str(cluster.network.service_cidr),
            "pod_cidr": str(cluster.network.pod_cidr),
            "load_balancers": [
                {"name": lb.name, "address": str(lb.address), "purpose": lb.purpose}
                for lb in cluster.network.load_balancers
            ],
        },
        "versions": versions,
        "timing": {
            "reboot_seconds": reboot,
            # Talos gives up a blocked drain after 5 minutes; here after one reboot's time.
            "talos_drain_seconds": reboot,
            "recovery_seconds": reboot / 2,
            "patience_seconds": max(4 * reboot, 1.0),
            # One step of Flux after bootstrap (apply a path, install a release): a tenth of a reboot.
            "flux_seconds": reboot / 10,
        },
        "faults": faults,
        "secrets": leaked,
        "resource_version": 1000,
        "nodes": nodes,
        # A cluster whose control planes are all in maintenance mode has neither etcd nor a CNI yet.
        "cni": any(n["role"] == "control-plane" and not n.get("maintenance") for n in nodes),
        "etcd": {"formed_at": 0.0, "raft_index": 412_233, "raft_term": 7, "db_size": 17_170_432, "in_use": 8_290_304},
        "ceph": {
            "fsid": ids.uuid4(),
            "epoch": 211,
            "flags": [],
            "group_flags": {},
            "forced_down": forced_down,
            "stuck": False,
            "pg_count": PG_COUNT,
        },
        # The Flux objects and LoadBalancer Services are those kubernetes/ renders for this cluster.yaml;
        # "running" holds a chart version that differs from the rendered one (none at creation).
        "flux": {"revision": f"main@sha1:{ids.hex_id(40)}", "reconciled": {}, "running": {}},
        "rendered": rendered_twin_view(cluster),
        "leases": {},
        "rook": rook.initial(),
        "clock_offset": 0.0,
    }


def _configure(cluster, nodes: list[dict]) -> None:
    """Each running node runs what `talosctl gen config` makes of the rendered patches and the twin's bundle
    (the bootstrap's own arguments), so an unchanged cluster.yaml gives apply-config nothing to do."""
    from homeops.rendering.inventory import rendered_talos_files
    from homeops.twin.talos import applied_config, config_doc, machine_config

    files = rendered_talos_files(cluster)
    bundle = machine_config.made_up_bundle(cluster.cluster.name)
    endpoint = f"https://{cluster.network.control_plane_vip}:6443"
    for node in nodes:
        if node.get("maintenance"):
            continue
        control_plane = node["role"] == "control-plane"
        patches = [files["talos/patches/all.yaml"]]
        if control_plane:
            patches.append(files["talos/patches/controlplane.yaml"])
        patches.append(files[f"talos/nodes/{node['name']}.yaml"])
        kind = "controlplane" if control_plane else "worker"
        applied_config.store(node, config_doc.generate(kind, cluster.cluster.name, endpoint, cluster.installer_image(),
                                                       bundle, patches))


def _leaked_secrets() -> dict[str, str]:
    bech32 = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"
    age_key = "AGE-SECRET-KEY-1" + "".join(bech32[b % 32] for b in os.urandom(58))
    signature = ids.hex_id(43)
    bearer = (
        "eyJhbGciOiJSUzI1NiIsImtpZCI6InR3aW4ifQ."
        "eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6a3ViZS1zeXN0ZW06dHdpbiJ9." + signature
    )
    return {"age_key": age_key, "bearer": bearer}
