"""What the site derives from a run record, kept between builds: keyed by the record's content.

A record's summary (its redacted reason costs half a millisecond of regular expressions) and its
rendered notebook (tens of milliseconds, and nbconvert's import over a second) only change when
the record's bytes change, or the code that derives them: the key is the sha256 of both. The cache
sits beside the records directory (`.records-cache/` next to `records/`, private, ignored by git),
not in it: `mkdocs serve` watches `records/`, and a cache written inside would make every rebuild
that fills it trigger another. When it cannot be written, everything is derived again at the next
build, which only costs time.

Finished pages (the theme around a rendered record) are kept too, in `pages/`, keyed by everything
they are made of, and a build *links* them into the site instead of writing a new file: a new file
is a new inode, and creating a thousand of them is most of what a thousand records cost a build
(about a millisecond each on some filesystems), removing them from the previous site as much again.
They are readable by anyone, as the site's files are (the directory around them stays private);
a file of the built site may share its inode with the cache, so nothing edits `site/` in place. A
finished page that no site links to any more (one link: the cache's) and that this build does not
use is removed, so the cache holds the pages of the sites that exist, not of every theme or
navigation the site ever had.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from homeops.site.cache_files import private_directory, write_whole

CACHE_DIR = ".records-cache"
PAGES_DIR = "pages"
_SITE = Path(__file__).resolve().parent
# The code whose output is cached: the summary, the page, the text escaping and the redaction.
_DERIVING = ("maintenance_log.py", "record_pages.py", "markdown.py")


def _source_files() -> list[Path]:
    from homeops.runner import records  # a record's last changes are read by its code

    return ([_SITE / name for name in _DERIVING] + [Path(records.__file__)]
            + sorted((_SITE.parent / "redaction").rglob("*.py")))


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in _source_files():
        digest.update(path.read_bytes())
    for package in ("nbconvert", "bleach"):
        digest.update(f"{package}=={importlib.metadata.version(package)}".encode())
    return digest.hexdigest()


def cache_dir(records_dir: Path) -> Path:
    return records_dir.resolve().parent / CACHE_DIR


class RecordCache:
    def __init__(self, records_dir: Path):
        self.directory = cache_dir(records_dir)

    def _path(self, content_digest: str, kind: str) -> Path:
        key = hashlib.sha256(f"{content_digest}:{code_fingerprint()}".encode()).hexdigest()
        return self.directory / f"{key}.{kind}"

    def get(self, content_digest: str, kind: str) -> str | None:
        try:
            return self._path(content_digest, kind).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def put(self, content_digest: str, kind: str, text: str) -> None:
        try:
            private_directory(self.directory)
            write_whole(self.directory, self._path(content_digest, kind), text, mode=0o600)
        except OSError:
            pass

    def page_key(self, *parts: str) -> str:
        """The key of a finished page: the code that made it and every input it is made of."""
        digest = hashlib.sha256(code_fingerprint().encode())
        for part in parts:
            digest.update(b"\0" + part.encode("utf-8", "surrogateescape"))
        return digest.hexdigest()

    def finished_page(self, key: str) -> Path | None:
        path = self.directory / PAGES_DIR / f"{key}.html"
        return path if path.is_file() else None

    def keep_finished_page(self, key: str, text: str) -> Path | None:
        """Stores a finished page (mode as for any new file of the site); its path, or None."""
        pages = self.directory / PAGES_DIR
        try:
            private_directory(pages)
            path = pages / f"{key}.html"
            write_whole(pages, path, text, mode=_new_file_mode())
            return path
        except OSError:
            return None

    def remove_unlinked_pages(self, used: Iterable[str]) -> None:
        """Removes the finished pages that no site links to and that this build does not use."""
        keep = {f"{key}.html" for key in used}
        try:
            entries = list(os.scandir(self.directory / PAGES_DIR))
        except OSError:
            return
        for entry in entries:
            try:
                if entry.name not in keep and entry.stat(follow_symlinks=False).st_nlink == 1:
                    os.unlink(entry.path)
            except OSError:
                pass  # another build removed it, or uses it: both are fine


@lru_cache(maxsize=1)
def _new_file_mode() -> int:
    """0666 less the umask, read once: os.umask can only be read by setting it, for the whole process."""
    umask = os.umask(0o077)
    os.umask(umask)
    return 0o666 & ~umask

