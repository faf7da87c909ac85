"""The twin's `talosctl` and the Talos API it talks to: version, get, upgrade, upgrade-k8s, etcd, health."""
