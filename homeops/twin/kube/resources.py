"""The resource types the twin's kubectl serves, how kubectl names them, and their objects."""

from __future__ import annotations

from homeops.twin.flux import objects as flux_objects
from homeops.twin.kube import deployments, k8s, leases, volumes
from homeops.twin.failure import ToolFailure
from homeops.twin.setup import kube_objects


class Kind:
    __slots__ = ("aliases", "group", "kind", "namespaced", "plural")

    def __init__(self, plural: str, group: str, kind: str, namespaced: bool, aliases: tuple[str, ...]):
        self.plural, self.group, self.kind = plural, group, kind
        self.namespaced, self.aliases = namespaced, aliases

    @property
    def resource(self) -> str:
        """How the API server names it in errors: `nodes`, `leases.coordination.k8s.io`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def name_prefix(self) -> str:
        """How `-o name` prefixes it: `node`, `lease.coordination.k8s.io`."""
        singular = self.kind.lower()
        return f"{singular}.{self.group}" if self.group else singular


KINDS = (
    Kind("nodes", "", "Node", False, ("node", "no")),
    Kind("services", "", "Service", True, ("service", "svc")),
    Kind("kustomizations", "kustomize.toolkit.fluxcd.io", "Kustomization", True, ("kustomization", "ks")),
    Kind("helmreleases", "helm.toolkit.fluxcd.io", "HelmRelease", True, ("helmrelease", "hr")),
    Kind("cephclusters", "ceph.rook.io", "CephCluster", True, ("cephcluster",)),
    Kind("leases", "coordination.k8s.io", "Lease", True, ("lease",)),
    Kind("pods", "", "Pod", True, ("pod", "po")),
    Kind("namespaces", "", "Namespace", False, ("namespace", "ns")),
    Kind("secrets", "", "Secret", True, ("secret",)),
    Kind("certificates", "cert-manager.io", "Certificate", True, ("certificate", "cert")),
    Kind("daemonsets", "apps", "DaemonSet", True, ("daemonset", "ds")),
    Kind("deployments", "apps", "Deployment", True, ("deployment", "deploy")),
    Kind("persistentvolumes", "", "PersistentVolume", False, ("persistentvolume", "pv")),
)


def resolve_kind(text: str) -> Kind:
    wanted = text.lower()
    for kind in KINDS:
        names = {kind.plural, *kind.aliases}
        if wanted in names or any(wanted == f"{name}.{kind.group}" for name in names if kind.group):
            return kind
    raise ToolFailure(f'error: the server doesn\'t have a resource type "{text}"')


def namespace(parsed) -> str:
    return parsed.value("namespace") or "default"


def objects(kind: Kind, current: dict, now: float) -> list[dict]:
    if kind.plural == "nodes":
        return [k8s.node_object(current, node, now) for node in k8s.registered_nodes(current)]
    if kind.plural == "services":
        return k8s.services(current)
    if kind.plural == "kustomizations":
        return flux_objects.kustomizations(current)
    if kind.plural == "helmreleases":
        return flux_objects.helmreleases(current)
    if kind.plural == "pods":
        return k8s.osd_pods(current, now)
    if kind.plural == "cephclusters":
        return [k8s.ceph_cluster(current, now)]
    if kind.plural == "namespaces":
        return kube_objects.namespaces(current)
    if kind.plural == "secrets":
        return kube_objects.secrets(current)
    if kind.plural == "certificates":
        return kube_objects.certificates(current)
    if kind.plural == "daemonsets":
        return k8s.daemonsets(current, now)
    if kind.plural == "deployments":
        return deployments.objects(current, now)
    if kind.plural == "persistentvolumes":
        return volumes.objects(current)
    return leases.in_namespace(current, None)
