"""Files of the site's caches: written whole or not at all, in private directories, and the hash of
a tree of files that keys them.

A build that reads a cache entry while another build writes it sees the old file or none, never
half of one; an entry that cannot be written only costs the next build the work again.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def private_directory(path: Path, levels: int = 1) -> None:
    """`path` and the `levels - 1` directories above it, each created 0700 when missing."""
    for directory in reversed([path, *path.parents][:levels]):
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)


def write_whole(directory: Path, path: Path, text: str, mode: int = 0o600) -> None:
    descriptor, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")  # 0600
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


class Uncacheable(Exception):
    """An input the key cannot cover: the work is done without the cache."""


def hash_tree(digest, root: Path, suffix: str = "") -> None:
    """Every file's name (relative to `root`) and bytes, in a fixed order; bytecode caches left out."""
    for directory, subdirectories, names in os.walk(root):
        if any(os.path.islink(os.path.join(directory, d)) for d in subdirectories):
            # os.walk does not go into it, a reader of the tree does: no key, so no cache.
            raise Uncacheable(f"{directory}: a directory that is a symbolic link")
        subdirectories[:] = sorted(d for d in subdirectories if d != "__pycache__")
        relative = os.path.relpath(directory, root)
        for name in sorted(names):
            if name.endswith(suffix):
                with open(os.path.join(directory, name), "rb") as handle:
                    content = handle.read()
                digest.update(f"\0{relative}/{name}\0{len(content)}\0".encode("utf-8", "surrogateescape"))
                digest.update(content)
