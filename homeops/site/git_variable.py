"""mkdocs-macros' `git` variable, read from git when a page first uses it rather than at every build.

mkdocs-macros fills its `git` variable (commit, tag, author, date...) in its `on_config` by running
twelve git commands, a tenth of a second or more of every build and of every rebuild under `mkdocs
serve`, and it has no option to skip them. No page of this site uses the variable. `defer()` makes
the plugin's function return a mapping that runs the plugin's own commands the first time a key is
read, so a page that does use `{{ git.commit }}` still gets what the plugin would have given it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping


class DeferredGitInfo(Mapping):
    def __init__(self, read: Callable[[], dict | None]):
        self._read = read
        self._info: dict | None = None

    def _loaded(self) -> dict:
        if self._info is None:
            self._info = self._read() or {}  # the plugin returns None when git is not installed
        return self._info

    def __getitem__(self, key: str):
        return self._loaded()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())

    def __repr__(self) -> str:
        # mkdocs-macros writes every variable's text to its debug log at each build: not a reason to run git.
        return "<git information, read when a page uses it>"


def defer() -> None:
    """Make mkdocs-macros' `git` variable a `DeferredGitInfo` (idempotent; before the plugin's on_config)."""
    from mkdocs_macros import context

    if hasattr(context.get_git_info, "reads"):
        return
    read = context.get_git_info

    def get_git_info() -> DeferredGitInfo:
        return DeferredGitInfo(read)

    get_git_info.reads = read
    context.get_git_info = get_git_info
