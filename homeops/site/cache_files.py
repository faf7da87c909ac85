"""Files of the site's caches: written whole or not at all, in private directories.

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
