"""Ordinary cluster output that redaction must leave exactly as it is.

The layouts are the real tools' (see ../shared/reference/cluster-tools.md); values are this
project's kind: IPs, versions, sha256 digests, boot IDs and UUIDs, Ceph and Flux status text.
"""

from __future__ import annotations

import json

DIGEST = "sha256:4e5b4c6a79c89769ab1fbc526361c0c4b8690e3b8f3c1d2e5a6b7c8d9e0f1a2b"
SCHEMATIC = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba"

ORDINARY = {
    "kubectl get nodes -o wide": (
        "NAME       STATUS   ROLES           AGE   VERSION   INTERNAL-IP   EXTERNAL-IP   OS-IMAGE          "
        "KERNEL-VERSION   CONTAINER-RUNTIME\n"
        "cp-1       Ready    control-plane   41d   v1.34.1   10.0.10.11    <none>        Talos (v1.11.1)   "
        "6.12.48-talos    containerd://2.1.4\n"
        "worker-2   Ready,SchedulingDisabled    <none>   41d   v1.34.1   10.0.10.22    <none>        "
        "Talos (v1.11.1)   6.12.48-talos    containerd://2.1.4\n"
    ),
    "kubectl get node -o json (nodeInfo)": json.dumps({
        "nodeInfo": {
            "bootID": "3c2f9a1e-8b7d-4c6e-9f0a-1b2c3d4e5f60", "machineID": "8f14e45fceea167a5a36dedd4bea2543",
            "systemUUID": "4c4c4544-0042-3510-8057-b4c04f4d4e32", "kernelVersion": "6.12.48-talos",
            "osImage": "Talos (v1.11.1)", "containerRuntimeVersion": "containerd://2.1.4",
            "kubeletVersion": "v1.34.1", "architecture": "amd64",
        },
        "images": [{"names": [f"ghcr.io/siderolabs/kubelet@{DIGEST}", "ghcr.io/siderolabs/kubelet:v1.34.1"],
                    "sizeBytes": 104857600}],
        "metadata": {"uid": "6a1b2c3d-4e5f-6789-abcd-ef0123456789", "resourceVersion": "123456",
                     "annotations": {"talos.dev/owned-labels": "[\"node-role.kubernetes.io/worker\"]"}},
        "spec": {"podCIDR": "10.244.2.0/24", "taints": [{"key": "node.kubernetes.io/unschedulable",
                                                           "effect": "NoSchedule"}]},
    }, indent=2),
    "talosctl version": (
        "Client:\n\tTag:         v1.11.1\n\tSHA:         4e5b4c6a\n\tBuilt:       \n\tGo version:  go1.24.6\n"
        "\tOS/Arch:     linux/amd64\nServer:\n\tNODE:        10.0.10.22\n\tTag:         v1.11.1\n"
        "\tSHA:         4e5b4c6a\n\tEnabled:     RBAC\n"
    ),
    "talosctl upgrade image": f"talosctl -n 10.0.10.22 upgrade -i factory.talos.dev/installer/{SCHEMATIC}:v1.11.1 "
                              "--timeout 900s",
    "talosctl etcd members": (
        "NODE         ID                 HOSTNAME   PEER URLS                  CLIENT URLS                LEARNER\n"
        "10.0.10.11   4a8f7e2b9c1d3e5f   cp-1       https://10.0.10.11:2380    https://10.0.10.11:2379    false\n"
    ),
    "ceph status": (
        "  cluster:\n    id:     a7f64266-0894-4f1e-a635-d0aeaca0e993\n    health: HEALTH_WARN\n"
        "            noout flag(s) set\n\n  services:\n    mon: 3 daemons, quorum a,b,c (age 2h)\n"
        "    mgr: a(active, since 2h), standbys: b\n    osd: 6 osds: 6 up (since 2h), 6 in (since 5w)\n"
        "         flags noout\n\n  data:\n    pools:   3 pools, 97 pgs\n    objects: 1.2k objects, 4.1 GiB\n"
        "    usage:   12 GiB used, 588 GiB / 600 GiB avail\n    pgs:     97 active+clean\n"
    ),
    "ceph status -f json": json.dumps({
        "fsid": "a7f64266-0894-4f1e-a635-d0aeaca0e993", "health": {"status": "HEALTH_OK", "checks": {}},
        "pgmap": {"pgs_by_state": [{"state_name": "active+clean", "count": 97}], "num_pgs": 97},
        "osdmap": {"num_osds": 6, "num_up_osds": 6, "num_in_osds": 6}, "fsmap": {"epoch": 1},
    }),
    "ceph osd tree": (
        "ID  CLASS  WEIGHT   TYPE NAME          STATUS  REWEIGHT  PRI-AFF\n"
        "-1         0.58557  root default\n-3         0.19519      host worker-1\n"
        " 0    ssd  0.19519          osd.0          up   1.00000  1.00000\n"
    ),
    "flux get kustomizations": (
        "NAME         REVISION                SUSPENDED  READY  MESSAGE\n"
        "flux-system  main@sha1:0d6c3f2a9e8b  False      True   Applied revision: main@sha1:0d6c3f2a9e8b7c6d5e4f"
        "3a2b1c0d9e8f7a6b5c4d\n"
    ),
    "nested maps under credential words": json.dumps({"token": {"secretRef": {"name": "cloudflare-api-token"}},
                                                       "password": {"valueFrom": "db"}}),
    "flux kustomization JSON": json.dumps({
        "spec": {"decryption": {"provider": "sops", "secretRef": {"name": "sops-age"}}, "interval": "10m",
                 "path": "./kubernetes/apps", "sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
        "status": {"lastAppliedRevision": "refs/heads/main@sha1:0d6c3f2a9e8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d",
                   "conditions": [{"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded"}]},
    }),
    "cilium status": (
        "KVStore:                 Disabled\nKubernetes:              Ok   1.34 (v1.34.1) [linux/amd64]\n"
        "Cilium:                  Ok   1.18.2 (v1.18.2-5bc0a3f1)\nIPAM:                    IPv4: 7/254 allocated from "
        "10.244.1.0/24\n"
    ),
    # A ConfigMap's data shares the Secret's name: plain settings, not base64, stay.
    "kubectl get configmap -o json": json.dumps({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "rook-config-override", "namespace": "rook-ceph"},
        "data": {"config": "[global]\nosd_pool_default_size = 3\nmon_host = 10.0.10.11:6789", "mode": "active"},
    }, indent=4),
    "kubectl get configmap -o yaml": (
        "apiVersion: v1\ndata:\n  mode: active\n  osd_pool_default_size: \"3\"\nkind: ConfigMap\nmetadata:\n"
        "  name: rook-config-override\n  namespace: rook-ceph\n"
    ),
    "Lease JSON": json.dumps({"kind": "Lease", "metadata": {"name": "homeops-maintenance", "resourceVersion": "42"},
                              "spec": {"holderIdentity": "homeops-host-4242", "leaseDurationSeconds": 60,
                                       "renewTime": "2026-03-14T09:26:53.000000Z"}}),
    "words that sound like secrets": (
        "tokens: 5\nkey: noout\npasswords: 3 rotated\nsecretName: gateway-tls\nkind: Secret\n--token-ttl 24h\n"
        "Bearer tokens are redacted before anything is saved\nBasic authentication is disabled\n"
        "token: \"\"\nsecret: true\nauth_cluster_required: cephx\n"
    ),
    "public material": (
        "recipient: age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\n"
        "PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\n"
        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUXYZ\n-----END CERTIFICATE-----\n"
        "    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t\n"
    ),
    # What is not a credential stays: names without a credential word, `valueFrom:` references, a public key.
    "container env without secret values (kubectl get pod -o yaml)": (
        "    env:\n    - name: AWS_REGION\n      value: us-west-2\n    - name: BUCKET\n      value: talos-backups\n"
        "    - name: AGE_X25519_PUBLIC_KEY\n      value: age1khpnnl86pzx96ttyjmldptsl5yn2v9jgmmzcjcufvk00ttkph9zs0ytgec\n"
        "    - name: AWS_SECRET_ACCESS_KEY\n      valueFrom:\n        secretKeyRef:\n          key: secret-access-key\n"
        "          name: talos-backup-s3\n    - name: GITHUB_TOKEN\n      value: \"\"\n"
    ),
    "container env without secret values (kubectl get pod -o json)": json.dumps({"env": [
        {"name": "AWS_REGION", "value": "us-west-2"}, {"name": "BUCKET", "value": "talos-backups"},
        {"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": {"secretKeyRef": {"key": "secret-access-key",
                                                                          "name": "talos-backup-s3"}}}]}, indent=4),
    "a runbook's plan lines": (
        "PLAN: kubectl drain worker-2 --ignore-daemonsets --delete-emptydir-data --timeout=600s\n"
        "PLAN: kubectl -n rook-ceph exec deploy/rook-ceph-tools -- ceph osd set-group noout worker-2\n"
        "PLAN: flux reconcile kustomization flux-system --with-source --timeout 5m\n"
    ),
}
