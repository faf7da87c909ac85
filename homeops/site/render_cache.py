"""The rendered tree the pages show (`rendered_file`), kept between builds: keyed by all it is made of.

Rendering `templates/` costs a build about a third of a second of CPU (importing makejinja, a pass
per node, parsing every rendered YAML file), while what it renders only changes when cluster.yaml,
a template or the code changes. The key is the sha256 of every input: the bytes and path of
cluster.yaml, the names and bytes of every file under templates/, every source file of `homeops`
(the model, its rules, the makejinja plugin, the render) and the versions of makejinja, Jinja,
PyYAML and pydantic. Reading and hashing those takes a few milliseconds.

Entries sit in `.site-cache/render/` in the project (private, ignored by git), outside every
directory `mkdocs serve` watches; the newest few are kept, so that editing cluster.yaml back and
forth under `mkdocs serve` finds each version again. An entry that cannot be read or is not what
this module writes counts as absent; one that cannot be written only costs the next build a render.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from homeops.site.cache_files import Uncacheable, hash_tree, private_directory, write_whole
from homeops.site.sources import site_cache_dir

RENDER_DIR = "render"
KEEP = 8  # entries kept: the versions of cluster.yaml one edits between under `mkdocs serve`
_PACKAGE = Path(__file__).resolve().parent.parent  # homeops/
# Libraries whose behaviour the rendered text depends on, by the module that carries the version.
_LIBRARIES = ("jinja2", "yaml", "pydantic", "pydantic_core")

Render = Callable[[Path, Path, object], dict[str, str]]


def cache_dir(project: Path) -> Path:
    return site_cache_dir(project) / RENDER_DIR


@lru_cache(maxsize=1)  # a process never imports another version of a module it has loaded
def _versions() -> str:
    import importlib.metadata

    found = [f"makejinja=={importlib.metadata.version('makejinja')}"]
    for name in _LIBRARIES:
        module = sys.modules.get(name) or __import__(name)
        found.append(f"{name}=={getattr(module, '__version__', None) or getattr(module, 'VERSION', '?')}")
    return ";".join(found)


def render_key(project: Path, config: Path, templates: Path) -> str:
    """The sha256 of everything the rendered tree is made of (see the module's docstring)."""
    digest = hashlib.sha256(b"homeops render cache 1\0")
    digest.update(f"{project.resolve()}\0{config.resolve()}\0{_versions()}\0".encode("utf-8", "surrogateescape"))
    digest.update(config.read_bytes())
    digest.update(b"\0templates")
    hash_tree(digest, templates)
    digest.update(b"\0homeops")
    hash_tree(digest, _PACKAGE, ".py")
    return digest.hexdigest()


def _read(path: Path) -> dict[str, str] | None:
    try:
        files = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        return None
    return files


def _keep_newest(directory: Path, keep: int) -> None:
    try:
        entries = sorted(directory.glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in entries[keep:]:
            old.unlink()
    except OSError:
        pass  # another build removed it meanwhile


def cached_render(render: Render, templates_dir: str = "templates") -> Render:
    """`render(project, config, cluster)`, answered from the cache when its inputs are unchanged."""

    def rendered(project: Path, config: Path, cluster) -> dict[str, str]:
        try:
            key = render_key(project, config, project / templates_dir)
        except (OSError, Uncacheable):
            return render(project, config, cluster)  # an input cannot be read (render reports it) or keyed
        directory = cache_dir(project)
        entry = directory / f"{key}.json"
        files = _read(entry)
        if files is not None:
            try:
                os.utime(entry)  # recently used: kept by _keep_newest
            except OSError:
                pass
            return files
        files = render(project, config, cluster)
        try:
            private_directory(directory, levels=2)  # .site-cache/render
            write_whole(directory, entry, json.dumps(files))
            _keep_newest(directory, KEEP)
        except OSError:
            pass
        return files

    return rendered
