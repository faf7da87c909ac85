"""Random identifiers in the shapes the real tools print (without importing uuid or hashlib:
every fake tool call is a new process, and imports are most of its cost)."""

from __future__ import annotations

import os


def uuid4() -> str:
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def hex_id(length: int) -> str:
    return os.urandom((length + 1) // 2).hex()[:length]


def pod_suffix(length: int = 5) -> str:
    """The random tail Kubernetes gives pod names (consonants and digits, no vowels)."""
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    return "".join(alphabet[b % len(alphabet)] for b in os.urandom(length))


def mac_address(name: str) -> str:
    """A stable, locally administered MAC for a node cluster.yaml gives none (02:... never belongs to a vendor)."""
    import zlib  # only `create` needs it

    digest = zlib.crc32(name.encode()).to_bytes(4, "big")
    return ":".join(f"{b:02x}" for b in (0x02, 0x00, *digest))
