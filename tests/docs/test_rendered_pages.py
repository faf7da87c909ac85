"""The setup, networking and storage pages show the rendered files (rendered_file), not hand copies."""

from __future__ import annotations


def test_the_setup_pages_include_the_rendered_files(site):
    setup = (site / "getting-started" / "initial-setup" / "index.html").read_text()
    for path in ("talos/patches/all.yaml", "talos/patches/controlplane.yaml", "kubernetes/flux/apps.yaml",
                 "kubernetes/apps/kube-system/cilium/app/values.yaml", "kubernetes/flux/flux-system/kustomization.yaml"):
        assert path in setup
    assert "k8sServicePort" in setup and "cleanCiliumState" in setup
    networking = (site / "networking" / "index.html").read_text()
    assert "CiliumLoadBalancerIPPool" in networking and "HTTPRoute" in networking and "cloudflared tunnel" in networking
    rook = (site / "storage" / "rook-ceph-setup" / "index.html").read_text()
    assert "cephClusterSpec" in rook and "toolbox" in rook
