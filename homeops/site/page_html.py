"""Each page's HTML from its Markdown (MkDocs' `Page.render`), kept for the life of the process: under
`mkdocs serve`, a rebuild converts again only the pages whose Markdown after the macros changed.

Converting the Markdown is the largest part of a rebuild (about 0.35 s of CPU for this site's 36 pages),
and an edit of cluster.yaml changes the Markdown of a few pages only. `keep_html(page)` makes a page's
`render` answer from memory what MkDocs' own `render` gave for the same inputs: the Markdown; the page's
file (source, destination, URL, inclusion); every file of the build by the same four (links resolve
against them); the configuration the conversion reads (`markdown_extensions`, `mdx_configs`,
`validation`, `use_directory_urls`) and the level MkDocs logs at. What it gives back is everything
`render` sets: the HTML, the table of contents, the title from the first heading, the anchors the page
has and the links to other pages' anchors (checked after the build by MkDocs, as before).

Never kept: a page whose conversion logged anything at INFO or above (a link MkDocs could not resolve
must be reported at every build, and make `--strict` fail at every build), and every page of a build
whose Markdown extensions are not all in CONVERTERS: an extension that reads files (pymdownx.snippets)
or other state would make the Markdown not all the HTML is made of. Nothing is written anywhere: a new
process starts empty.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from collections import OrderedDict

# Markdown extensions whose output is a function of the Markdown and their configuration alone.
CONVERTERS = frozenset({
    "abbr", "admonition", "attr_list", "def_list", "fenced_code", "footnotes", "md_in_html", "meta", "nl2br",
    "sane_lists", "smarty", "tables", "toc", "wikilinks",
    "pymdownx.betterem", "pymdownx.caret", "pymdownx.critic", "pymdownx.details", "pymdownx.highlight",
    "pymdownx.inlinehilite", "pymdownx.keys", "pymdownx.mark", "pymdownx.smartsymbols", "pymdownx.superfences",
    "pymdownx.tabbed", "pymdownx.tasklist", "pymdownx.tilde",
})
KEEP = 512  # pages: every page of this site, in the few versions one edits back and forth
_LOGGERS = ("mkdocs", "")  # MkDocs' conversion logs under the first; an extension, anywhere (the root)

_kept: OrderedDict[str, tuple] = OrderedDict()
_files_key: tuple[object, str] | None = None  # (the build's Files, their key)


def _keyable(config) -> bool:
    return all(isinstance(name, str) and name in CONVERTERS for name in config["markdown_extensions"])


def _files(files) -> str:
    global _files_key
    if _files_key is None or _files_key[0] is not files:
        rows = sorted((f.src_uri, f.dest_uri, f.url, f.inclusion.name) for f in files)
        _files_key = (files, hashlib.sha256(repr(rows).encode("utf-8", "surrogateescape")).hexdigest())
    return _files_key[1]


def _key(page, config, files) -> str:
    file = page.file
    identity = repr((file.src_uri, file.dest_uri, file.url, file.inclusion.name, _files(files),
                     config["markdown_extensions"], sorted((config["mdx_configs"] or {}).items()),
                     config["validation"], config["use_directory_urls"],
                     [logging.getLogger(name).getEffectiveLevel() for name in _LOGGERS]))
    digest = hashlib.sha256(f"{identity}\0".encode("utf-8", "surrogateescape"))
    digest.update(page.markdown.encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


class _Logged(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.any = False

    def emit(self, record: logging.LogRecord) -> None:
        self.any = True


def keep_html(page) -> None:
    """`page.render(config, files)`, for this build's page, from memory when its inputs are unchanged."""
    convert = page.render

    def render(config, files) -> None:
        if page.markdown is None or not _keyable(config):
            return convert(config, files)
        key = _key(page, config, files)
        kept = _kept.get(key)
        if kept is not None:
            _kept.move_to_end(key)
            content, toc, title, anchors, links = kept
            page.content, page.toc, page._title_from_render = content, copy.deepcopy(toc), title
            page.present_anchor_ids = set(anchors)
            if links is not None:
                page.links_to_anchors = {files.get_file_from_path(uri): dict(a) for uri, a in links.items()}
            return None
        logged = _Logged()
        for name in _LOGGERS:
            logging.getLogger(name).addHandler(logged)
        try:
            convert(config, files)
        finally:
            for name in _LOGGERS:
                logging.getLogger(name).removeHandler(logged)
        links = page.links_to_anchors
        if logged.any or page.present_anchor_ids is None or (links is not None and None in links):
            return None
        _kept[key] = (page.content, copy.deepcopy(page.toc), page._title_from_render,
                      frozenset(page.present_anchor_ids),
                      None if links is None else {f.src_uri: dict(a) for f, a in links.items()})
        while len(_kept) > KEEP:
            _kept.popitem(last=False)
        return None

    page.render = render
