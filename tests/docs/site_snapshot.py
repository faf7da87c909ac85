"""What a built site directory holds, to prove that a failed build left it exactly as it was."""

from __future__ import annotations

import hashlib
from pathlib import Path


def snapshot(site_dir: Path) -> dict[str, str]:
    """Every file of a built site with its content hash and modification time."""
    return {
        p.relative_to(site_dir).as_posix(): f"{hashlib.sha256(p.read_bytes()).hexdigest()} {p.stat().st_mtime_ns}"
        for p in sorted(site_dir.rglob("*")) if p.is_file()
    }


def staging_leftovers(site_dir: Path) -> list[str]:
    """Staging directories a build left beside the site (there must be none)."""
    return sorted(p.name for p in site_dir.parent.glob(f".{site_dir.name}.building-*"))
