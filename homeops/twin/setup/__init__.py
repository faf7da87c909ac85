"""What the bootstrap does beyond talosctl's calls to nodes: files on the workstation (`talosctl gen`,
`talosctl config`, `sops`), the first objects in the cluster (`kubectl create namespace|secret`,
`kubectl apply --server-side`), Helm's Cilium release, `flux bootstrap github`, and `dig` at
k8s-gateway.

A twin made without maintenance mode is a bootstrapped cluster: no "setup" in its state means all of
it is done (Cilium deployed at the rendered version, the sops-age Secret there, Flux bootstrapped),
unless the twin has no CNI yet (state["cni"] false: made in maintenance mode), when none of it is.
"""
