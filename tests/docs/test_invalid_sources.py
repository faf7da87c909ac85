"""An invalid cluster.yaml or runbook stops the build before the site directory is touched, and says why."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from homeops import ClusterInvalid, load_cluster
from tests.docs.notebooks import make_notebook
from tests.docs.site_build import ROOT, build_site, copy_project
from tests.docs.site_snapshot import snapshot, staging_leftovers


@pytest.fixture
def previous_site(site: Path, tmp_path: Path) -> Path:
    """A private copy of the session's built site, for a failed build to leave alone."""
    return Path(shutil.copytree(site, tmp_path / "previous-site"))


def broken_copy(tmp_path: Path, old: str, new: str) -> Path:
    text = (ROOT / "cluster.yaml").read_text()
    assert old in text
    path = tmp_path / "cluster.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("talos: v", "talos: "),  # a version without its v
        ("pod_cidr: 10.42.0.0/16", "pod_cidr: 10.42.0.1/16"),  # host bits set
    ],
    ids=["version-without-v", "cidr-with-host-bits"],
)
def test_invalid_cluster_yaml_fails_the_build_and_leaves_the_previous_site(previous_site, tmp_path, old, new):
    broken = broken_copy(tmp_path, old, new)
    with pytest.raises(ClusterInvalid) as invalid:
        load_cluster(broken)
    before = snapshot(previous_site)

    build = build_site(ROOT, previous_site, HOMEOPS_CONFIG=str(broken))

    assert build.returncode != 0
    for problem in invalid.value.problems:
        assert str(problem) in build.output
    assert "Traceback" not in build.output
    assert "Cleaning site directory" not in build.output
    assert snapshot(previous_site) == before
    assert staging_leftovers(previous_site) == []


def test_missing_cluster_yaml_is_named_without_a_traceback(previous_site, tmp_path):
    before = snapshot(previous_site)
    build = build_site(ROOT, previous_site, HOMEOPS_CONFIG=str(tmp_path / "absent.yaml"))
    assert build.returncode != 0
    assert "absent.yaml" in build.output and "Traceback" not in build.output
    assert snapshot(previous_site) == before


def test_a_runbook_without_a_parameters_cell_fails_the_build_naming_the_notebook(previous_site, tmp_path):
    project = copy_project(tmp_path / "project")
    site_dir = previous_site
    before = snapshot(site_dir)
    notebook = make_notebook(project / "runbooks" / "broken.ipynb", "x = 1  # x", [])
    notebook.write_text(notebook.read_text().replace('"parameters"', '"setup"'))

    build = build_site(project, site_dir)

    assert build.returncode != 0
    assert "broken.ipynb: needs exactly one cell tagged 'parameters', found 0" in build.output
    assert "Traceback" not in build.output
    assert snapshot(site_dir) == before
