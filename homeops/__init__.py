"""home-ops: one cluster.yaml feeding the documentation site, the runbooks and the cluster's twin.

Names are resolved lazily: the twin's fake tools import `homeops.twin` on every call and must
not pay for pydantic and PyYAML.
"""

from __future__ import annotations

from homeops.lazy import exports

_EXPORTS = {
    "load_cluster": "homeops.cluster.loader",
    "check_cluster": "homeops.cluster.loader",
    "Cluster": "homeops.cluster.model",
    "LoadBalancer": "homeops.cluster.model",
    "Node": "homeops.cluster.model",
    "ClusterInvalid": "homeops.cluster.loader",
    "Problem": "homeops.safe_yaml.problems",
}

__all__ = list(_EXPORTS)

__getattr__ = exports(__name__, _EXPORTS)
