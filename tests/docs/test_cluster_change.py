"""Change cluster.yaml in a copy, rebuild: no old value is left anywhere a reader or a search engine looks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from homeops import load_cluster
from tests.docs.notebooks import make_notebook
from tests.docs.site_build import ROOT, build_site, copy_project, published_files

OLD = load_cluster(ROOT / "cluster.yaml")
CHANGES = {  # (what, old value, new value); new values appear nowhere in the original site
    "vip": (str(OLD.network.control_plane_vip), "10.0.50.57"),
    "load balancer": (str(OLD.network.load_balancers[0].address), "10.0.50.177"),
    "talos": (OLD.versions.talos, "v1.11.97"),
    "kubernetes": (OLD.versions.kubernetes, "v1.34.93"),
}
NEW_WORKER = ("worker-77", "10.0.10.77")


def occurrences(value: str, files: dict[str, str]) -> list[str]:
    """Files holding `value` as a whole token; a version also counts without its leading v."""
    bare = value.removeprefix("v")
    token = re.compile(rf"(?<![\w.])v?{re.escape(bare)}(?![\w.]*\d)" if value.startswith("v")
                       else rf"(?<![\w.]){re.escape(value)}(?![\w]|\.\d)")
    return [name for name, text in files.items() if token.search(text)]


def changed_cluster_yaml() -> str:
    text = (ROOT / "cluster.yaml").read_text()
    for what, (old, new) in CHANGES.items():
        pattern = {"vip": rf"(control_plane_vip: ){re.escape(old)}",
                   "load balancer": rf"(address: ){re.escape(old)}",
                   "talos": rf"(\n  talos: ){re.escape(old)}",
                   "kubernetes": rf"(\n  kubernetes: ){re.escape(old)}"}[what]
        text, count = re.subn(pattern, rf"\g<1>{new}", text, count=1)
        assert count == 1, f"cannot change {what} in cluster.yaml"
    name, address = NEW_WORKER
    return text.rstrip("\n") + f"\n  - name: {name}\n    role: worker\n    address: {address}\n"


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    project = copy_project(tmp_path_factory.mktemp("changed") / "project")
    (project / "cluster.yaml").write_text(changed_cluster_yaml())
    # Macros run in runbook pages too: this notebook's Markdown names the VIP and Talos through them.
    make_notebook(project / "runbooks" / "macro-probe.ipynb", 'config = "cluster.yaml"  # cluster file',
                  [("Step 1: Reach the API",
                    "Through {{ cluster.network.control_plane_vip }}, on Talos {{ cluster.versions.talos }}.")],
                  title="Macro probe",
                  purpose="Workers: {{ cluster.workers | length }}.")
    load_cluster(project / "cluster.yaml")  # the changed file must itself be valid
    build = build_site(project, project / "site")
    assert build.returncode == 0, build.output
    return published_files(project / "site")


@pytest.mark.parametrize("what", CHANGES)
def test_the_old_value_is_gone_and_the_new_one_is_published(site: Path, rebuilt, what):
    old, new = CHANGES[what]
    original = published_files(site)
    assert occurrences(old, original), f"the original site never showed {what} {old}: the test proves nothing"
    assert not occurrences(new, original)
    assert occurrences(old, rebuilt) == []
    assert "index.html" in occurrences(new, rebuilt)
    assert "search/search_index.json" in occurrences(new, rebuilt)


def test_an_added_worker_appears_in_the_node_table_and_the_network_page(rebuilt):
    name, address = NEW_WORKER
    for page in ("index.html", "networking/index.html"):
        assert f"<td>{name}</td>" in rebuilt[page]
        assert address in rebuilt[page]
    assert "3 worker nodes" not in rebuilt["index.html"] and "4 worker nodes" in rebuilt["index.html"].replace("\n", " ")


def test_macros_render_inside_runbook_pages(rebuilt):
    page = rebuilt["runbooks/macro-probe/index.html"]
    assert "Workers: 4." in page
    assert f"Through {CHANGES['vip'][1]}, on Talos {CHANGES['talos'][1]}." in page
    assert "{{" not in page
