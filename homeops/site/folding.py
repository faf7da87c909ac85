"""Long rendered files fold: a page shows a file of more than FOLD_AFTER_LINES lines closed, under
its path and length, so the steps around it stay readable (Material's collapsible admonition,
pymdownx.details: `??? abstract "title"`). Search still finds what is inside, and one click opens it.
"""

from __future__ import annotations

from homeops.site.markdown import text

FOLD_AFTER_LINES = 25


def shown_file(path: str, content: str, block: str) -> str:
    """`block` is the file's fenced code block (titled by its path); folded when the file is long."""
    lines = len(content.rstrip("\n").splitlines())
    if lines <= FOLD_AFTER_LINES:
        return block
    indented = "\n".join(f"    {line}" if line else "" for line in block.splitlines())
    title = text(f"{path} ({lines} lines, rendered from cluster.yaml)").replace('"', "&#34;")
    return f'??? abstract "{title}"\n\n{indented}\n'
