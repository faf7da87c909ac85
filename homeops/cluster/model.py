"""The cluster model: what cluster.yaml says, typed and immutable.

Field-level checks (formats) live on the fields; rules that relate several
fields (overlaps, duplicates, membership) live in `homeops.cluster.rules`, so that each
problem is reported once, with the position of the value that causes it.
The descriptions are published in the site's cluster.yaml reference.
"""

from __future__ import annotations

import ipaddress
from functools import cached_property
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from homeops.cluster import formats

Role = Literal["control-plane", "worker"]
OwnerKind = Literal["user", "organization"]  # GitHub's two account types (its REST API's `type`: User, Organization)


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClusterInfo(Frozen):
    name: formats.DnsLabel = Field(description="Cluster name, a DNS-1123 label.")
    domain: formats.DomainName = Field(description="Public DNS domain the gateways serve.")


class Versions(Frozen):
    talos: formats.Version = Field(description="Talos Linux release every node runs.")
    kubernetes: formats.Version = Field(description="Kubernetes release of the control plane and kubelets.")
    flux: formats.Version = Field(description="Flux release that reconciles the cluster from Git.")
    cilium: formats.Version = Field(description="Cilium release (CNI, kube-proxy replacement, load-balancer IPAM).")
    rook_ceph: formats.Version = Field(description="Rook operator release that manages Ceph.")
    sops: formats.Version = Field(description="SOPS release used to encrypt secrets in Git.")
    age: formats.Version = Field(description="age release that holds the SOPS encryption keys.")
    gateway_api: Optional[formats.Version] = Field(default=None, description="Gateway API CRD release.")
    cert_manager: Optional[formats.Version] = Field(default=None, description="cert-manager release.")
    external_dns: Optional[formats.Version] = Field(
        default=None, description="external-dns Helm chart release (its chart versions are 1.x for external-dns 0.x).")
    external_secrets: Optional[formats.Version] = Field(default=None, description="External Secrets Operator release.")
    zfs_localpv: Optional[formats.Version] = Field(default=None, description="OpenEBS ZFS LocalPV provisioner release.")
    cloudflared: Optional[formats.Version] = Field(default=None, description="cloudflared (Cloudflare Tunnel) release.")
    k8s_gateway: Optional[formats.Version] = Field(
        default=None, description="k8s-gateway Helm chart release (the DNS server that answers for cluster.domain).")


class Talos(Frozen):
    installer: formats.ImageRepository = Field(description="Installer image repository, without schematic or tag.")
    schematic_id: formats.SchematicId = Field(description="Talos Image Factory schematic ID (64 lowercase hex characters).")
    extensions: tuple[formats.ExtensionName, ...] = Field(
        default=(),
        description="Official system extensions of the schematic (`siderolabs/zfs` when ZFS is used); "
                    "`talos/schematic.yaml` is rendered from them.",
    )


class LoadBalancer(Frozen):
    name: formats.DnsLabel = Field(description="Name of the Service that holds the address, a DNS-1123 label.")
    address: formats.IPv4 = Field(description="Load-balancer address, inside node_cidr.")
    purpose: str = Field(description="What the address serves, in a few words.")


class Network(Frozen):
    node_cidr: formats.IPv4Network = Field(description="Network the nodes, the VIP and the load balancers live in.")
    pod_cidr: formats.IPv4Network = Field(description="Pod network; must not overlap the others.")
    service_cidr: formats.IPv4Network = Field(description="Service network; its 10th address is the cluster DNS.")
    control_plane_vip: formats.IPv4 = Field(description="Shared virtual IP of the Kubernetes API, inside node_cidr.")
    load_balancers: tuple[LoadBalancer, ...] = Field(default=(), description="Addresses handed out to LoadBalancer Services.")
    gateway: Optional[formats.IPv4] = Field(
        default=None, description="Default route of the nodes, inside node_cidr (default: its first address).")
    nameservers: tuple[formats.IPv4, ...] = Field(
        default=(), description="DNS servers the nodes use (default: the gateway).")

    @property
    def default_gateway(self) -> ipaddress.IPv4Address:
        return self.gateway if self.gateway is not None else self.node_cidr.network_address + 1

    @property
    def dns_servers(self) -> tuple[ipaddress.IPv4Address, ...]:
        return self.nameservers or (self.default_gateway,)

    def load_balancer(self, name: str) -> LoadBalancer | None:
        return next((lb for lb in self.load_balancers if lb.name == name), None)

    @property
    def cluster_dns(self) -> ipaddress.IPv4Address:
        """The cluster DNS Service address: by convention the 10th address of the service CIDR."""
        return self.service_cidr.network_address + 10


