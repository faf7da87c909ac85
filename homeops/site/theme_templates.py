"""The theme's templates (Material's main.html, base.html, partials and this site's overrides),
compiled once and kept between builds.

MkDocs makes a new Jinja environment for the theme at every build, and at every rebuild under `mkdocs
serve`, so Jinja compiled Material's forty-odd templates again each time: about 0.15 s of CPU, the
largest part of what an edit of cluster.yaml waits for after MkDocs' own Markdown and Material's search
index. `keep_compiled(theme, directory)` gives each environment the theme makes a `FileSystemBytecodeCache`
in `.site-cache/theme/`: Jinja looks an entry up by the template's name and file, uses it only for a source
of the same checksum (so an edited template or override is compiled again) and under a header of Jinja's
and Python's versions. The entry's name also holds every setting of the environment that shapes the
code Jinja generates (`homeops.site.page_templates.settings_key`: delimiters, extensions, the filters'
code...) and how MkDocs installed its translations (`newstyle_gettext`, read by the i18n extension
when it compiles `{% trans %}`).

The entries are Python code the build runs, as `__pycache__` is: like the pages' compiled Jinja, they
live in the project's private `.site-cache/`, never restored from a cache others can fill. An entry
that cannot be read back is compiled again; one that cannot be written only costs the next build.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from jinja2 import Environment
from jinja2.bccache import Bucket, FileSystemBytecodeCache

from homeops.site.cache_files import private_directory
from homeops.site.page_templates import settings_key

PATTERN = "%s.theme"
KEEP_UNUSED = 128  # entries kept beyond those the last build used: two or three versions of the theme


class KeptThemeCode(FileSystemBytecodeCache):
    def __init__(self, directory: Path):
        super().__init__(str(directory), PATTERN)
        self.directory = directory
        self.used: set[str] = set()

    def get_bucket(self, environment: Environment, name: str, filename: str | None, source: str) -> Bucket:
        # The settings are read at each template: a plugin may add a filter to an environment once made.
        settings = f"{settings_key(environment)}\nnewstyle_gettext={getattr(environment, 'newstyle_gettext', None)!r}"
        key = hashlib.sha256(f"{settings}\0{name}\0{filename}".encode("utf-8", "surrogateescape")).hexdigest()
        bucket = Bucket(environment, key, self.get_source_checksum(source))
        self.load_bytecode(bucket)
        return bucket

    def load_bytecode(self, bucket: Bucket) -> None:
        self.used.add(PATTERN % bucket.key)
        try:
            super().load_bytecode(bucket)
        except Exception:  # a damaged entry (Jinja unpickles its header): compiled again, and written anew
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass  # not kept: the next build compiles it again


def keep_compiled(theme, directory: Path) -> KeptThemeCode | None:
    """Every environment `theme` (MkDocs' Theme of this build's config) makes from now on keeps its
    compiled templates in `directory`: the build's, and those Material's search plugin makes to read its
    translations. None (templates compiled as before) when the directory cannot be made."""
    try:
        private_directory(directory, levels=2)
    except OSError:
        return None
    cache, get_env = KeptThemeCode(directory), theme.get_env

    def get_env_keeping_code() -> Environment:
        env = get_env()
        env.bytecode_cache = cache
        return env

    theme.get_env = get_env_keeping_code
    return cache


def remove_unused(cache: KeptThemeCode, keep: int = KEEP_UNUSED) -> None:
    """Removes the entries the build did not use, but for the `keep` newest."""
    try:
        entries = [e for e in os.scandir(cache.directory) if e.name.endswith(PATTERN % "") and e.name not in cache.used]
        entries.sort(key=lambda e: e.stat().st_mtime_ns, reverse=True)
        for entry in entries[keep:]:
            os.unlink(entry.path)
    except OSError:
        pass  # another build removed it meanwhile
