"""PersistentVolumes as `kubectl get pv -o json` shows them: one OpenEBS ZFS LocalPV volume per
worker, bound to its node (node affinity on `openebs.io/nodeid`, the ZFS LocalPV driver's
topology key), and one Ceph RBD volume, which belongs to no node. A scenario may give its own
list in `state["volumes"]`: `{"name", "claim": "NS/NAME", "node": NODE or "", "storage_class"}`."""

from __future__ import annotations

from homeops.twin import clock

ZFS_CLASS, ZFS_DRIVER = "openebs-zfs", "zfs.csi.openebs.io"
RBD_CLASS, RBD_DRIVER = "ceph-block", "rook-ceph.rbd.csi.ceph.com"


def declared(state: dict) -> list[dict]:
    if "volumes" in state:
        return list(state["volumes"])
    found = [{"name": f"pvc-zfs-{node['name']}", "claim": f"media/data-{node['name']}", "node": node["name"],
              "storage_class": ZFS_CLASS} for node in state["nodes"] if node["role"] == "worker"]
    found.append({"name": "pvc-rbd-grafana", "claim": "observability/grafana", "node": "", "storage_class": RBD_CLASS})
    return found


def objects(state: dict) -> list[dict]:
    from homeops.twin.kube import k8s

    made = clock.rfc3339(k8s.born(state))
    items = []
    for volume in declared(state):
        namespace, claim = volume["claim"].split("/", 1)
        zfs = volume["storage_class"] == ZFS_CLASS
        spec: dict = {
            "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "20Gi"},
            "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": claim, "namespace": namespace},
            "csi": {"driver": ZFS_DRIVER if zfs else RBD_DRIVER, "fsType": "zfs" if zfs else "ext4",
                    "volumeHandle": volume["name"]},
            "persistentVolumeReclaimPolicy": "Delete", "storageClassName": volume["storage_class"],
            "volumeMode": "Filesystem",
        }
        if volume["node"]:
            spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "openebs.io/nodeid", "operator": "In", "values": [volume["node"]]}]}]}}
        items.append({"apiVersion": "v1", "kind": "PersistentVolume",
                      "metadata": {"creationTimestamp": made, "name": volume["name"],
                                   "resourceVersion": str(state["resource_version"])},
                      "spec": spec, "status": {"phase": "Bound"}})
    return items