# A bound that no home-lab node reaches, so that a typo (an extra zero, a pasted serial number)
# is reported instead of making the twin build millions of OSDs.
MAX_OSDS_PER_NODE = 64


class Node(Frozen):
    name: formats.DnsLabel = Field(description="Hostname of the node, a DNS-1123 label.")
    role: Role = Field(description="`control-plane` or `worker`.")
    address: formats.IPv4 = Field(description="Node address, inside node_cidr.")
    # strict: YAML gives integers as integers, so "2" or 1.5 here is a mistake worth reporting
    osds: Optional[int] = Field(
        default=None,
        ge=0,
        le=MAX_OSDS_PER_NODE,
        strict=True,
        description="Ceph OSDs on this node (default: 1 on a worker, 0 on a control-plane node).",
    )

    install_disk: formats.DevicePath = Field(
        default="/dev/sda", description="Disk Talos installs to (`/dev/nvme0n1` on an NVMe machine).")
    mac_address: Optional[formats.MacAddress] = Field(
        default=None,
        description="MAC address of the NIC that carries the node address (and the VIP): the Talos deviceSelector "
                    "matches exactly this NIC. Without it, every physical NIC matches.",
    )
    osd_devices: tuple[formats.DevicePath, ...] = Field(
        default=(), description="Disks Rook turns into OSDs (by-id paths); without them Rook uses every empty disk.")

    @property
    def osd_count(self) -> int:
        if self.osds is not None:
            return self.osds
        return 1 if self.role == "worker" else 0


class Repository(Frozen):
    owner: formats.GitHubOwner = Field(description="GitHub account (user or organisation) that holds the repository.")
    name: formats.GitHubRepository = Field(default="home-ops", description="Repository name on GitHub.")
    branch: formats.GitBranch = Field(default="main", description="Branch Flux reconciles and the site is published from.")
    owner_kind: OwnerKind = Field(
        default="user",
        description="Whether `owner` is a GitHub `user` or an `organization`: `flux bootstrap github` is given "
                    "`--personal` for a user's repository only (without it Flux looks the repository up among the "
                    "organization's).")

    @property
    def personal(self) -> bool:
        """Whether `flux bootstrap github` takes `--personal` (flux2 cmd/flux/bootstrap_github.go: the owner is a user)."""
        return self.owner_kind == "user"

    @property
    def url(self) -> str:
        return f"https://github.com/{self.owner}/{self.name}"

    @property
    def pages_url(self) -> str:
        """Where GitHub Pages publishes the repository's site (a user site when named OWNER.github.io)."""
        host = f"{self.owner.lower()}.github.io"
        return f"https://{host}/" if self.name.lower() == host else f"https://{host}/{self.name}/"


class Secrets(Frozen):
    age_public_key: Optional[formats.AgePublicKey] = Field(
        default=None, description="age public key SOPS encrypts to (`.sops.yaml` is rendered from it); never the private key.")
    store: formats.DnsLabel = Field(
        default="cluster-secrets",
        description="Name of the External Secrets ClusterSecretStore the rendered ExternalSecrets read from.")


