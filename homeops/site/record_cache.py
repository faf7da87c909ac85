"""What the site derives from a run record, kept between builds: keyed by the record's content.

A record's summary (its redacted reason costs half a millisecond of regular expressions) and its
rendered notebook (tens of milliseconds, and nbconvert's import over a second) only change when
the record's bytes change, or the code that derives them: the key is the sha256 of both. The cache
sits beside the records (`records/.cache/`, private, ignored by git); when it cannot be written,
everything is derived again at the next build, which only costs time.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import tempfile
from functools import lru_cache
from pathlib import Path

CACHE_DIR = ".cache"
_SITE = Path(__file__).resolve().parent
# The code whose output is cached: the summary, the page, the text escaping and the redaction.
_DERIVING = ("maintenance_log.py", "record_pages.py", "markdown.py")


def _source_files() -> list[Path]:
    from homeops.runner import redact

    redaction = _SITE.parent / "redaction"  # the redaction package, once it exists
    return [_SITE / name for name in _DERIVING] + [Path(redact.__file__)] + sorted(redaction.rglob("*.py"))


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in _source_files():
        digest.update(path.read_bytes())
    for package in ("nbconvert", "bleach"):
        digest.update(f"{package}=={importlib.metadata.version(package)}".encode())
    return digest.hexdigest()


class RecordCache:
    def __init__(self, records_dir: Path):
        self.directory = records_dir / CACHE_DIR

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
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")  # 0600
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(temporary, self._path(content_digest, kind))
        except OSError:
            pass
