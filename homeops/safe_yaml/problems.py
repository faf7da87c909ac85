"""A problem found in a file: where (file, line, column, dotted path) and what is wrong."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Sequence

Severity = Literal["error", "warning"]
# A place in the document: mapping keys and list indexes, e.g. ("nodes", 2, "address").
DataPath = tuple[str | int, ...]


def dotted(path: Sequence[object]) -> str:
    """("nodes", 2, "address") -> "nodes[2].address", the form every message uses."""
    text = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


@dataclass(frozen=True, order=True)
class Problem:
    line: int
    column: int
    path: str
    message: str
    severity: Severity = "error"
    file: str = "cluster.yaml"
    # Which check found it (e.g. "cidr-overlap"); tests and tools select problems by it.
    code: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        label = "warning: " if self.severity == "warning" else ""
        return f"{where}: {self.path or '(top level)'}: {label}{self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"
