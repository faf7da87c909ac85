"""Kubernetes objects of the twin as the API server returns them: Nodes, Services, the Rook
CephCluster, and the pods a drain finds on a node."""

from __future__ import annotations

from homeops.twin import clock, faults, nodes, power, table
from homeops.twin.ceph import ceph
from homeops.twin.kube import deployments

CLUSTER_AGE_SECONDS = 30 * 86400  # the cluster was built before the twin was made


def born(state: dict) -> float:
    return state["created"] - CLUSTER_AGE_SECONDS


def as_list(items: list[dict]) -> dict:
    return {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}


# What the kubelet reports until a CNI is installed (kubelet's KubeletNotReady condition).
NO_CNI = ("container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
          "message:Network plugin returns error: cni plugin not initialized")


def registered_nodes(state: dict) -> list[dict]:
    """The nodes the API server knows: every node but those never configured or not yet joined."""
    return [node for node in state["nodes"] if nodes.registered(node)]


def node_object(state: dict, node: dict, now: float) -> dict:
    control_plane = node["role"] == "control-plane"
    # A node that lost power still reads Ready until the node-monitor grace period has passed.
    running = power.reported_ready(state, node, now)
    ready = running and state.get("cni", True)
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": node["name"],
        "kubernetes.io/os": "linux",
    }
    taints = []
    if control_plane:
        labels["node-role.kubernetes.io/control-plane"] = ""
        labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
        taints.append({"effect": "NoSchedule", "key": "node-role.kubernetes.io/control-plane"})
    if node["unschedulable"]:
        taints.append(
            {"effect": "NoSchedule", "key": "node.kubernetes.io/unschedulable", "timeAdded": clock.rfc3339(now)}
        )
    if not running:
        taints.append(
            {"effect": "NoSchedule", "key": "node.kubernetes.io/unreachable", "timeAdded": clock.rfc3339(now)}
        )
        taints.append({"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "timeAdded": clock.rfc3339(now)})
    elif not ready:
        taints.append({"effect": "NoSchedule", "key": "node.kubernetes.io/not-ready", "timeAdded": clock.rfc3339(now)})
    spec: dict = {"podCIDR": node["pod_cidr"], "podCIDRs": [node["pod_cidr"]]}
    if node["unschedulable"]:
        spec["unschedulable"] = True
    if taints:
        spec["taints"] = taints
    since = clock.rfc3339(node["ready_since"])
    if running:
        pressure = [
            _condition(
                kind,
                "False",
                f"KubeletHasSufficient{word}",
                f"kubelet has sufficient {word.lower()} available",
                since,
                now,
            )
            for kind, word in (("MemoryPressure", "Memory"), ("DiskPressure", "Disk"), ("PIDPressure", "PID"))
        ]
        conditions = pressure + [
            _condition("Ready", "True", "KubeletReady", "kubelet is posting ready status", since, now) if ready
            else _condition("Ready", "False", "KubeletNotReady", NO_CNI, since, now)
        ]
    else:
        down_since = (clock.rfc3339(node["reboot"]["down_at"]) if node["reboot"]
                      else clock.rfc3339(node["off_since"]) if "off_since" in node else since)
        conditions = [
            _condition(kind, "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.", down_since, now)
            for kind in ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready")
        ]
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "annotations": {
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                **node["annotations"],
            },
            "creationTimestamp": clock.rfc3339(node.get("registered_at") or born(state)),
            "labels": labels,
            "name": node["name"],
            "resourceVersion": str(state["resource_version"]),
            "uid": node["uid"],
        },
        "spec": spec,
        "status": {
            "addresses": [
                {"address": node["address"], "type": "InternalIP"},
                {"address": node["name"], "type": "Hostname"},
            ],
            "allocatable": {"cpu": "8", "ephemeral-storage": "237597686Ki", "memory": "32495228Ki", "pods": "110"},
            "capacity": {"cpu": "8", "ephemeral-storage": "257817692Ki", "memory": "32597628Ki", "pods": "110"},
            "conditions": conditions,
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": nodes.boot_id(node, now),
                "containerRuntimeVersion": "containerd://2.1.4",
                "kernelVersion": "6.12.45-talos",
                "kubeProxyVersion": "",
                "kubeletVersion": node["kubelet_version"],
                "machineID": node["machine_id"],
                "operatingSystem": "linux",
                "osImage": f"Talos ({nodes.talos_version(node, now)})",
                "systemUUID": node["uid"],
            },
        },
    }


def _condition(kind: str, status: str, reason: str, message: str, since: str, now: float) -> dict:
    return {
        "lastHeartbeatTime": clock.rfc3339(now),
        "lastTransitionTime": since,
        "message": message,
        "reason": reason,
        "status": status,
        "type": kind,
    }


