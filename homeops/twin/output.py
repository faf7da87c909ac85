"""Writing what a fake tool prints: every line ends in a newline and reaches the reader at once."""

from __future__ import annotations


def write(stream, text: str) -> None:
    if text:
        stream.write(text if text.endswith("\n") else text + "\n")
        stream.flush()
