"""A render compiles each template once per process, and still shows an edited template at once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import jinja2
import pytest

from homeops import load_cluster
from homeops.rendering import compiled_templates, render, tree


@pytest.fixture
def compiled(monkeypatch) -> Counter:
    """How often each template is compiled, with this process's compiled templates forgotten."""
    monkeypatch.setattr(compiled_templates, "_CACHES", {})
    calls: Counter = Counter()
    compile_ = jinja2.Environment.compile

    def counting(self, source, name=None, *args, **kwargs):
        calls[name] += 1
        return compile_(self, source, name, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    return calls


def test_the_per_node_template_is_compiled_once_and_a_second_render_compiles_nothing(project: Path, compiled):
    cluster = load_cluster(project / "cluster.yaml")

    first = render.render(project, project / "cluster.yaml", cluster)
    assert compiled[tree.PER_NODE_NAME] == 1 and len(cluster.nodes) > 1  # one pass per node, one compile
    assert set(compiled.values()) == {1}

    compiled.clear()
    assert render.render(project, project / "cluster.yaml", cluster) == first
    assert compiled == {}


def test_an_edited_template_is_compiled_again_and_rendered_as_edited(project: Path, compiled):
    cluster = load_cluster(project / "cluster.yaml")
    render.render(project, project / "cluster.yaml", cluster)
    template = project / tree.TEMPLATES / "talos" / "patches" / "all.yaml.j2"
    template.write_text(template.read_text() + "# edited in place\n")
    compiled.clear()

    files = render.render(project, project / "cluster.yaml", cluster)

    assert files["talos/patches/all.yaml"].endswith("# edited in place\n")
    assert compiled == {"talos/patches/all.yaml.j2": 1}


def test_environments_that_compile_differently_never_share_code():
    plain, other = jinja2.Environment(), jinja2.Environment(block_start_string="<%", block_end_string="%>")
    same = jinja2.Environment()
    for env in (plain, other, same):
        compiled_templates.share(env)
    assert plain.bytecode_cache is same.bytecode_cache
    assert plain.bytecode_cache is not other.bytecode_cache
