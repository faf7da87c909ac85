"""The Rook operator's Deployment: its replicas, read and scaled through kubectl.

While it runs 0 replicas nothing reconciles the CephCluster: no OSD is started or replaced, no
noout is set by Rook's disruption controller, nothing restarts the mons (Rook's cluster shutdown
guidance, rook PR #15455, scales it down before the Ceph daemons and up again last).
"""

from __future__ import annotations

from dataclasses import dataclass

from homeops.gate import Gate
from homeops.tools import kubectl
from homeops.tools.decode import ToolOutputInvalid

NAMESPACE, NAME = "rook-ceph", "rook-ceph-operator"


@dataclass(frozen=True)
class Replicas:
    wanted: int  # spec.replicas
    ready: int  # status.readyReplicas (absent: 0)


def parse(document: dict) -> Replicas:
    spec, status = document.get("spec") or {}, document.get("status") or {}
    wanted = spec.get("replicas", 1)  # the API server defaults an unset spec.replicas to 1
    ready = status.get("readyReplicas", 0)
    if not isinstance(wanted, int) or isinstance(wanted, bool) or not isinstance(ready, int):
        raise ToolOutputInvalid(["kubectl", "get", "deployment", NAME], str(document)[:200],
                                "a Deployment with integer spec.replicas and status.readyReplicas")
    return Replicas(wanted, ready)


def replicas(*, timeout: float = kubectl.READ_TIMEOUT) -> Replicas:
    return parse(kubectl.get_json(["-n", NAMESPACE, "get", "deployment", NAME], timeout=timeout))


def scale(gate: Gate, count: int, *, why: str = "") -> None:
    """`kubectl -n rook-ceph scale deployment rook-ceph-operator --replicas=N` (kubectl prints
    `deployment.apps/rook-ceph-operator scaled`)."""
    gate.change(["kubectl", "-n", NAMESPACE, "scale", "deployment", NAME, f"--replicas={count}"],
                timeout=kubectl.CHANGE_TIMEOUT, why=why, about=f"the Rook operator's replicas ({count})",
                unsure="may be scaled")