def node_row(node: dict, now: float, wide: bool, cni: bool = True) -> list[str]:
    status = "Ready" if nodes.is_ready(node, now) and cni else "NotReady"
    if node["unschedulable"]:
        status += ",SchedulingDisabled"
    roles = "control-plane" if node["role"] == "control-plane" else "<none>"
    age = table.age(now - node["registered_at"]) if node.get("registered_at") else "30d"
    row = [node["name"], status, roles, age, node["kubelet_version"]]
    if wide:
        row += [
            node["address"],
            "<none>",
            f"Talos ({nodes.talos_version(node, now)})",
            "6.12.45-talos",
            "containerd://2.1.4",
        ]
    return row


NODE_HEADER = ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
NODE_WIDE_HEADER = NODE_HEADER + ["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"]


def services(state: dict) -> list[dict]:
    import ipaddress  # here, not at the top: only this listing needs it, and it is slow to import

    service_net = ipaddress.ip_network(state["cluster"]["service_cidr"])
    made = clock.rfc3339(born(state))

    def service(namespace: str, name: str, kind: str, cluster_ip, ports: list[dict], extra: dict | None = None) -> dict:
        body = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"creationTimestamp": made, "name": name, "namespace": namespace, "resourceVersion": "1204"},
            "spec": {"clusterIP": str(cluster_ip), "clusterIPs": [str(cluster_ip)], "ports": ports, "type": kind},
            "status": {"loadBalancer": {}},
        }
        if extra:
            body["metadata"].update(extra.get("metadata", {}))
            body["status"] = extra.get("status", body["status"])
        return body

    https = [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]
    dns = [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53}]
    items = [
        service("default", "kubernetes", "ClusterIP", service_net.network_address + 1, https),
        service("kube-system", "kube-dns", "ClusterIP", service_net.network_address + 10, dns),
    ]
    # The LoadBalancer Services kubernetes/ renders (Cilium names a Gateway's cilium-gateway-NAME), at their addresses.
    for index, lb in enumerate(state["rendered"]["load_balancers"]):
        ports = (
            dns
            if not lb["name"].startswith("cilium-gateway-")
            else [
                {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 80, "nodePort": 30080 + index},
                {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 443, "nodePort": 30443 + index},
            ]
        )
        items.append(
            service(
                lb["namespace"],
                lb["name"],
                "LoadBalancer",
                service_net.network_address + 100 + index,
                ports,
                {
                    "metadata": {"annotations": {"lbipam.cilium.io/ips": lb["address"]}},
                    "status": {"loadBalancer": {"ingress": [{"ip": lb["address"], "ipMode": "VIP"}]}},
                },
            )
        )
    return items


def service_row(item: dict, with_namespace: bool) -> list[str]:
    ingress = item["status"]["loadBalancer"].get("ingress", [])
    external = ",".join(i["ip"] for i in ingress) or (
        "<pending>" if item["spec"]["type"] == "LoadBalancer" else "<none>"
    )
    ports = ",".join(
        f"{p['port']}" + (f":{p['nodePort']}" if "nodePort" in p else "") + f"/{p['protocol']}"
        for p in item["spec"]["ports"]
    )
    row = [item["metadata"]["name"], item["spec"]["type"], item["spec"]["clusterIP"], external, ports, "30d"]
    return ([item["metadata"]["namespace"]] if with_namespace else []) + row


def ceph_cluster(state: dict, now: float) -> dict:
    report = ceph.health(state, now)
    details = {
        name: {"message": c["summary"]["message"], "severity": c["severity"]} for name, c in report["checks"].items()
    }
    health: dict = {"fsid": state["ceph"]["fsid"], "health": report["status"], "lastChecked": clock.rfc3339(now)}
    if details:
        health["details"] = details
    version = state["versions"].get("rook_ceph", "v1.16.3")
    return {
        "apiVersion": "ceph.rook.io/v1",
        "kind": "CephCluster",
        "metadata": {
            "creationTimestamp": clock.rfc3339(born(state)),
            "generation": 3,
            "name": "rook-ceph",
            "namespace": "rook-ceph",
            "resourceVersion": str(state["resource_version"]),
        },
        "spec": {
            "cephVersion": {"image": "quay.io/ceph/ceph:v19.2.3"},
            "dataDirHostPath": "/var/lib/rook",
            "mon": {"count": 3},
            "storage": {"useAllDevices": False, "useAllNodes": True},
        },
        "status": {
            "ceph": health,
            "conditions": [
                {
                    "lastTransitionTime": clock.rfc3339(born(state)),
                    "message": "Cluster created successfully",
                    "reason": "ClusterCreated",
                    "status": "True",
                    "type": "Ready",
                },
            ],
            "message": "Cluster created successfully",
            "phase": "Ready",
            "state": "Created",
            "version": {"image": "quay.io/ceph/ceph:v19.2.3", "version": "19.2.3-0"},
            "rookVersion": version,
        },
    }


