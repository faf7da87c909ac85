"""The twin's `kubectl` and the Kubernetes API objects it shows: nodes, services, CephClusters, Leases."""
