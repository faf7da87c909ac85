"""Each page's Markdown after the macros, kept between builds: a build whose pages all hit never sets
the macros up (no cluster model, so no pydantic; no validation of cluster.yaml; no macros module, no
Jinja environment; no render of the configuration tree).

A page's key is the sha256 of everything its Markdown after the macros is made of:
- the site's sources (`site_key`, once a build): cluster.yaml (path and bytes), every file under
  templates/ and runbooks/ (notebooks and rehearsal scenarios), every record (its bytes, and the
  outcome it is shown with now: a "running" record whose writer is gone reads "abandoned"),
  mkdocs.yml, the macros module and every source file of the running `homeops`, the HOMEOPS_*
  environment, the site's address as the build starts (`mkdocs serve` sets its own), the macros
  plugin's settings, Python's version and every installed distribution with its version (the names
  of the `*.dist-info` directories on sys.path);
- the page: its source path and URL, its front matter, the Markdown MkDocs read, and the site's
  addresses and `extra` as the macros left them.
Reading and hashing all that takes a few milliseconds.

A literal page, whose Jinja reads nothing (no variable, macro, filter, test or template: text, raw
blocks, strings; `is_literal`), is kept under a key of the page and the code alone: the site key
without cluster.yaml, the records, templates/ and runbooks/ (`code_key`). Its Markdown after the macros
cannot depend on them, so an edit of cluster.yaml under `mkdocs serve` renders again only the pages
that read something (every runbook's page is literal: its parameters are a raw block). A page is
looked up as a literal page first; only a page found literal when it rendered is kept so.

What the key cannot cover is never kept: a page that reads mkdocs-macros' `git`, `navigation` or
`files`, or includes or imports another template, and a page whose rendering logged a warning (its
Markdown is an error message: the next build renders it again and reports it again). A site whose
macros plugin reads other files (`include_yaml`, pluglets in `modules`) keeps nothing. Not covered: a
page reading its neighbours through `page` (`page.next_page.title`, a title taken from another page's
heading); no page of this site does, and one that starts to must read `navigation` instead.

The configuration the macros set from cluster.yaml (site_url, repo_url, repo_name, edit_uri) is kept
under the site key alone, written once the macros were set up with that key, that is once cluster.yaml
validated. A build that finds it sets it and leaves the macros' set-up to the first page that misses
(`homeops.site.macros_plugin`): a build whose pages all hit validates nothing, rightly, since the same
bytes validated with the same code and libraries before.

Entries live in `.site-cache/markdown/` (private): an entry is what the site publishes as the page, so,
like the compiled pages beside it, it must never be restored from a cache that others can fill (pull
requests from forks). A published build removes the entries it did not use but for the newest
KEEP_BUILDS builds' worth.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path

from homeops.site import sources
from homeops.site.cache_files import Uncacheable, hash_tree, private_directory, write_whole

DIRECTORY = "markdown"
FORMAT = "homeops page cache 2"
SETTINGS = ("site_url", "repo_url", "repo_name", "edit_uri")  # what the macros set on MkDocs' config
# mkdocs-macros' variables whose values no key covers: the repository's state, the other pages.
UNCOVERED_VARIABLES = frozenset({"git", "navigation", "files"})
KEEP_BUILDS = 8  # unused entries kept, in builds' worth: the versions one edits back and forth under `mkdocs serve`
_PACKAGE = Path(__file__).resolve().parent.parent  # the homeops that runs, wherever the project is
_SITE_ENTRY = "site-"


# Where distributions are installed: sys.path as the process started (a render appends to it,
# which must not change the key of the builds that follow it under `mkdocs serve`).
_SEARCHED = tuple(dict.fromkeys(sys.path))


def _installed() -> str:
    """Every distribution installed where this process imports from, with its version (the
    `NAME-VERSION.dist-info` directories)."""
    names = set()
    for entry in _SEARCHED:
        try:
            with os.scandir(entry or ".") as found:
                names.update(e.name for e in found if e.name.endswith((".dist-info", ".egg-info")))
        except OSError:
            continue  # a zip file, or a directory that does not exist
    return "\n".join(sorted(names))


def _records(project: Path) -> str:
    from homeops.site import maintenance_log  # read once a build (shared with the hook's record pages)

    return "\n".join(f"{r.file}\0{r.digest}\0{r.shown_outcome}"
                     for r in maintenance_log.read_records(sources.records_dir(project)))


def _module_path(project: Path, module_name: str) -> Path:
    package = project / module_name
    return package if package.is_dir() else project / f"{module_name}.py"


def _keys(config, settings: dict) -> tuple[str, str]:
    """(the code key, the site key): see the module's docstring. OSError or Uncacheable when a source
    cannot be read or keyed."""
    project = Path(config.config_file_path).resolve().parent
    digest = hashlib.sha256(FORMAT.encode())

    def part(label: str, value: str | bytes) -> None:
        data = value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")
        digest.update(f"\0{label}\0{len(data)}\0".encode())
        digest.update(data)

    part("python", f"{sys.version}\0{sys.implementation.cache_tag}")
    part("installed", _installed())
    part("environment", repr(sorted((k, v) for k, v in os.environ.items() if k.startswith("HOMEOPS_"))))
    part("plugin", repr(sorted(settings.items())))
    part("site_url", config.site_url or "")
    part("mkdocs.yml", Path(config.config_file_path).read_bytes())
    digest.update(b"\0homeops\0")
    hash_tree(digest, _PACKAGE, ".py")
    module = _module_path(project, settings.get("module_name") or "main")
    digest.update(b"\0macros\0")
    if module.is_dir():
        hash_tree(digest, module, ".py")
    elif module.is_file():
        digest.update(module.read_bytes())
    code = digest.hexdigest()
    # The sources the pages' variables and macros are made of: only a page that reads some depends on them.
    cluster = sources.cluster_path(project)
    part("cluster.yaml", f"{cluster.resolve()}\0".encode() + cluster.read_bytes())
    part("records", _records(project))
    for label, root in (("templates", project / "templates"), ("runbooks", sources.runbooks_dir(project))):
        digest.update(f"\0{label}\0".encode())
        if root.is_dir():
            hash_tree(digest, root)
    return code, digest.hexdigest()


def site_key(config, settings: dict) -> str:
    """The sha256 of the site's sources (see the module's docstring); OSError or Uncacheable when one
    cannot be read or keyed."""
    return _keys(config, settings)[1]


def code_key(config, settings: dict) -> str:
    """The sha256 of what a literal page's Markdown after the macros is made of, besides the page:
    the site key without cluster.yaml, the records, templates/ and runbooks/."""
    return _keys(config, settings)[0]


_TEMPLATE_WORDS = ("include", "import", "extends", "from")  # the tags that read another template
_WORDS = re.compile(r"\b(?:%s)\b" % "|".join(sorted(UNCOVERED_VARIABLES) + list(_TEMPLATE_WORDS)))


def _tags(env, source: str) -> str:
    """The text of every tag (`{{ }}`, `{% %}`, `{# #}`) of `source`: where Jinja reads a name."""
    pairs = ((env.variable_start_string, env.variable_end_string), (env.block_start_string, env.block_end_string),
             (env.comment_start_string, env.comment_end_string))
    pattern = "|".join(f"{re.escape(start)}(.*?){re.escape(end)}" for start, end in pairs)
    return "\n".join("".join(found) for found in re.findall(pattern, source, re.DOTALL))


def reads_uncovered(env, source: str) -> bool:
    """Whether a page's Jinja reads what no key covers (UNCOVERED_VARIABLES) or another template.

    Parsing a page costs about as much as compiling it, so only a page whose tags name one of those
    words is parsed; names in line statements are not in tags: with those on, every page is."""
    if not (env.line_statement_prefix or env.line_comment_prefix) and not _WORDS.search(_tags(env, source)):
        return False
    from jinja2 import meta

    try:
        tree = env.parse(source)
    except Exception:  # it rendered, so it parses; anything else: not kept
        return True
    return bool(meta.find_undeclared_variables(tree) & UNCOVERED_VARIABLES
                or any(True for _ in meta.find_referenced_templates(tree)))


def _reads_a_name(env, source: str) -> bool:
    """Whether, outside its raw blocks, a page has an expression or statement tag that is not one
    string (`{{ x }}`, `{% if %}`): then it is not literal. False says nothing: the page is parsed."""
    block = (re.escape(env.block_start_string), re.escape(env.block_end_string))
    raw = re.compile(r"%s[-+]?\s*raw\s*[-+]?%s.*?%s[-+]?\s*endraw\s*[-+]?%s" % (block * 2), re.DOTALL)
    text = raw.sub("", source)
    string = r"""\s*[-+]?\s*(?:"[^"\\]*"|'[^'\\]*')\s*[-+]?\s*"""
    inside = r"""((?:"[^"\\]*"|'[^'\\]*'|[^"'])*?)"""  # a string's "}}" does not end the tag
    tags = re.compile(r"%s%s%s|%s%s%s" % (re.escape(env.variable_start_string), inside,
                                          re.escape(env.variable_end_string), block[0], inside, block[1]), re.DOTALL)
    return any(m.group(2) is not None or not re.fullmatch(string, m.group(1)) for m in tags.finditer(text))


