"""The pages' Jinja, compiled once per version of a page and kept between builds.

mkdocs-macros compiles every page with `Environment.from_string` at every build, and Jinja only
caches the compiled code of templates it loads through a loader, not of strings: compiling the
pages is about four fifths of what the macros cost a build. `keep_compiled(env, directory)` gives
the plugin's environment a `compile` that keeps each page's code in Jinja's own
`FileSystemBytecodeCache` (marshalled code under a header of Jinja's and Python's versions, checked
against the sha1 of the source), keyed by the source and by every setting of the environment that
changes the code Jinja generates or refuses to generate (delimiters, whitespace options,
extensions, filters and tests by name...). A source that does not compile raises as before and is
never kept, so a broken page reports the same error (`homeops.site.page_errors`).

The entries are Python code the build runs, as `__pycache__` is: they live in the project's
private `.site-cache/pages/` (0700), which must not be shared with, or restored from, anyone who
may not change the site's code (a CI cache filled by pull requests from forks, for instance).
"""

from __future__ import annotations

import hashlib
import marshal
import os
from pathlib import Path

import jinja2
from jinja2 import Environment
from jinja2.bccache import Bucket, FileSystemBytecodeCache

from homeops.rendering.compiled_templates import CODE_SETTINGS
from homeops.site.cache_files import private_directory

PATTERN = "%s.jinja"
KEEP_UNUSED = 64  # entries kept beyond those the last build used: the pages one edits back and forth


def _function(value: object) -> str:
    """A filter or test as its code: Jinja's optimizer calls filters on constants while compiling."""
    code = getattr(value, "__code__", None)
    if code is None:
        return repr(value)  # a builtin is stable; anything else names its address: a new key each process
    name = f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', '')}"
    return f"{name}:{hashlib.sha256(marshal.dumps(code)).hexdigest()}"


def settings_key(env: Environment) -> str:
    """The environment's settings that shape compiled code. A function's repr names its address, so
    an environment with, say, an autoescape function gets a new key in every process: never a stale hit."""
    parts = [f"jinja2 {jinja2.__version__}"]  # bc_magic, in each entry, holds Python's version
    parts += [f"{name}={getattr(env, name, None)!r}" for name in CODE_SETTINGS]
    parts.append("extensions=" + ",".join(sorted(env.extensions)))
    for kind, functions in (("filter", env.filters), ("test", env.tests)):
        parts += [f"{kind} {name}={_function(function)}" for name, function in sorted(functions.items())]
    parts.append("policies=" + repr(sorted(env.policies.items(), key=lambda item: item[0])))
    return "\n".join(parts)


class CompiledPages:
    """`compile` for an environment whose `from_string` should reuse the code of sources it compiled before."""

    def __init__(self, env: Environment, directory: Path):
        self._env, self._compile = env, env.compile
        self.directory = directory
        self._cache = FileSystemBytecodeCache(str(directory), PATTERN)
        self._settings = settings_key(env)
        self.used: set[str] = set()

    def __call__(self, source, name=None, filename=None, raw=False, defer_init=False):
        if name is not None or filename is not None or raw or defer_init or not isinstance(source, str):
            return self._compile(source, name, filename, raw, defer_init)
        key = hashlib.sha256(f"{self._settings}\0{source}".encode("utf-8", "surrogateescape")).hexdigest()
        try:
            bucket = self._cache.get_bucket(self._env, key, None, source)
        except Exception:  # an entry that cannot be read back (Jinja unpickles its header): compiled again
            bucket = Bucket(self._env, self._cache.get_cache_key(key), self._cache.get_source_checksum(source))
        self.used.add(PATTERN % bucket.key)
        if bucket.code is None:
            bucket.code = self._compile(source)  # raises for a page that does not compile: nothing kept
            try:
                self._cache.set_bucket(bucket)
            except OSError:
                pass  # not kept: the next build compiles it again
        return bucket.code


def keep_compiled(env: Environment, directory: Path) -> CompiledPages | None:
    """Installs the cache on `env` (for this build: each build has its own environment); None if the
    directory cannot be made, in which case pages are compiled as before."""
    try:
        private_directory(directory, levels=2)
    except OSError:
        return None
    compiled = CompiledPages(env, directory)
    env.compile = compiled
    return compiled


def remove_unused(directory: Path, used: set[str], keep: int = KEEP_UNUSED) -> None:
    """Removes the entries this build did not use, but for the `keep` newest."""
    try:
        entries = [e for e in os.scandir(directory) if e.name.endswith(PATTERN % "") and e.name not in used]
        entries.sort(key=lambda e: e.stat().st_mtime_ns, reverse=True)
        for entry in entries[keep:]:
            os.unlink(entry.path)
    except OSError:
        pass  # another build removed it meanwhile
