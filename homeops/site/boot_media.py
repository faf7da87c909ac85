"""Where the machines boot from: the Image Factory's images of cluster.yaml's schematic and Talos version.

The factory serves every image of a schematic at `/image/<schematic>/<version>/<path>` (the ISO is
`metal-<arch>.iso`) and an iPXE script at `pxe.talos.dev/pxe/<schematic>/<version>/metal-<arch>`;
a schematic must have been posted to `/schematics` once before its images can be fetched
(siderolabs/image-factory README.md at 803ffa15a5a1cf8b0b54b7418b403893ce758a74, "HTTP Frontend API"
and "PXE Frontend API").
"""

from __future__ import annotations

from homeops.cluster.model import Cluster

FACTORY = "https://factory.talos.dev"
PXE = "https://pxe.talos.dev"
ARCH = "amd64"


def iso_url(cluster: Cluster, arch: str = ARCH) -> str:
    return f"{FACTORY}/image/{cluster.talos.schematic_id}/{cluster.versions.talos}/metal-{arch}.iso"


def pxe_url(cluster: Cluster, arch: str = ARCH) -> str:
    return f"{PXE}/pxe/{cluster.talos.schematic_id}/{cluster.versions.talos}/metal-{arch}"


def schematic_post() -> str:
    """Registers talos/schematic.yaml with the factory; it answers with the ID cluster.yaml holds."""
    return f"curl -sX POST --data-binary @talos/schematic.yaml {FACTORY}/schematics"
