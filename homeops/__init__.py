"""home-ops: one cluster.yaml feeding the documentation site, the runbooks and the cluster's twin.

Names are resolved lazily: the twin's fake tools import `homeops.twin` on every call and must
not pay for pydantic and PyYAML.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "load_cluster": "homeops.loader",
    "check_cluster": "homeops.loader",
    "Cluster": "homeops.model",
    "LoadBalancer": "homeops.model",
    "Node": "homeops.model",
    "ClusterInvalid": "homeops.problems",
    "Problem": "homeops.problems",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'homeops' has no attribute {name!r}")
