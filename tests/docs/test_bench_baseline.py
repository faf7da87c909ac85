"""The docs build benchmark compares like with like: its plain MkDocs + Material baseline builds the
same pages, with the same text, as the real site (bench/docs_build.py).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from mkdocs.utils.yaml import yaml_load

from tests.docs.html_text import article_text
from tests.docs.site_build import ROOT, SITE_ENV


def load_bench():
    spec = importlib.util.spec_from_file_location("docs_build_bench", ROOT / "bench" / "docs_build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pages(site_dir: Path) -> dict[str, str]:
    return {p.relative_to(site_dir).as_posix(): article_text(p.read_text(encoding="utf-8"))
            for p in sorted(site_dir.rglob("*.html"))}


def search_entries(site_dir: Path) -> list[tuple[str, str, str]]:
    docs = json.loads((site_dir / "search" / "search_index.json").read_text(encoding="utf-8"))["docs"]
    return sorted((d["location"], d["title"], d["text"]) for d in docs)


def test_the_plain_baseline_builds_the_same_pages_as_the_site(tmp_path, monkeypatch):
    for name in SITE_ENV:
        monkeypatch.delenv(name, raising=False)
    # Records committed in records/ add pages the baseline does not build (bench/maintenance_log.py measures them).
    (tmp_path / "no-records").mkdir()
    monkeypatch.setenv("HOMEOPS_RECORDS", str(tmp_path / "no-records"))
    bench = load_bench()
    env = bench.python_env(None)
    plain = bench.plain_project(tmp_path / "work", env)
    bench.mkdocs_build(plain, tmp_path / "plain-site", env)
    bench.mkdocs_build(ROOT / "mkdocs.yml", tmp_path / "real-site", env)

    plain_pages, real_pages = pages(tmp_path / "plain-site"), pages(tmp_path / "real-site")
    assert sorted(plain_pages) == sorted(real_pages)
    assert "runbooks/worker-upgrade/index.html" in plain_pages
    different = [name for name in real_pages if plain_pages[name] != real_pages[name]]
    assert different == [], f"the baseline's text differs on {different}"
    assert search_entries(tmp_path / "plain-site") == search_entries(tmp_path / "real-site")
    # The baseline is plain MkDocs + Material: no plugin but search, no hooks.
    with plain.open(encoding="utf-8") as f:
        plain_config = yaml_load(f)
    assert plain_config["plugins"] == ["search"]
    assert "hooks" not in plain_config

