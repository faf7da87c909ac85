"""What the OSD drills share: a cluster.yaml with a fourth OSD host, and the twin's OSDs and Rook
Deployments read back from its state file (not through homeops' parsers)."""

from __future__ import annotations

import json
from pathlib import Path

WORKER_4 = """  - name: worker-4
    role: worker
    address: 10.0.10.24
    install_disk: /dev/sda
    mac_address: bc:24:11:00:10:24
    osd_devices:
      - /dev/disk/by-id/nvme-Samsung_SSD_980_1TB_S64ANS0T100004
"""
DISK = {1: "/dev/disk/by-id/nvme-Samsung_SSD_980_1TB_S64ANS0T100001",
        4: "/dev/disk/by-id/nvme-Samsung_SSD_980_1TB_S64ANS0T100004"}


def with_worker_4(text: str) -> str:
    """cluster.yaml's text with worker-4 after worker-3 (a fourth host with an OSD)."""
    anchor = "      - /dev/disk/by-id/nvme-Samsung_SSD_980_1TB_S64ANS0T100003\n"
    assert anchor in text
    return text.replace(anchor, anchor + WORKER_4)


def raw(drill) -> dict:
    return json.loads((Path(drill.twin) / "state.json").read_text())


def osds_by_node(drill) -> dict[str, list[int]]:
    return {n["name"]: list(n["osds"]) for n in raw(drill)["nodes"] if n.get("osd_devices")}


def marked_out(drill) -> set[int]:
    return {int(k) for k in (raw(drill)["ceph"].get("marked_out") or {})}


def deployment(drill, name: str) -> dict:
    """What the state stores for rook-ceph/NAME beyond the built cluster ({} when untouched)."""
    return (raw(drill).get("deployments") or {}).get(f"rook-ceph/{name}", {})


def operator_replicas(drill) -> int:
    return deployment(drill, "rook-ceph-operator").get("replicas", 1)


def osd_uuid(drill, osd: int) -> str:
    dump = json.loads(drill.tool("kubectl", "-n", "rook-ceph", "exec", "deploy/rook-ceph-tools", "--", "ceph", "osd",
                                 "dump", "-f", "json").stdout)
    return next(o["uuid"] for o in dump["osds"] if o["osd"] == osd)
