"""Pages show the rendered files themselves: `rendered_file` renders what `homeops render` writes."""

from __future__ import annotations

import pytest

from homeops import load_cluster
from homeops.rendering.excerpt import NotRendered, RenderedFiles
from tests.rendering.conftest import ROOT

FILES = RenderedFiles(ROOT, ROOT / "cluster.yaml", load_cluster(ROOT / "cluster.yaml"))


def test_a_code_block_holds_the_committed_file_titled_by_its_path():
    block = FILES.code_block("talos/patches/all.yaml")
    committed = (ROOT / "talos/patches/all.yaml").read_text()
    assert block == f'```yaml title="talos/patches/all.yaml"\n{committed.rstrip()}\n```'


@pytest.mark.parametrize("path", ["talos/secrets.yaml", "talos/generated/controlplane.yaml", "cluster.yaml",
                                  "kubernetes/apps/no-such-app/helmrelease.yaml", "../etc/passwd"])
def test_a_file_the_render_does_not_write_fails_the_page(path):
    with pytest.raises(NotRendered, match="not a file cluster.yaml renders"):
        FILES.code_block(path)
