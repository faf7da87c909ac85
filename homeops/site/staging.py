"""A site is built beside the published one and swapped in only when the whole build succeeded.

MkDocs empties its site directory before it renders the first page, so a page that fails to
render, a broken link under --strict or a plugin error used to leave readers (and `mkdocs serve`)
with half a site or none. Here the build writes into a fresh sibling directory; `publish` renames
it over the old one, `discard` removes it, and the old site is never opened for writing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def _default_mode() -> int:
    # mkdtemp makes 0700 directories; a published site is read by a web server as any other user.
    umask = os.umask(0)
    os.umask(umask)
    return 0o777 & ~umask


class StagedSite:
    """A build directory next to `target` (same filesystem, so the swap is a rename)."""

    def __init__(self, target: Path, *, keep_previous: bool = False) -> None:
        self.target = Path(os.path.abspath(target))
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.directory = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.building-", dir=self.target.parent))
        os.chmod(self.directory, _default_mode())
        if keep_previous and self.target.is_dir():
            # A dirty build only rewrites what changed, so it starts from the published files.
            shutil.copytree(self.target, self.directory, symlinks=True, dirs_exist_ok=True)

    def publish(self) -> None:
        """Put the built site where the old one was; the old one is removed afterwards."""
        if not self.directory.exists():
            return
        previous = self.directory.with_name(self.directory.name + ".previous")
        had_previous = os.path.lexists(self.target)
        try:
            if had_previous:
                os.rename(self.target, previous)
        except OSError:
            # A mount point (or a directory we may not rename) keeps its inode: swap what is inside.
            self._replace_contents()
            return
        os.rename(self.directory, self.target)
        if had_previous:
            shutil.rmtree(previous, ignore_errors=True)

    def discard(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def _replace_contents(self) -> None:
        for entry in list(self.target.iterdir()):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        for entry in list(self.directory.iterdir()):
            os.rename(entry, self.target / entry.name)
        self.discard()
