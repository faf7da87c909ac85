"""`homeops render [--check]`: the committed tree is what cluster.yaml renders, and nothing else changes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.rendering.conftest import ROOT, render, snapshot


def test_the_committed_tree_is_what_cluster_yaml_renders(capsys):
    assert render(ROOT, "--check") == 0, capsys.readouterr().err
    assert "files are what" in capsys.readouterr().out


def test_check_lists_every_hand_edit_missing_file_and_stray_file_and_changes_nothing(project: Path, capsys):
    values = project / "kubernetes/apps/kube-system/cilium/app/values.yaml"
    values.write_text(values.read_text().replace("kubeProxyReplacement: true", "kubeProxyReplacement: false"))
    (project / "talos/nodes/worker-3.yaml").unlink()
    (project / "kubernetes/apps/network/stray.yaml").write_text("kind: ConfigMap\n")
    before = snapshot(project)

    assert render(project, "--check") == 1

    lines = capsys.readouterr().err.splitlines()
    assert lines[:3] == [
        "kubernetes/apps/kube-system/cilium/app/values.yaml: differs from what cluster.yaml renders",
        "kubernetes/apps/network/stray.yaml: should not be there: cluster.yaml does not render it",
        "talos/nodes/worker-3.yaml: is missing: cluster.yaml renders it",
    ]
    assert lines[3].startswith("homeops render --check: 3 file(s) are not what")
    assert snapshot(project) == before


def test_render_restores_the_tree_and_removes_what_it_no_longer_renders(project: Path, capsys):
    committed = snapshot(project)
    (project / "talos/patches/all.yaml").write_text("machine: {}\n")
    (project / "kubernetes/apps/network/stray.yaml").write_text("kind: ConfigMap\n")

    assert render(project) == 0

    out = capsys.readouterr().out
    assert "updated talos/patches/all.yaml" in out and "removed kubernetes/apps/network/stray.yaml" in out
    assert snapshot(project) == committed


def test_files_other_steps_write_are_neither_reported_nor_removed(project: Path, capsys):
    written_by_others = {
        "kubernetes/flux/flux-system/gotk-components.yaml": "# flux bootstrap\n",
        "kubernetes/flux/flux-system/gotk-sync.yaml": "# flux bootstrap\n",
        "talos/generated/controlplane.yaml": "# talosctl gen config\n",
        "talos/secrets.yaml": "# talosctl gen secrets\n",
        "kubernetes/apps/network/cloudflared/extra.sops.yaml": "# sops --encrypt\n",
    }
    for name, text in written_by_others.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)

    assert render(project, "--check") == 0
    assert render(project) == 0

    for name, text in written_by_others.items():
        assert (project / name).read_text() == text


def test_an_invalid_cluster_yaml_renders_nothing_and_touches_nothing(project: Path, capsys):
    cluster = project / "cluster.yaml"
    cluster.write_text(cluster.read_text().replace("control_plane_vip: 10.0.50.50", "control_plane_vip: 10.0.50.500")
                       .replace("install_disk: /dev/nvme0n1", "install_disk: nvme0n1", 1))
    (project / "talos/patches/all.yaml").write_text("machine: {}\n")  # a stale file render would otherwise fix
    before = snapshot(project)

    assert render(project) == 2

    err = capsys.readouterr().err.splitlines()
    assert any(line.endswith("network.control_plane_vip: '10.0.50.500' is not an IPv4 address") for line in err)
    assert any(": nodes[0].install_disk: 'nvme0n1' is not a disk device path" in line for line in err)
    assert err[-1].endswith("is invalid: nothing rendered, nothing changed")
    assert snapshot(project) == before


@pytest.mark.parametrize("broken, message", [
    ("{{ cluster.no_such_key }}", "'homeops.cluster.model.Cluster object' has no attribute 'no_such_key'"),
    ("{% for %}", "templates/kubernetes/apps/network/zz-broken.yaml.j2:1:"),
    ("key: [unclosed\n", "kubernetes/apps/network/zz-broken.yaml:2:1: the rendered file is not YAML"),
])
def test_a_template_that_fails_leaves_every_previous_file_intact(project: Path, capsys, broken, message):
    # sorts last, so every other template has already rendered when this one fails
    (project / "templates/kubernetes/apps/network/zz-broken.yaml.j2").write_text(broken)
    (project / "talos/patches/all.yaml").write_text("machine: {}\n")
    before = snapshot(project)

    assert render(project) == 1

    err = capsys.readouterr().err
    assert message in err and err.rstrip().endswith("homeops render: nothing changed")
    assert snapshot(project) == before


def test_a_version_bump_is_one_line_of_cluster_yaml(project: Path, capsys):
    cluster = project / "cluster.yaml"
    cluster.write_text(cluster.read_text().replace("rook_ceph: v1.18.3", "rook_ceph: v1.18.4"))

    assert render(project, "--check") == 1

    changed = [line.split(":")[0] for line in capsys.readouterr().err.splitlines()[:-1]]
    assert changed == ["kubernetes/apps/rook-ceph/cluster/helmrelease.yaml",
                       "kubernetes/apps/rook-ceph/operator/helmrelease.yaml"]
    assert render(project) == 0
    for path in changed:
        assert "version: v1.18.4" in (project / path).read_text()


def test_without_an_age_public_key_there_is_no_sops_yaml(project: Path, capsys):
    cluster = project / "cluster.yaml"
    lines = [line for line in cluster.read_text().splitlines(keepends=True) if "age_public_key:" not in line]
    cluster.write_text("".join(lines))

    assert render(project) == 0

    assert "removed .sops.yaml" in capsys.readouterr().out
    assert not (project / ".sops.yaml").exists()


def test_every_secret_a_setup_step_writes_is_ignored_by_git():
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    for entry in ("age.key", "talosconfig", "kubeconfig", "/talos/generated/", "/talos/secrets.yaml"):
        assert entry in ignored