class S3Backups(Frozen):
    endpoint: Optional[formats.S3Endpoint] = Field(
        default=None,
        description="S3 API address of an S3-compatible store (MinIO, Garage, Ceph RGW, R2...), scheme and host "
                    "only; without it, AWS S3 of `region`.")
    bucket: formats.S3Bucket = Field(description="Bucket the snapshots go to; create it first (talos-backup does not).")
    region: formats.S3Region = Field(
        default="us-east-1", description="Region requests are signed for (most S3-compatible stores accept us-east-1).")
    prefix: Optional[formats.S3Prefix] = Field(
        default=None, description="Key prefix of every snapshot (default: cluster.name, as talos-backup's own).")
    path_style: bool = Field(
        default=False, strict=True,
        description="Address the bucket in the path (`https://HOST/BUCKET/...`) instead of as a subdomain; most "
                    "self-hosted stores need it. Applies with `endpoint` only.")
    schedule: formats.CronSchedule = Field(
        default="0 */6 * * *", description="When the CronJob takes a snapshot, in UTC (cron syntax).")


class Backups(Frozen):
    s3: S3Backups = Field(
        description="Scheduled etcd snapshots by siderolabs/talos-backup (a CronJob in the cluster), age-encrypted "
                    "to secrets.age_public_key and uploaded to this S3 bucket.")


class Cluster(Frozen):
    cluster: ClusterInfo = Field(description="Who the cluster is: its name and the domain it serves.")
    versions: Versions = Field(description="Pinned releases of every component; Renovate bumps them by pull request.")
    talos: Talos = Field(description="Where the Talos installer image comes from.")
    network: Network = Field(description="The IP plan: CIDRs, the API VIP and the load-balancer addresses.")
    nodes: tuple[Node, ...] = Field(description="Every machine of the cluster, in upgrade order.")
    repository: Optional[Repository] = Field(
        default=None,
        description="The GitHub repository of this project: the site's source and edit links, its GitHub Pages "
                    "address, and what Flux is bootstrapped from. Without it the site has no repository links.",
    )
    secrets: Secrets = Field(default_factory=Secrets, description="Where encrypted and external secrets come from.")
    backups: Optional[Backups] = Field(
        default=None,
        description="Where scheduled etcd snapshots go. Without it nothing is scheduled: etcd-backup runs by hand "
                    "(and inside control-plane-upgrade) into the local backups/ directory.")

    @property
    def backup_prefix(self) -> str | None:
        """The S3 key prefix talos-backup writes under (its S3_PREFIX), or None without scheduled backups."""
        if self.backups is None:
            return None
        return self.backups.s3.prefix or self.cluster.name

    @cached_property
    def control_planes(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.role == "control-plane")

    @cached_property
    def workers(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.role == "worker")

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        known = ", ".join(n.name for n in self.nodes)
        raise KeyError(f"no node named {name!r} in cluster.yaml (nodes: {known})")

    def installer_image(self, version: str | None = None) -> str:
        """The Talos installer image for `version` (default: versions.talos)."""
        return f"{self.talos.installer}/{self.talos.schematic_id}:{version or self.versions.talos}"

    @property
    def etcd_members(self) -> int:
        return len(self.control_planes)

    @property
    def etcd_quorum(self) -> int:
        return self.etcd_members // 2 + 1

    @property
    def etcd_fault_tolerance(self) -> int:
        """Control-plane nodes that may fail while etcd keeps quorum."""
        return max(self.etcd_members - self.etcd_quorum, 0)

    @property
    def ceph_hosts(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.osd_count > 0)

    def addresses(self) -> list[tuple[str, str, str]]:
        """Every address the cluster uses: (address, owner, kind), in file order."""
        rows = [(str(n.address), n.name, n.role) for n in self.nodes]
        rows.append((str(self.network.control_plane_vip), "Kubernetes API", "control-plane VIP"))
        rows += [(str(lb.address), lb.name, "load balancer") for lb in self.network.load_balancers]
        return rows
