"""Material's search index entries of each page, kept between builds: keyed by all they are made of.

Material's search plugin parses every page's HTML at every build (Python's `html.parser`, in pure
Python) to cut it into the sections of `search/search_index.json`: about 0.15 s of CPU a build of
this site, and so of every rebuild under `mkdocs serve`, although an edit of cluster.yaml changes the
HTML of a few pages only. `keep_entries(plugin, directory)` wraps the plugin's `add_entry_from_context`
for one build: a page whose key is known gets the entries the plugin made for it before, in the same
order; any other page is indexed by the plugin, and what it added is kept.

The key is the sha256 of everything `SearchIndex.add_entry_from_context` reads: the page's HTML, its
URL and title, its front matter (`search`, `tags`, `title`) and its table of contents (each anchor's
id, URL, title and level), and Material's and Python's versions and whether jieba (Chinese
segmentation) is installed. The entries are published as they are (the site's own text), kept like
the other caches in the project's private `.site-cache/`; one that cannot be read counts as absent.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from homeops.site.cache_files import private_directory, write_whole

KEEP_UNUSED = 256  # entries kept beyond those the last build used: the pages one edits back and forth


def _toc(items) -> list:
    return [[getattr(i, "id", None), getattr(i, "url", None), getattr(i, "title", None), getattr(i, "level", None),
             _toc(getattr(i, "children", None) or [])] for i in items or []]


class KeptEntries:
    def __init__(self, index, directory: Path, versions: str):
        self.directory, self._versions = directory, versions
        self._index, self._add = index, index.add_entry_from_context
        self.used: set[str] = set()

    def key(self, page) -> str:
        identity = json.dumps([self._versions, page.url, str(page.title), page.meta, _toc(page.toc)],
                              default=repr, sort_keys=True)
        digest = hashlib.sha256(f"homeops search entries 1\0{identity}\0".encode("utf-8", "surrogateescape"))
        digest.update((page.content or "").encode("utf-8", "surrogateescape"))
        return digest.hexdigest()

    def _read(self, path: Path) -> list | None:
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return None
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            return None
        return entries

    def __call__(self, page) -> None:
        name = f"{self.key(page)}.json"
        path = self.directory / name
        kept = self._read(path)
        self.used.add(name)
        if kept is not None:
            self._index.entries.extend(kept)
            return
        before = len(self._index.entries)
        self._add(page)
        try:
            # default=str: as Material writes the index, so a value read back is written out the same.
            write_whole(self.directory, path, json.dumps(self._index.entries[before:], default=str))
        except OSError:
            pass  # not kept: the next build indexes the page again


def _versions() -> str:
    import material
    from material.plugins.search import plugin

    return f"material {material.__version__}\0python {sys.version}\0jieba {plugin.jieba is not None}"


def keep_entries(plugins, directory: Path) -> KeptEntries | None:
    """Wraps the search index of this build's Material search plugin (in `plugins`, MkDocs' plugin
    collection); None when there is none or the directory cannot be made."""
    try:
        from material.plugins.search.plugin import SearchPlugin
    except ImportError:
        return None
    search = next((p for p in plugins.values() if isinstance(p, SearchPlugin)), None)
    index = getattr(search, "search_index", None)
    if index is None or not callable(getattr(index, "add_entry_from_context", None)):
        return None
    try:
        private_directory(directory, levels=2)
    except OSError:
        return None
    kept = KeptEntries(index, directory, _versions())
    index.add_entry_from_context = kept
    return kept


def remove_unused(kept: KeptEntries, keep: int = KEEP_UNUSED) -> None:
    """Removes the entries the build did not use, but for the `keep` newest."""
    try:
        entries = [e for e in os.scandir(kept.directory) if e.name.endswith(".json") and e.name not in kept.used]
        entries.sort(key=lambda e: e.stat().st_mtime_ns, reverse=True)
        for entry in entries[keep:]:
            os.unlink(entry.path)
    except OSError:
        pass  # another build removed it meanwhile
