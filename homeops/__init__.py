"""home-ops: one cluster.yaml feeding the documentation site, the runbooks and the cluster's twin."""

from homeops.loader import load_cluster
from homeops.model import Cluster, LoadBalancer, Node
from homeops.problems import ClusterInvalid, Problem

__all__ = ["load_cluster", "Cluster", "ClusterInvalid", "LoadBalancer", "Node", "Problem"]
