"""No value of cluster.yaml is typed by hand into the docs or the runbooks' Markdown: macros bring them in."""

from __future__ import annotations

import json
import re
from pathlib import Path

from homeops import load_cluster
from tests.docs.site_build import ROOT


def cluster_values(cluster_yaml: Path) -> set[str]:
    """Every address, network, version and the schematic ID of a cluster file."""
    cluster = load_cluster(cluster_yaml)
    values = {address for address, _owner, _kind in cluster.addresses()}
    net = cluster.network
    values |= {str(net.node_cidr), str(net.pod_cidr), str(net.service_cidr), cluster.talos.schematic_id}
    values |= {v for v in cluster.versions.model_dump().values() if v}
    return values


def markdown_sources(project: Path) -> dict[str, str]:
    """docs/**/*.md, and each Markdown cell of each runbook notebook."""
    sources = {p.relative_to(project).as_posix(): p.read_text(encoding="utf-8")
               for p in sorted((project / "docs").rglob("*.md"))}
    for notebook in sorted((project / "runbooks").glob("*.ipynb")):
        cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
        for index, cell in enumerate(cells):
            if cell.get("cell_type") == "markdown":
                source = cell.get("source", "")
                sources[f"{notebook.relative_to(project)} cell {index}"] = "".join(source) if isinstance(source, list) else source
    return sources


def typed_values(project: Path) -> list[str]:
    found = []
    for value in sorted(cluster_values(project / "cluster.yaml")):
        token = re.compile(rf"(?<![\w.]){re.escape(value)}(?![\w]|\.\d)")
        found += [f"{where}: {value}" for where, text in markdown_sources(project).items() if token.search(text)]
    return found


def test_no_cluster_yaml_value_is_typed_into_docs_or_runbook_markdown():
    assert typed_values(ROOT) == []


def test_the_scan_finds_a_typed_address_and_version(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "cluster.yaml").write_text((ROOT / "cluster.yaml").read_text())
    cluster = load_cluster(ROOT / "cluster.yaml")
    (tmp_path / "docs" / "page.md").write_text(f"The API is at {cluster.network.control_plane_vip}.\n")
    notebook = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": [f"Talos {cluster.versions.talos}\n"]}]}
    (tmp_path / "runbooks" / "typed.ipynb").write_text(json.dumps(notebook))
    assert typed_values(tmp_path) == [
        f"docs/page.md: {cluster.network.control_plane_vip}",
        f"runbooks/typed.ipynb cell 0: {cluster.versions.talos}",
    ]
