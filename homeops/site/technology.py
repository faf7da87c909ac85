"""The technology stack the overview lists: what each piece is for and which release is pinned.

Versions come from cluster.yaml's `versions`; a piece whose version key is optional and unset
shows "not pinned" rather than a made-up number, and only then does the table explain the words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from homeops.cluster.model import Cluster
from homeops.site.markdown import cell, code, link, table

Category = Literal["core", "storage", "networking", "security"]

NOT_PINNED = "not pinned"


@dataclass(frozen=True)
class Technology:
    name: str
    category: Category
    purpose: str
    version_key: str  # a field of `Versions`
    homepage: str


TECHNOLOGIES: tuple[Technology, ...] = (
    Technology("Talos Linux", "core", "Immutable, API-driven operating system for every node", "talos",
               "https://www.talos.dev/"),
    Technology("Kubernetes", "core", "Container orchestration", "kubernetes", "https://kubernetes.io/"),
    Technology("Flux", "core", "GitOps: reconciles the cluster from this repository", "flux",
               "https://fluxcd.io/"),
    Technology("Cilium", "core", "CNI, kube-proxy replacement and load-balancer IP announcements", "cilium",
               "https://cilium.io/"),
    Technology("Rook-Ceph", "storage", "Replicated block storage across the workers (the ceph-block StorageClass)", "rook_ceph",
               "https://rook.io/"),
    Technology("ZFS provisioner", "storage", "Node-local volumes on ZFS pools (OpenEBS ZFS LocalPV)", "zfs_localpv",
               "https://github.com/openebs/zfs-localpv"),
    Technology("Gateway API", "networking", "Routing of HTTP traffic into the cluster", "gateway_api",
               "https://gateway-api.sigs.k8s.io/"),
    Technology("Cloudflare Tunnel", "networking", "Publishes the external gateway without opening ports",
               "cloudflared", "https://developers.cloudflare.com/cloudflare-one/connections/connect-networks/"),
    Technology("external-dns", "networking", "Writes DNS records for the gateways' routes", "external_dns",
               "https://kubernetes-sigs.github.io/external-dns/"),
    Technology("k8s_gateway", "networking", "Answers DNS for the cluster's domain with the gateways' addresses",
               "k8s_gateway", "https://github.com/k8s-gateway/k8s_gateway"),
    Technology("cert-manager", "networking", "Issues and renews TLS certificates", "cert_manager",
               "https://cert-manager.io/"),
    Technology("SOPS", "security", "Encrypts secrets before they are committed to Git", "sops",
               "https://getsops.io/"),
    Technology("age", "security", "The key pair SOPS encrypts to and Flux decrypts with", "age",
               "https://age-encryption.org/"),
    Technology("External Secrets", "security", "Syncs secrets from an external store into Kubernetes",
               "external_secrets", "https://external-secrets.io/"),
)


def version_of(cluster: Cluster, technology: Technology) -> str | None:
    return getattr(cluster.versions, technology.version_key)


def technology_table(cluster: Cluster, category: Category) -> str:
    chosen = [t for t in TECHNOLOGIES if t.category == category]
    if not chosen:
        raise ValueError(f"no technology in category {category!r}; categories: core, storage, networking, security")
    rows = []
    unpinned = []
    for t in chosen:
        version = version_of(cluster, t)
        rows.append((link(t.name, t.homepage), cell(t.purpose), code(version) if version else NOT_PINNED))
        if not version:
            unpinned.append(f"`versions.{t.version_key}`")
    rendered = table(("Component", "Purpose", "Version"), rows)
    if unpinned:
        rendered += f"\n\n{NOT_PINNED.capitalize()}: cluster.yaml sets no {', '.join(unpinned)}."
    return rendered
