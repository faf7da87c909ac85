"""`talosctl get machineconfig`: a node's running machine configuration, as the MachineConfig resource.

Shape from Talos v1.11: the resource `MachineConfigs.config.talos.dev` in namespace `config`, id
`v1alpha1` (siderolabs/talos `pkg/machinery/resources/config/machine_config.go`); `-o yaml` prints
`node:` then the resource with the v1alpha1 document under `spec:` (fixture:
tests/tools/fixtures/upstream/talosctl-get-machineconfig-yaml.txt). The configuration carries the
cluster's secrets; the twin's are made up and worthless (derived from the node and cluster names), but
shaped like Talos's (a kubeadm-style token, base64 PEM blocks), so a drill can find them if a backup
ever left them unencrypted on disk.
"""

from __future__ import annotations

import base64
import hashlib

from homeops.twin import clock

TYPE = "MachineConfigs.config.talos.dev"


def _made_up(*words: str, length: int = 32) -> str:
    return hashlib.sha256("/".join(("homeops-twin", *words)).encode()).hexdigest()[:length]


def _pem(what: str, *words: str) -> str:
    body = base64.b64encode(f"homeops twin {what}, worthless: {_made_up(*words, length=48)}".encode()).decode()
    return base64.b64encode(f"-----BEGIN {what}-----\n{body}\n-----END {what}-----\n".encode()).decode()


def token(state: dict, node: dict) -> str:
    """The machine token: the secret a drill looks for in plaintext."""
    return _token(state["cluster"]["name"])


def _token(cluster_name: str) -> str:
    seed = _made_up(cluster_name, "token", length=22)
    return f"{seed[:6]}.{seed[6:22]}"


def made_up_bundle(cluster_name: str) -> dict:
    """The secrets bundle of a twin made already running, in the twin's `talosctl gen secrets` shape: the
    configurations made from it carry the same made-up CA and token as `made_up_spec`."""
    return {
        "cluster": {"id": _made_up(cluster_name, "id", length=43), "secret": _made_up(cluster_name, "secret", length=43)},
        "secrets": {"bootstraptoken": _token(cluster_name),
                    "secretboxencryptionsecret": _made_up(cluster_name, "secretbox", length=43)},
        "certs": {"os": {"crt": _pem("CERTIFICATE", cluster_name, "os-ca"),
                         "key": _pem("ED25519 PRIVATE KEY", cluster_name, "os-ca-key")}},
    }


def made_up_spec(state: dict, node: dict) -> dict:
    """The configuration of a node the twin has none for (a state written before nodes kept theirs)."""
    cluster = state["cluster"]
    control_plane = node["role"] == "control-plane"
    machine = {
        "type": "controlplane" if control_plane else "worker",
        "token": token(state, node),
        "ca": {"crt": _pem("CERTIFICATE", cluster["name"], "os-ca")},
        "install": {"disk": node["install_disk"],
                    "image": f"{cluster['installer']}/{cluster['schematic']}:{node['talos_version']}"},
        "network": {"hostname": node["name"]},
    }
    if control_plane:
        machine["ca"]["key"] = _pem("ED25519 PRIVATE KEY", cluster["name"], "os-ca-key")
    return {
        "version": "v1alpha1",
        "debug": False,
        "persist": True,
        "machine": machine,
        "cluster": {
            "id": _made_up(cluster["name"], "id", length=43),
            "secret": _made_up(cluster["name"], "secret", length=43),
            "controlPlane": {"endpoint": f"https://{cluster['vip']}:6443"},
            "clusterName": cluster["name"],
        },
    }


def resource(state: dict, node: dict) -> dict:
    """The MachineConfig resource: the configuration the node runs (homeops.twin.talos.applied_config)."""
    from homeops.twin.talos import applied_config

    spec = applied_config.current(state, node)
    moment = clock.rfc3339(node["ready_since"])
    return {"metadata": {"namespace": "config", "type": TYPE, "id": "v1alpha1", "version": 1 + node["boots"],
                         "owner": None, "phase": "running", "created": moment, "updated": moment},
            "spec": spec}
