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


def found(value: object) -> str:
    """How a YAML value reads in a message: 'a number (1.11)', 'nothing (null)'."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, bytes):
        return "binary data"
    return f"a {type(value).__name__} ({value})"


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