# What a page made of literal text parses into: raw blocks, text, `{{ "a string" }}`.
_LITERAL_NODES = ("Template", "Output", "TemplateData", "Const")


def is_literal(env, source: str) -> bool:
    """Whether a page's Jinja reads nothing at all: no variable, macro, filter, test or template, so its
    Markdown after the macros is made of its own source and the code alone (a runbook's page: its
    parameters in a raw block). A page without a tag is literal without being parsed."""
    starts = (env.variable_start_string, env.block_start_string, env.comment_start_string)
    if not (env.line_statement_prefix or env.line_comment_prefix):
        if not any(s in source for s in starts):
            return True
        if _reads_a_name(env, source):
            return False  # the common case, told without parsing the page (as costly as compiling it)
    from jinja2 import nodes

    try:
        tree = env.parse(source)
    except Exception:  # it rendered, so it parses; anything else: not literal
        return False
    literal = tuple(getattr(nodes, name) for name in _LITERAL_NODES)
    return isinstance(tree, nodes.Template) and all(
        type(node) in literal for node in tree.find_all(nodes.Node))


class PageCache:
    def __init__(self, directory: Path, site: str, code: str | None = None):
        self.directory, self.site = directory, site
        self.code = code if code is not None else site
        self.used: set[str] = set()

    @classmethod
    def open(cls, config, settings: dict) -> PageCache | None:
        """The cache of this build's site; None when the site cannot be keyed or the cache not made."""
        if settings.get("include_yaml") or settings.get("modules"):
            return None  # the macros read files this key does not cover
        directory = sources.site_cache_dir(Path(config.config_file_path).resolve().parent) / DIRECTORY
        try:
            code, site = _keys(config, settings)
            private_directory(directory, levels=2)
        except (OSError, Uncacheable):
            return None
        return cls(directory, site, code)

    def _read(self, name: str) -> dict | None:
        path = self.directory / name
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return None
        if not isinstance(entry, dict):
            return None
        self.used.add(name)
        try:
            os.utime(path)  # recently used: kept by tidy
        except OSError:
            pass
        return entry

    def _write(self, name: str, entry: dict) -> None:
        try:
            write_whole(self.directory, self.directory / name, json.dumps(entry))
        except OSError:
            return  # not kept: the next build does the work again
        self.used.add(name)

    def configuration(self) -> dict[str, str | None] | None:
        """What the macros set on MkDocs' config for this site, when a build set them up before."""
        entry = self._read(f"{_SITE_ENTRY}{self.site}.json")
        if entry is None or set(entry) != set(SETTINGS):
            return None
        if not all(value is None or isinstance(value, str) for value in entry.values()):
            return None
        return entry

    def keep_configuration(self, config) -> None:
        self._write(f"{_SITE_ENTRY}{self.site}.json", {name: config.get(name) for name in SETTINGS})

    def page_keys(self, markdown: str, page, config) -> tuple[str, str]:
        """(the page's key as a literal page, its key as any other page)."""
        identity = json.dumps([page.file.src_uri, page.url, page.meta, [config.get(name) for name in SETTINGS],
                               dict(config.get("extra") or {})], default=repr, sort_keys=True)
        keys = []
        for kind, sources_key in (("literal", self.code), ("page", self.site)):
            digest = hashlib.sha256(f"{kind}\0{sources_key}\0{identity}\0".encode("utf-8", "surrogateescape"))
            digest.update(markdown.encode("utf-8", "surrogateescape"))
            keys.append(digest.hexdigest())
        return keys[0], keys[1]

    def page(self, keys: tuple[str, str]) -> tuple[str, str | None] | None:
        """(the Markdown after the macros, the title they gave the page or None), when kept: as a
        literal page (an entry only a page found literal is kept under), or under the site's key."""
        for key in keys:
            entry = self._read(f"{key}.json")
            if entry is None:
                continue
            markdown, title = entry.get("markdown"), entry.get("title")
            if isinstance(markdown, str) and (title is None or isinstance(title, str)):
                return markdown, title
        return None

    def keep_page(self, key: str, markdown: str, title: str | None) -> None:
        self._write(f"{key}.json", {"markdown": markdown, "title": title})

    def tidy(self) -> None:
        """Removes the entries this build did not use, but for the newest KEEP_BUILDS builds' worth."""
        try:
            unused = [e for e in os.scandir(self.directory) if e.name.endswith(".json") and e.name not in self.used]
            unused.sort(key=lambda e: e.stat().st_mtime_ns, reverse=True)
            for entry in unused[KEEP_BUILDS * max(len(self.used), 1):]:
                os.unlink(entry.path)
        except OSError:
            pass  # another build removed it meanwhile
