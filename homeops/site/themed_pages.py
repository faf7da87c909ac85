"""Pages in the site's theme without a MkDocs page each: the theme is rendered once, around markers.

MkDocs renders Material's templates for every page, a few milliseconds each; a thousand run records
would add seconds to every build. Record pages are therefore all rendered from one shell: the
theme's `main.html` for a stand-in page in the same directory as the record pages (so every relative
link of the theme is right for all of them), with markers where the title, the page's own name
and the content go. Filling the shell is string concatenation; the values put in are escaped
by the caller (the content) or here (the title). They are copied as static files, so they are in
neither the sitemap nor the search index: the log page is what readers and search engines find.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from mkdocs.commands.build import get_context
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.nav import Navigation
from mkdocs.structure.pages import Page
from mkdocs.structure.toc import get_toc

from homeops.site.markdown import html_text

TITLE, NAME, CONTENT = "HomeopsShellTitle", "homeops-shell-name", "HomeopsShellContent"


class ShellError(Exception):
    """The theme did not render the markers where expected."""


@dataclass(frozen=True)
class Shell:
    before: str
    after: str

    def fill(self, name: str, title: str, content: str) -> str:
        # The markers are replaced in the theme's text only, never in the content put in.
        def place(text: str) -> str:
            return text.replace(NAME, name).replace(TITLE, html_text(title))

        return place(self.before) + content + place(self.after)


def _active(nav: Navigation, src_uri: str | None, value: bool) -> None:
    for page in nav.pages:
        if page.file.src_uri == src_uri:
            page.active = value


def render_shell(config: MkDocsConfig, env, nav: Navigation, files: Files, directory: str,
                 section_page: str | None = None) -> Shell:
    """The theme around a page at `directory/<name>.html`; the nav opens at `section_page`'s section."""
    stand_in = File.generated(config, posixpath.join(directory, f"{NAME}.md"), content="")
    stand_in.url = stand_in.dest_uri = posixpath.join(directory, f"{NAME}.html")
    page = Page(TITLE, stand_in, config)
    page.markdown, page.content, page.toc, page.meta = "", CONTENT, get_toc([]), {}
    _active(nav, section_page, True)
    try:
        output = env.get_template("main.html").render(get_context(nav, files, config, page))
    finally:
        _active(nav, section_page, False)
    if output.count(CONTENT) != 1:
        raise ShellError(f"the theme rendered the content marker {output.count(CONTENT)} times, not once")
    before, after = output.split(CONTENT)
    return Shell(before, after)
