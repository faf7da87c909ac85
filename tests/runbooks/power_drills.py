"""What the drills of cluster-shutdown and cluster-startup share: the twin's state as they read it, straight
from its directory (the few keys below, and twin_state.py), not through the runbooks' parsers."""

from __future__ import annotations

import json

FAST = {"reboot_seconds": 0.3}
FLAGS = {"noout", "norebalance", "nobackfill"}
KEPT = "HelmRelease cert-manager/cert-manager"  # suspended by someone before the shutdown
WORKERS = "talosctl -n 10.0.10.21,10.0.10.22,10.0.10.23 shutdown --force --timeout 3s"
CONTROL_PLANES = ["talosctl -n 10.0.10.11 -e 10.0.10.11 shutdown --force --timeout 3s",
                  "talosctl -n 10.0.10.12 -e 10.0.10.12 shutdown --force --timeout 3s"]


def raw(drill) -> dict:
    drill.state()  # the controllers catch up and save
    return json.loads((drill.twin / "state.json").read_text())


def operator_replicas(drill) -> int:
    """`deployments["rook-ceph/rook-ceph-operator"].replicas`; absent: the built cluster's 1."""
    stored = (raw(drill).get("deployments") or {}).get("rook-ceph/rook-ceph-operator", {})
    return stored.get("replicas", 1)


def suspended(drill) -> set[str]:
    """Every Flux object with spec.suspend: Kustomizations (`flux.kustomizations[NAME].suspend`) and
    HelmReleases (`flux.releases["NS/NAME"].suspend`), named as the runbooks' record names them."""
    state = raw(drill)
    found = {f"Kustomization flux-system/{name}" for name, record in state["flux"].get("kustomizations", {}).items()
             if record.get("suspend")}
    return found | {f"HelmRelease {key}" for key, record in state["flux"].get("releases", {}).items()
                    if record.get("suspend")}


def every_flux_object(drill) -> set[str]:
    rendered = raw(drill)["rendered"]
    return ({f"Kustomization flux-system/{k['name']}" for k in rendered["kustomizations"]}
            | {f"HelmRelease {r['namespace']}/{r['name']}" for r in rendered["helmreleases"]})


def records(drill, runbook: str) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(drill.records.glob(f"*-{runbook}*.ipynb"))]


def shut_down_with_a_release_suspended_before(drill):
    drill.tool("flux", "suspend", "helmrelease", "cert-manager", "-n", "cert-manager")
    result = drill.run("cluster-shutdown", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    return result


def power_on(drill, *names: str) -> None:
    done = drill.homeops("twin", "power-on", str(drill.twin), *(names or ("all",)))
    assert done.code == 0, done.stdout + done.stderr
