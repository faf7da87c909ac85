"""age encryption of backup files: the one way a backup's content reaches persistent disk.

pyrage (Python bindings of rage, the Rust implementation of age) rather than the `age` tool: it is
installed from the lock with hashes like every other dependency, so a backup never depends on a
binary the operator may lack or have in another version; it encrypts from a file object to a file
object in a stream, so the plaintext is never handed to another process; and the drills decrypt
what a backup wrote with an identity of their own, through the same library.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pyrage
from pyrage import x25519


class KeyInvalid(ValueError):
    """The age public key cannot be used as a recipient."""


@dataclass(frozen=True)
class SealedFile:
    path: Path
    size: int  # bytes of ciphertext
    sha256: str  # of the ciphertext, as `sha256sum` prints it: what the manifest and the record name

    @property
    def name(self) -> str:
        return self.path.name


def recipient(public_key: str) -> x25519.Recipient:
    try:
        return x25519.Recipient.from_str(public_key)
    except pyrage.RecipientError as exc:
        raise KeyInvalid(f"{public_key!r} is not an age X25519 public key: {exc}") from None


def seal_file(plain: Path, target: Path, to: x25519.Recipient) -> SealedFile:
    """Encrypt the file `plain` into `target` as a stream (the plaintext is never read whole)."""
    with open(plain, "rb") as source:
        return _write(target, lambda sink: pyrage.encrypt_io(source, sink, [to]))


def seal_bytes(data: bytes, target: Path, to: x25519.Recipient) -> SealedFile:
    """Encrypt `data` (held in memory only) into `target`."""
    ciphertext = pyrage.encrypt(data, [to])
    return _write(target, lambda sink: sink.write(ciphertext))


def _write(target: Path, fill) -> SealedFile:
    # Written beside the target under a hidden name and renamed once complete and synced: a
    # backup interrupted midway leaves no file that looks whole. 0600 whatever the umask.
    partial = target.with_name(f".{target.name}.part")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as sink:
            fill(sink)
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return describe(target)


def describe(path: Path) -> SealedFile:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return SealedFile(path, size, digest.hexdigest())