def ceph_cluster_row(item: dict) -> list[str]:
    status = item["status"]
    return [
        "rook-ceph",
        "/var/lib/rook",
        "3",
        "30d",
        status["phase"],
        status["message"],
        status["ceph"]["health"],
        "",
        status["ceph"]["fsid"],
    ]


CEPH_CLUSTER_HEADER = ["NAME", "DATADIRHOSTPATH", "MONCOUNT", "AGE", "PHASE", "MESSAGE", "HEALTH", "EXTERNAL", "FSID"]


def pods_on(state: dict, node: dict) -> dict[str, list[str]]:
    """The pods a drain of `node` meets, by kind: DaemonSet-managed, with emptyDir, others."""
    tail = _suffix(node["uid"])
    daemonsets = [
        f"kube-system/cilium-{tail}",
        f"kube-system/cilium-envoy-{tail[::-1]}",
        f"rook-ceph/csi-rbdplugin-{tail[1:]}x",
    ]
    if node["drained"]:
        return {"daemonset": daemonsets, "emptydir": [], "evictable": []}
    if node["role"] == "control-plane":
        return {"daemonset": daemonsets, "emptydir": [], "evictable": [f"kube-system/coredns-6d4c8f5b7-{tail}"]}
    emptydir = [f"observability/grafana-7c9d5b8f6-{tail}"]
    osd_pods = [f"rook-ceph/rook-ceph-osd-{osd}-5f8d7c9b4-{tail}" for osd in node["osds"]
                if deployments.osd_stopped_at(state, osd) is None]
    return {"daemonset": daemonsets, "emptydir": emptydir, "evictable": emptydir + osd_pods}


def _suffix(uid: str) -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    return "".join(alphabet[int(c, 16) % len(alphabet)] for c in uid.replace("-", "")[:5])


def api_refused(state: dict, now: float | None = None) -> str | None:
    """kubectl's last line when the API server is down: the `api-unreachable` fault, or etcd without
    quorum (a 2-member etcd while one member reboots), when no API server can serve and Talos's
    VIP, elected through etcd, has no holder."""
    from homeops.twin import etcd  # etcd imports nodes; k8s is imported by the fake tools' first lines

    if faults.active(state, "api-unreachable") or (now is not None and etcd.quorum_lost(state, now)):
        vip = state["cluster"]["vip"]
        return f"The connection to the server {vip}:6443 was refused - did you specify the right host or port?"
    return None


def osd_pods(state: dict, now: float) -> list[dict]:
    """The `rook-ceph-osd` pods of running OSD Deployments, as Rook makes them: label `ceph-osd-id`, the CRUSH host in
    `topology-location-host`, pinned to their node by nodeSelector. An evicted one is Pending,
    with no `spec.nodeName`, until its node is schedulable again."""
    pods = []
    for node in ceph.hosts(state):
        for osd in node["osds"]:
            if deployments.osd_stopped_at(state, osd) is not None:
                continue  # its Deployment has 0 replicas: no pod at all
            running = ceph.osd_up(state, node, osd, now)
            spec: dict = {"nodeSelector": {"kubernetes.io/hostname": node["name"]}}
            if running:
                spec["nodeName"] = node["name"]
            pods.append({
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": f"rook-ceph-osd-{osd}-5f8d7c9b4-{_suffix(node['uid'])}",
                    "namespace": "rook-ceph",
                    "labels": {"app": "rook-ceph-osd", "ceph-osd-id": str(osd), "osd": str(osd),
                               "topology-location-host": ceph.crush_host(node),
                               "topology-location-root": "default"},
                },
                "spec": spec,
                "status": {"phase": "Running" if running else "Pending"},
            })
    return pods


def daemonsets(state: dict, now: float) -> list[dict]:
    """The Cilium agent's DaemonSet (kube-system/cilium): one pod a node, ready while its node is.

    `cilium-unhealthy` keeps one agent unready, as a crash-looping agent does (a runbook sees Cilium
    through the DaemonSet's status, the same numbers `cilium status` sums up, without the cilium CLI).
    """
    registered = registered_nodes(state)  # a deleted Node has no agent pod to wait for
    desired = len(registered)
    ready = sum(1 for node in registered if nodes.is_ready(node, now))
    if "cilium-unhealthy" in state["faults"] and ready:
        ready -= 1
    return [{
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"generation": 1, "labels": {"k8s-app": "cilium"}, "name": "cilium", "namespace": "kube-system"},
        "spec": {"selector": {"matchLabels": {"k8s-app": "cilium"}}},
        "status": {
            "currentNumberScheduled": desired,
            "desiredNumberScheduled": desired,
            "numberAvailable": ready,
            "numberMisscheduled": 0,
            "numberReady": ready,
            "numberUnavailable": desired - ready,
            "observedGeneration": 1,
            "updatedNumberScheduled": desired,
        },
    }]
