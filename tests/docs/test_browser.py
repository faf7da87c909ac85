"""The built site in Debian's Chromium, driven by Playwright, served from 127.0.0.1 only."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from tests.chromium import chromium

from homeops import load_cluster
from homeops.catalog import list_runbooks, read_runbook
from tests.docs.local_server import serve
from tests.docs.notebooks import make_notebook
from tests.docs.site_build import ROOT, build_site, copy_project

pytestmark = pytest.mark.browser


TIMEOUT_MS = 15_000
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CLUSTER = load_cluster(ROOT / "cluster.yaml")
# Material draws Mermaid into a *closed* shadow root; opening it lets the test see the SVG.
OPEN_SHADOW_ROOTS = """
const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) { return attach.call(this, {...init, mode: "open"}); };
"""


@pytest.fixture(scope="module")
def base_url(served_site: tuple[Path, str]) -> str:
    return served_site[1].rstrip("/")


@pytest.fixture(scope="module")
def runbook_site(site: Path, base_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, str]]:
    """(project, runbook name, base URL) of a site with at least one runbook page: the real one, or a
    copy with a notebook made here while runbooks/ is still empty."""
    runbooks = list_runbooks(ROOT / "runbooks")
    if runbooks:
        yield ROOT, runbooks[0].name, base_url
        return
    project = copy_project(tmp_path_factory.mktemp("with-runbook") / "project")
    make_notebook(project / "runbooks" / "drain-node.ipynb",
                  'config = "cluster.yaml"  # cluster file\napply = False  # plan or apply\nnode = ""  # node',
                  [("Step 1: Drain", "Moves the pods.")])
    (project / "site").mkdir()
    with serve(project / "site") as url:
        build = build_site(project, project / "site", HOMEOPS_SITE_URL=url)
        assert build.returncode == 0, build.output
        yield project, "drain-node", url.rstrip("/")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium(TIMEOUT_MS * 4) as launched:
        yield launched


@dataclass
class Visit:
    page: object
    console_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)

    def assert_clean(self) -> None:
        assert self.console_errors == [], "browser console errors"
        assert self.outside_requests == [], "the site reached outside 127.0.0.1"


@pytest.fixture
def visit(browser, base_url: str) -> Iterator[Visit]:
    context = browser.new_context(color_scheme="light", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.add_init_script(OPEN_SHADOW_ROOTS)
    visit = Visit(page)
    page.on("console", lambda msg: msg.type == "error" and visit.console_errors.append(msg.text))
    page.on("pageerror", lambda exc: visit.console_errors.append(str(exc)))

    def only_local(route):
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:  # no network in tests, and the published site must not depend on a CDN either
            visit.outside_requests.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(base_url + "/")
    yield visit
    context.close()


def test_home_page_shows_the_node_table_and_the_vip(visit: Visit):
    page = visit.page
    table = page.locator(".md-content article table", has=page.locator("th", has_text="Ceph OSDs"))
    table.wait_for()
    for node in CLUSTER.nodes:
        row = table.locator("tr", has=page.locator("td", has_text=node.name))
        assert row.locator("td").nth(2).inner_text() == str(node.address)
    assert page.get_by_text(str(CLUSTER.network.control_plane_vip), exact=True).first.is_visible()
    visit.screenshot("home")
    visit.assert_clean()


def test_search_finds_the_rook_ceph_page(visit: Visit):
    page = visit.page
    search = page.locator("input.md-search__input")
    search.click()
    search.press_sequentially("Rook-Ceph setup")
    result = page.locator(".md-search-result__item a[href*='storage/rook-ceph-setup']").first
    result.wait_for()
    visit.screenshot("search")
    result.click()
    page.wait_for_url("**/storage/rook-ceph-setup/**")
    # Instant navigation changes the URL before it swaps the article in: wait for the new heading.
    heading = page.locator(".md-content article h1", has_text="Rook-Ceph setup")
    heading.wait_for()
    assert heading.inner_text().startswith("Rook-Ceph setup")
    assert page.locator(".md-content article h1").count() == 1
    visit.assert_clean()


def test_network_diagram_renders_to_svg_after_instant_navigation(visit: Visit):
    page = visit.page
    # navigation.instant swaps the page in without a reload: the diagram must render then too.
    page.evaluate("window.loadedOnce = true")
    page.locator("nav.md-nav--primary a.md-nav__link[href$='networking/']").first.click()
    page.wait_for_url("**/networking/")
    assert page.evaluate("window.loadedOnce") is True, "the page was reloaded: instant navigation is off"
    svg = page.locator("div.mermaid svg")
    svg.wait_for()
    drawn = svg.text_content()
    for node in CLUSTER.nodes:
        assert node.name in drawn
    assert str(CLUSTER.network.control_plane_vip) in drawn
    svg.scroll_into_view_if_needed()
    visit.screenshot("network-diagram")
    visit.assert_clean()


def test_palette_toggle_switches_the_colour_scheme(visit: Visit):
    page = visit.page
    scheme = lambda: page.locator("body").get_attribute("data-md-color-scheme")
    assert scheme() == "default"
    page.locator("form[data-md-component='palette'] label:visible").first.click()
    page.wait_for_function("document.body.getAttribute('data-md-color-scheme') === 'slate'", timeout=TIMEOUT_MS)
    assert scheme() == "slate"
    visit.screenshot("home-dark")
    visit.assert_clean()


def test_runbook_page_shows_its_parameters_table(visit: Visit, runbook_site: tuple[Path, str, str]):
    project, name, url = runbook_site
    runbook = read_runbook(project / "runbooks" / f"{name}.ipynb")
    page = visit.page
    page.goto(f"{url}/runbooks/{name}/")
    table = page.locator(".md-content article table", has=page.locator("th", has_text="Parameter"))
    table.wait_for()
    names = table.locator("tbody tr td:first-child").all_inner_texts()
    assert names == [p.name for p in runbook.parameters]
    assert page.locator(".md-content article h1").inner_text().startswith(runbook.title)
    visit.screenshot(f"runbook-{name}")
    visit.assert_clean()


# What the reader reads as one token in a table's plain text: IPv4 addresses and CIDRs, versions,
# image references and cluster.yaml key paths (`network.load_balancers[].address`). Every code
# element of a table is one token too (the pages write addresses, versions, keys and paths as code),
# whatever it holds, and so is the first cell of a row (the row's name: a node, a component, a key).
TOKENS = r"""\d{1,3}(?:\.\d{1,3}){3}(?:\/\d{1,2})?|v\d+\.\d+\.\d+|[a-z0-9.-]+\/[a-z0-9._\/-]+:[\w.-]+|[a-z_]+(?:\[\])?(?:\.[a-z_]+(?:\[\])?)+"""
# Runs in the page: every way a token or a line can be broken, cut or covered, as text.
MEASURE = """(tokenPattern) => {
  const problems = [];
  const article = document.querySelector(".md-content article");
  const rects = (range) => [...range.getClientRects()].filter(r => r.width > 0 && r.height > 0);
  // The lines a text spans: boxes that overlap vertically sit on one line (code and prose differ in
  // height on the same line); a box below all of them starts another.
  const lines = (boxes) => {
    let count = 0, bottom = -Infinity;
    for (const r of [...boxes].sort((a, b) => a.top - b.top)) {
      if (r.top >= bottom - 1) { count += 1; bottom = r.bottom; } else { bottom = Math.max(bottom, r.bottom); }
    }
    return count;
  };
  const textNodes = (root) => {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    const nodes = [];
    for (let n = walker.nextNode(); n; n = walker.nextNode()) nodes.push(n);
    return nodes;
  };
  let tokens = 0, addresses = 0, codes = 0, names = 0;
  for (const cell of article.querySelectorAll("table td, table th")) {
    for (const node of textNodes(cell)) {
      for (const m of node.data.matchAll(new RegExp(tokenPattern, "g"))) {
        const range = document.createRange();
        range.setStart(node, m.index);
        range.setEnd(node, m.index + m[0].length);
        const spans = lines(rects(range));
        tokens += 1;
        if (/^\\d{1,3}(\\.\\d{1,3}){3}/.test(m[0])) addresses += 1;
        if (spans > 1) problems.push(`"${m[0]}" in a table breaks over ${spans} lines`);
      }
    }
    // An inline box broken over lines has one client rect per line.
    for (const code of cell.querySelectorAll("code")) {
      const boxes = [...code.getClientRects()].filter(r => r.width > 0 && r.height > 0);
      if (!boxes.length) continue;  // not shown (a closed details block)
      codes += 1;
      if (lines(boxes) > 1) problems.push(`\\`${code.textContent}\\` in a table breaks over ${lines(boxes)} lines`);
    }
  }
  for (const cell of article.querySelectorAll("table tr > td:first-child")) {
    const range = document.createRange();
    range.selectNodeContents(cell);
    const boxes = rects(range);
    if (!boxes.length || !cell.textContent.trim()) continue;
    names += 1;
    if (lines(boxes) > 1) problems.push(`the row name "${cell.textContent.trim().slice(0, 40)}" breaks over ${lines(boxes)} lines`);
  }
  const page = document.documentElement;
  if (page.scrollWidth > window.innerWidth + 1) {
    problems.push(`the page is ${page.scrollWidth}px wide in a ${window.innerWidth}px window: its right side is cut`);
  }
  // A line of text is cut when it runs past a box that hides what overflows, or past the window,
  // with no box in between that scrolls to it.
  for (const node of textNodes(article)) {
    if (!node.data.trim() || node.parentElement.closest("svg")) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const r of rects(range)) {
      let cut = null;
      for (let box = node.parentElement; box && box !== document.body; box = box.parentElement) {
        const overflow = getComputedStyle(box).overflowX;
        if (overflow === "auto" || overflow === "scroll") break;
        const edge = box.getBoundingClientRect();
        if ((overflow === "hidden" || overflow === "clip") && (r.right > edge.right + 1 || r.left < edge.left - 1)) {
          cut = `past the edge of ${box.tagName.toLowerCase()}.${String(box.className).split(" ")[0]}`;
          break;
        }
        if (box === article && r.right > window.innerWidth + 1) { cut = "past the window"; break; }
      }
      if (cut) problems.push(`"${node.data.trim().slice(0, 40)}" is cut: it runs ${cut}`);
    }
  }
  for (const button of article.querySelectorAll("pre > .md-code__nav")) {
    const code = button.parentElement.querySelector(":scope > code");
    if (!code || button.offsetParent === null) continue;
    const b = button.getBoundingClientRect(), box = code.getBoundingClientRect();
    for (const node of textNodes(code)) {
      if (!node.data.trim()) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      for (const r of rects(range)) {
        const left = Math.max(r.left, box.left), right = Math.min(r.right, box.right);
        const top = Math.max(r.top, box.top), bottom = Math.min(r.bottom, box.bottom);
        if (left >= right || top >= bottom) continue;  // scrolled out of the block's view
        if (left < b.right && right > b.left && top < b.bottom && bottom > b.top) {
          problems.push(`the copy button covers "${node.data.trim().slice(0, 40)}"`);
        }
      }
    }
  }
  for (const number of article.querySelectorAll(
      ".language-sh .m, .language-bash .m, .language-shell .m, .language-console .m")) {
    if (getComputedStyle(number).color !== getComputedStyle(number.closest("code")).color) {
      problems.push(`the shell highlighter colours "${number.textContent}" apart from its line`);
    }
  }
  return {problems, tokens, addresses, codes, names};
}"""
WIDTHS = {"desktop": 1400, "phone": 390}


def site_pages(site_dir: Path) -> list[str]:
    """Every page of the built site, record pages included, as the path after the base URL ("" for the
    home page). Not the 404 page: the theme's own."""
    pages = []
    for path in site_dir.rglob("*.html"):
        relative = path.relative_to(site_dir)
        if relative.name == "index.html":
            pages.append("" if relative.parent == Path(".") else relative.parent.as_posix() + "/")
        elif relative != Path("404.html"):
            pages.append(relative.as_posix())
    return sorted(pages)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("device", list(WIDTHS))
