"""A build does each piece of work on its sources once, and a rebuild sees what changed.

The macros (runbook index and links) and the hook (runbook pages and nav) need the same runbooks:
they share one parse. cluster.yaml is validated once, when the config loads. `mkdocs serve`
rebuilds in the same process, so a notebook changed between two builds must be parsed again.
The builds here run in this process, as `mkdocs serve` runs them.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import homeops.cluster.loader
from homeops.site import sources
from tests.docs.notebooks import make_notebook
from tests.docs.site_build import SITE_ENV, build_in_process, copy_project


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """How often cluster.yaml is checked and the runbooks directory is parsed."""
    calls: Counter = Counter()
    check_cluster, list_runbooks = homeops.cluster.loader.check_cluster, sources.list_runbooks

    def counting_check(path):
        calls["check cluster.yaml"] += 1
        return check_cluster(path)

    def counting_list(directory):
        calls["parse runbooks"] += 1
        return list_runbooks(directory)

    # load_cluster looks check_cluster up in its module at each call, so this counts its calls too.
    monkeypatch.setattr(homeops.cluster.loader, "check_cluster", counting_check)
    monkeypatch.setattr(sources, "list_runbooks", counting_list)
    for name in SITE_ENV:
        monkeypatch.delenv(name, raising=False)
    return calls


def test_a_build_checks_cluster_yaml_once_and_parses_the_runbooks_once(tmp_path, counted):
    # A fresh project directory: no parse of an earlier test in this process can be reused.
    project = copy_project(tmp_path / "project")

    build_in_process(project, tmp_path / "site")

    assert counted == {"check cluster.yaml": 1, "parse runbooks": 1}
    assert (tmp_path / "site" / "runbooks" / "worker-upgrade" / "index.html").is_file()


def test_a_rebuild_parses_a_changed_notebook_again_and_shows_the_change(tmp_path, counted):
    project = copy_project(tmp_path / "project")
    notebook = make_notebook(project / "runbooks" / "drain-node.ipynb", "node = 'worker-1'  # the node",
                             [("Step 1: cordon", "Stops new pods.")], title="Drain a node")
    build_in_process(project, tmp_path / "site")
    page = tmp_path / "site" / "runbooks" / "drain-node" / "index.html"
    assert "Drain a node" in page.read_text()

    make_notebook(notebook, "node = 'worker-1'  # the node", [("Step 1: cordon", "Stops new pods.")],
                  title="Drain one worker node")
    build_in_process(project, tmp_path / "site")

    assert "Drain one worker node" in page.read_text()
    assert counted == {"check cluster.yaml": 2, "parse runbooks": 2}
