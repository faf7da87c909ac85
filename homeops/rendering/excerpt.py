"""A rendered file as a page shows it: what cluster.yaml renders (the committed file, which
`homeops render --check` keeps identical), never a hand copy, in a code block titled by its path.

The tree is rendered once per build, on first use, from the same cluster.yaml the pages read, so a
page can never show a value the rest of the site no longer has (the site passes a `render` that
answers from a cache keyed by all the render's inputs: `homeops.site.render_cache`). Only files
the render writes may be shown: a typo, or a secret such as talos/secrets.yaml, fails the build.
"""

from __future__ import annotations

import re
from pathlib import Path

from homeops.cluster.model import Cluster
from homeops.rendering import tree
from homeops.rendering.render import render


class NotRendered(LookupError):
    """The page asked for a file that `homeops render` does not write."""


class RenderedFiles:
    def __init__(self, project: Path, config: Path, cluster: Cluster, render=render):
        self._project, self._config, self._cluster = project, config, cluster
        self._render = render
        self._files: dict[str, str] | None = None

    def text(self, path: str) -> str:
        if self._files is None:
            self._files = self._render(self._project, self._config, self._cluster)
        if path not in self._files:
            known = "talos/, kubernetes/, .sops.yaml" if not tree.owned(path) else "run `homeops render`?"
            raise NotRendered(f"rendered_file({path!r}): not a file cluster.yaml renders ({known})")
        return self._files[path]

    def code_block(self, path: str, language: str | None = None) -> str:
        text = self.text(path)
        # a fence longer than any run of backticks in the file, so the file cannot close it
        longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
        fence = "`" * max(3, longest + 1)
        language = language or ("yaml" if path.endswith((".yaml", ".yml")) else "text")
        return f'{fence}{language} title="{path}"\n{text.rstrip(chr(10))}\n{fence}'
