"""Mistakes in a page fail the strict build and name what is wrong."""

from __future__ import annotations

from tests.docs.site_build import build_site, copy_project


def test_a_misspelt_cluster_field_fails_the_build(tmp_path):
    project = copy_project(tmp_path / "project")
    page = project / "docs" / "contributing.md"
    page.write_text(page.read_text() + "\nThe API: {{ cluster.network.control_plane_vpi }}\n")

    build = build_site(project, project / "site")

    assert build.returncode != 0
    assert "contributing.md" in build.output
    assert "has no attribute 'control_plane_vpi'" in build.output


def test_a_link_to_a_missing_anchor_fails_the_build(tmp_path):
    project = copy_project(tmp_path / "project")
    page = project / "docs" / "contributing.md"
    page.write_text(page.read_text() + "\nSee [the VIP](networking/index.md#no-such-section).\n")

    build = build_site(project, project / "site")

    assert build.returncode != 0
    assert "'#no-such-section'" in build.output and "contributing.md" in build.output