def test_every_page_keeps_tokens_whole_cuts_nothing_and_is_kept_as_screenshots(
        browser, served_site: tuple[Path, str], device: str, scheme: str):
    site_dir, url = served_site
    context = browser.new_context(color_scheme=scheme, viewport={"width": WIDTHS[device], "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.add_init_script(OPEN_SHADOW_ROOTS)
    problems: dict[str, list[str]] = {}
    addresses = codes = names = 0
    pages = site_pages(site_dir)
    assert [p for p in pages if p.startswith("operations/maintenance-log/") and p.endswith(".html")], \
        "the planted record's page is swept too"
    try:
        for path in pages:
            page.goto(url + path)
            if page.locator("div.mermaid").count():
                page.locator("div.mermaid svg").first.wait_for()
            found = page.evaluate(MEASURE, TOKENS)
            addresses += found["addresses"]
            codes += found["codes"]
            names += found["names"]
            if found["problems"]:
                problems[path or "home"] = found["problems"]
            name = (path.removesuffix(".html").strip("/").replace("/", "-") or "home") + f"-{WIDTHS[device]}-{scheme}"
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    finally:
        context.close()
    # The measurement saw the address tables (node, load-balancer and address plan) of the site, the
    # code of every table (the address plan writes each address as code) and the rows' names.
    assert addresses >= 2 * len(CLUSTER.addresses())
    assert codes >= len(CLUSTER.addresses()) and names >= len(CLUSTER.nodes)
    assert problems == {}


# What a newcomer sees first: the window of a desktop and of a phone (an iPhone 14's CSS viewport).
FIRST_SCREEN = {"desktop": (1400, 900), "phone": (390, 844)}


@pytest.mark.parametrize("device", list(FIRST_SCREEN))
def test_start_here_is_the_first_thing_on_the_home_page(browser, base_url: str, device: str):
    width, height = FIRST_SCREEN[device]
    context = browser.new_context(color_scheme="light", viewport={"width": width, "height": height})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        page.goto(base_url + "/")
        seen = page.evaluate("""() => {
          const article = document.querySelector(".md-content article");
          const heading = article.querySelector("h2");
          const steps = heading.nextElementSibling.tagName === "OL" ? heading.nextElementSibling
                      : heading.nextElementSibling.nextElementSibling;
          const before = [...article.children].filter(e => e.compareDocumentPosition(heading) & Node.DOCUMENT_POSITION_FOLLOWING
                                                          && !e.matches("a.md-content__button"));
          return {heading: heading.textContent.replace("¶", "").trim(), top: heading.getBoundingClientRect().top,
                  steps: steps.tagName, count: steps.children.length,
                  firstStepBottom: steps.children[0].getBoundingClientRect().bottom,
                  lastStepTop: steps.children[steps.children.length - 1].getBoundingClientRect().top,
                  before: before.map(e => e.tagName), window: window.innerHeight};
        }""")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"start-here-{width}.png"), full_page=False)
    finally:
        context.close()
    assert seen["heading"] == "Start here" and seen["steps"] == "OL" and seen["count"] == 4
    assert seen["before"] == ["H1", "P"], "only the title and one sentence come before Start here"
    assert seen["firstStepBottom"] <= seen["window"], "the first step is on the first screen"
    assert seen["lastStepTop"] < seen["window"], "every step starts on the first screen"


