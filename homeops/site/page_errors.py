"""One line for a page that failed to render: `docs/page.md:LINE: what is wrong, in `the line``.

Jinja reports the line of the template it rendered; a page's template is its Markdown after the
front matter, so the line is moved down by the front matter's length to match the file.
"""

from __future__ import annotations

from types import TracebackType

from jinja2 import TemplateError, TemplateSyntaxError

# The name Jinja gives a template made with `Environment.from_string`, as mkdocs-macros does.
TEMPLATE_FILENAME = "<template>"
RAW_HINT = "a Helm or Go template must sit in a {% raw %} block (see the contributing page)"


def template_line(error: BaseException) -> int | None:
    """The template line the error comes from: the syntax error's, or the deepest rendered frame's."""
    if isinstance(error, TemplateSyntaxError):
        return error.lineno
    line = None
    tb: TracebackType | None = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == TEMPLATE_FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def front_matter_lines(source: str, markdown: str) -> int:
    """Lines of `source` before `markdown` (MkDocs hands plugins the page without its front matter)."""
    if markdown and source.endswith(markdown):
        return source[: len(source) - len(markdown)].count("\n")
    return 0


def _problem(error: BaseException) -> str:
    if isinstance(error, TemplateError):
        return (error.message or type(error).__name__).rstrip(".")
    # A macro that raised: its own message, with the kind of error for the developer.
    return f"{type(error).__name__}: {error}"


def describe(error: BaseException, page: str, markdown: str, source: str) -> str:
    """`page:line: problem, in `text``; `source` is the page as read, front matter included."""
    line = template_line(error)
    problem = _problem(error)
    if line is None:
        return f"{page}: {problem}"
    lines = markdown.splitlines()
    text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    if isinstance(error, TemplateSyntaxError) and "{{ ." in text.replace("{{.", "{{ ."):
        problem = f"{problem}: {RAW_HINT}"
    where = f"{page}:{line + front_matter_lines(source, markdown)}"
    return f"{where}: {problem}, in `{text}`" if text else f"{where}: {problem}"
