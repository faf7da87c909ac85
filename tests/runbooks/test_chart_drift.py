"""cluster-health names a HelmRelease whose running chart differs from the one kubernetes/ renders."""

from __future__ import annotations

import pytest

from homeops.twin import state

pytestmark = pytest.mark.slow


def test_a_release_running_another_chart_version_is_named_with_both_versions(make_drill):
    drill = make_drill({"reboot_seconds": 0.3})
    with state.change(str(drill.twin)) as current:
        # the upgrade to the rendered chart has not happened: Helm still runs the previous release
        current["flux"]["running"]["rook-ceph/rook-ceph-cluster"] = "v1.17.8"

    result = drill.run("cluster-health")

    assert result.code == 1, result.stdout + result.stderr
    assert ("chart versions: HelmRelease rook-ceph/rook-ceph-cluster runs chart rook-ceph-cluster v1.17.8, "
            "kubernetes/ renders v1.18.3") in result.last_line
    assert result.changes == []


def test_every_release_on_its_rendered_chart_passes_the_chart_check(make_drill):
    drill = make_drill({"reboot_seconds": 0.3})
    result = drill.run("cluster-health")
    assert result.code == 0, result.stdout + result.stderr
    assert "HelmReleases run their rendered chart version" in result.stdout