# The pages whose tables are widest, and the column a reader must not have to scroll to.
WIDE_TABLES = {"reference/cluster-yaml/": "Description", "operations/maintenance-log/": "Record"}


@pytest.mark.parametrize("path", list(WIDE_TABLES))
def test_every_column_of_the_widest_tables_is_on_screen_at_1400_px(browser, base_url: str, path: str):
    context = browser.new_context(color_scheme="light", viewport={"width": 1400, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        page.goto(f"{base_url}/{path}")
        tables = page.evaluate("""() => [...document.querySelectorAll(".md-content article table")].map(table => {
          const box = (table.closest(".md-typeset__scrollwrap") || table.parentElement).getBoundingClientRect();
          return {right: Math.min(box.right, window.innerWidth),
                  columns: [...table.querySelectorAll("th")].map(th => [th.textContent.trim(), th.getBoundingClientRect().right])};
        })""")
        page.screenshot(path=str(SCREENSHOTS / f"columns-{path.strip('/').replace('/', '-')}-1400.png"), full_page=False)
    finally:
        context.close()
    assert tables and any(WIDE_TABLES[path] in [name for name, _ in t["columns"]] for t in tables)
    cut = [(name, round(right), round(t["right"])) for t in tables for name, right in t["columns"] if right > t["right"] + 1]
    assert cut == [], "columns past the visible edge of their table (name, column's right, edge)"


@pytest.mark.parametrize("device", list(FIRST_SCREEN))
def test_start_here_leads_page_by_page_to_the_bootstrap(browser, base_url: str, device: str):
    """A newcomer clicks the first step, then each page's "Next" link, and arrives at the bootstrap."""
    width, height = FIRST_SCREEN[device]
    context = browser.new_context(color_scheme="light", viewport={"width": width, "height": height})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    titles = []
    try:
        page.goto(base_url + "/")
        title = "() => document.querySelector('.md-content article h1').textContent"
        # Instant navigation swaps the article in after the URL changes: wait for another title.
        before = page.evaluate(title)
        page.locator(".md-content article ol li a", has_text="Make the repository yours").first.click()
        for _ in range(3):
            page.wait_for_function(f"old => ({title})() !== old", arg=before)
            before = page.evaluate(title)
            titles.append(before.replace("¶", "").strip())
            if titles[-1] == "Bootstrap the cluster":
                break
            page.locator(".md-content article p", has=page.locator("strong", has_text="Next:")).locator("a").click()
        page.screenshot(path=str(SCREENSHOTS / f"start-here-path-end-{width}.png"), full_page=False)
    finally:
        context.close()
    assert titles == ["Make the repository yours", "Boot the nodes", "Bootstrap the cluster"]
