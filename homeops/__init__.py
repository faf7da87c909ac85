"""home-ops: one cluster.yaml feeding the documentation site, the runbooks and the cluster's twin.

Names are resolved lazily: the twin's fake tools import `homeops.twin` on every call and must
not pay for pydantic and PyYAML.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "load_cluster": "homeops.cluster.loader",
    "check_cluster": "homeops.cluster.loader",
    "Cluster": "homeops.cluster.model",
    "LoadBalancer": "homeops.cluster.model",
    "Node": "homeops.cluster.model",
    "ClusterInvalid": "homeops.cluster.problems",
    "Problem": "homeops.cluster.problems",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'homeops' has no attribute {name!r}")
