"""The cluster model: cluster.yaml read with positions, validated, and what is derived from it.

`homeops.safe_yaml` reads the YAML; `formats` and `model` type each value; `rules` relate several
fields; `loader` ties them together; `problems` is how every one of them reports; `talos_support` is the
one Talos → Kubernetes support table (stdlib only: the twin reads it on every call).
"""
