"""Tables the way Go's tabwriter prints them for kubectl and talosctl (cells padded by 3 spaces),
and the tab-ended rows of `flux get`."""

from __future__ import annotations


def aligned(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[i] + 3) for i, cell in enumerate(row[:-1])] + [row[-1]]
        lines.append("".join(cells).rstrip(" ") if row[-1] else "".join(cells))
    return "\n".join(lines) + "\n"


def tab_ended(rows: list[list[str]]) -> str:
    """flux's table: each cell padded to its column, then a tab; every row ends in a tab."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "".join("".join(cell.ljust(widths[i]) + "\t" for i, cell in enumerate(row)) + "\n" for row in rows)


def age(seconds: float) -> str:
    """kubectl's short age: 45s, 5m, 3h, 30d."""
    seconds = max(int(seconds), 0)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 3 * 3600:
        return f"{seconds // 60}m"
    if seconds < 2 * 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"
