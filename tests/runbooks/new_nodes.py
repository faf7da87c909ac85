"""The nodes node-add's tests add to cluster.yaml: a fourth worker and a third control plane."""

from __future__ import annotations

WORKER_4 = """  - name: worker-4
    role: worker
    address: 10.0.10.24
    install_disk: /dev/sda
    mac_address: bc:24:11:00:10:24
    osd_devices:
      - /dev/disk/by-id/nvme-Samsung_SSD_980_1TB_S64ANS0T100004
"""
CP_3 = """  - name: cp-3
    role: control-plane
    address: 10.0.10.13
    install_disk: /dev/nvme0n1
    mac_address: bc:24:11:00:10:13
"""


def with_node(text: str, node: str) -> str:
    """cluster.yaml's text with `node` added: a control plane after the last one, a worker at the end."""
    anchor = "  - name: worker-1\n" if "control-plane" in node else "\n# The GitHub repository"
    head, tail = text.split(anchor, 1)
    return head + (node + anchor if "control-plane" in node else node.rstrip("\n") + "\n" + anchor) + tail
