"""What the cluster or a run says reaches the site as text, never as markup, and never with a secret.

A twin reports an OS image full of markup; a real `homeops run` against it stops and quotes it; the
site is built from that record, and from a copy of it that someone edited by hand to carry secrets.
The maintenance log and the record's own page must show the characters, run nothing, link nowhere
new, and show no secret.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from homeops import load_cluster
from homeops.site.record_cache import cache_dir
from homeops.twin import create as create_twin
from homeops.twin import state as twin_state
from tests.docs.html_text import article_tables, article_text
from tests.docs.site_build import ROOT, build_site, copy_project, page_html
from tests.docs.test_secrets_in_site import scan

HOSTILE = "<img src=x onerror=alert(1)> | `tick` {{ 7*7 }} [link](javascript:alert(2)) <script>alert(3)</script>"
RUN_TIMEOUT_SECONDS = 300


class Elements(HTMLParser):
    """Every element inside <article>, with its attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.found: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "article":
            self.depth += 1
        elif self.depth:
            self.found.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag == "article":
            self.depth -= 1


def live_markup(html: str) -> list[str]:
    """Anything in the article that a browser would run or follow: scripts, handlers, script links."""
    parser = Elements()
    parser.feed(html)
    live = []
    for tag, attrs in parser.found:
        if tag in ("script", "img", "iframe", "object", "embed", "form", "input"):  # (the theme draws icons as <svg>)
            live.append(f"<{tag}>")
        live += [f"<{tag} {name}>" for name in attrs if name.startswith("on")]
        live += [f"<{tag} {name}={value}>" for name, value in attrs.items()
                 if name in ("href", "src", "action") and (value or "").strip().lower().startswith(("javascript:", "data:"))]
    return live


def record_page(site: Path, record: Path) -> str:
    return (site / "operations" / "maintenance-log" / f"{record.stem}.html").read_text(encoding="utf-8")


def hostile_record(work: Path) -> Path:
    """A real run of worker-upgrade against a twin whose worker-2 reports a hostile OS image."""
    twin_dir, records = work / "twin", work / "records"
    create_twin(twin_dir, load_cluster(ROOT / "cluster.yaml"))
    with twin_state.change(str(twin_dir)) as state:
        next(n for n in state["nodes"] if n["name"] == "worker-2")["talos_version"] = HOSTILE
    env = {**os.environ, "PATH": f"{twin_dir / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run([sys.executable, "-m", "homeops", "run", "worker-upgrade", "--twin", str(twin_dir),
                           "--records", str(records)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_SECONDS, check=False)
    assert done.returncode == 1, done.stdout + done.stderr
    (record,) = records.glob("*.ipynb")
    assert HOSTILE in json.loads(record.read_text())["metadata"]["homeops"]["reason"], "the twin did not carry it"
    return record


def fake_secrets() -> list[str]:
    bech32 = "".join(secrets.choice("023456789ACDEFGHJKLMNPQRSTUVWXYZ") for _ in range(58))
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmbHV4In0." + secrets.token_urlsafe(32)
    return [f"AGE-SECRET-KEY-1{bech32}", jwt, secrets.token_urlsafe(30)]


def copied_in_with_secrets(record: Path) -> tuple[Path, list[str]]:
    """The same record as someone might copy it in by hand: unredacted secrets in its reason and output."""
    age_key, jwt, bearer = planted = fake_secrets()
    notebook = json.loads(record.read_text())
    notebook["metadata"]["homeops"]["reason"] += f"; sops: decrypted with age identity {age_key}"
    code_cell = next(c for c in notebook["cells"] if c.get("outputs"))
    code_cell["outputs"].append({"output_type": "stream", "name": "stdout",
                                 "text": f"token: {jwt}\nAuthorization: Bearer {bearer}\n{age_key}\n"})
    copy = record.with_name("20260101T000000Z-worker-upgrade.ipynb")
    copy.write_text(json.dumps(notebook))
    return copy, planted


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("run-text")
    record = hostile_record(work)
    copy, secrets = copied_in_with_secrets(record)
    project = copy_project(work / "project")
    build = build_site(project, work / "site", HOMEOPS_RECORDS=str(record.parent))
    assert build.returncode == 0, build.output
    return {"site": work / "site", "project": project, "record": record, "copy": copy, "secrets": secrets}


def test_the_log_shows_the_hostile_reason_as_text(built):
    page = page_html(built["site"], "operations/maintenance-log")
    rows = [row for table in article_tables(page) for row in table if row and row[-1] == built["record"].name]
    assert len(rows) == 1
    assert " ".join(HOSTILE.split()) in rows[0][4]
    assert live_markup(page) == []
    assert "49" not in rows[0][4], "a Jinja expression from the cluster was evaluated"


def test_the_record_page_shows_the_hostile_reason_as_text(built):
    page = record_page(built["site"], built["record"])
    text = article_text(page)
    assert "Stopped" in text and f"does not report a Talos version (OS image 'Talos ({HOSTILE})')" in text
    assert live_markup(page) == []


def test_the_record_page_shows_the_outcome_first_then_the_run(built):
    page = record_page(built["site"], built["record"])
    text = article_text(page)
    assert text.index("Stopped") < text.index("Why:") < text.index("Left in place: nothing (nothing was changed)") \
        < text.index("The run") < text.index("Step 2: Preflight gates") < text.index("Flux Ready")
    assert 'href="../../runbooks/worker-upgrade/"' in page
    assert "<h1" in page and f"worker-upgrade, " in article_text(page)[:80]


def test_the_log_links_each_record_to_its_page(built):
    page = page_html(built["site"], "operations/maintenance-log")
    for record in (built["record"], built["copy"]):
        assert f'href="{record.stem}.html"' in page
        assert (built["site"] / "operations" / "maintenance-log" / f"{record.stem}.html").is_file()


def test_a_record_copied_in_with_secrets_shows_none_of_them(built):
    published = "".join(p.read_text(encoding="utf-8") for p in built["site"].rglob("*.html"))
    published += (built["site"] / "search" / "search_index.json").read_text(encoding="utf-8")
    for secret in built["secrets"]:
        assert secret not in published
    assert scan(built["site"]) == []
    assert "[REDACTED" in record_page(built["site"], built["copy"])


def test_rendered_records_are_cached_by_their_content(built):
    records, site = built["record"].parent, built["site"]
    cached = sorted(cache_dir(records).glob("*.html"))
    assert len(cached) == 2
    for entry in cached:
        entry.write_text(entry.read_text() + "<p>from the cache</p>")
    # The finished pages (the theme around each record) are gone, as after a change to the navigation:
    # the pages are made again from the rendered records, not from the records.
    for finished in (cache_dir(records) / "pages").glob("*.html"):
        finished.unlink()
    assert build_site(built["project"], site, HOMEOPS_RECORDS=str(records)).returncode == 0
    assert "from the cache" in record_page(site, built["record"])

    notebook = json.loads(built["record"].read_text())
    notebook["metadata"]["homeops"]["outcome"] = "interrupted"
    built["record"].write_text(json.dumps(notebook))
    assert build_site(built["project"], site, HOMEOPS_RECORDS=str(records)).returncode == 0
    changed = record_page(site, built["record"])
    assert "from the cache" not in changed and "Interrupted" in article_text(changed)
    assert "from the cache" in record_page(site, built["copy"])


def test_an_unchanged_record_page_is_linked_from_the_cache_and_the_cache_keeps_only_live_pages(built, tmp_path):
    records = built["record"].parent
    site = tmp_path / "site"
    assert build_site(built["project"], site, HOMEOPS_RECORDS=str(records)).returncode == 0
    page = site / "operations" / "maintenance-log" / f"{built['copy'].stem}.html"
    (finished,) = [p for p in (cache_dir(records) / "pages").glob("*.html") if p.samefile(page)]
    assert finished.stat().st_mode & 0o044 == 0o044, "the site's files are readable by a web server"
    before = page.read_text(encoding="utf-8")

    # Built again for another address: another theme around the same records, so new finished pages;
    # the old ones stay while the first site links to them.
    other = tmp_path / "other-site"
    assert build_site(built["project"], other, HOMEOPS_RECORDS=str(records),
                      HOMEOPS_SITE_URL="https://lab.example/docs/").returncode == 0
    relinked = other / "operations" / "maintenance-log" / f"{built['copy'].stem}.html"
    assert not relinked.samefile(page) and finished.exists()
    assert "https://lab.example/docs/" in relinked.read_text(encoding="utf-8")

    # Once no site links to them, the next build removes them, and the page reads as it did.
    for directory in (site, other):
        for path in sorted(directory.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
    assert build_site(built["project"], site, HOMEOPS_RECORDS=str(records)).returncode == 0
    assert page.read_text(encoding="utf-8") == before
    live = {p.stat().st_ino for p in site.rglob("*.html")}
    assert {p.stat().st_ino for p in (cache_dir(records) / "pages").glob("*.html")} <= live


@pytest.mark.browser
def test_no_script_fires_in_a_browser(built):
    from playwright.sync_api import sync_playwright

    from tests.docs.local_server import serve

    with serve(built["site"]) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                             args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            page = browser.new_page()
            page.add_init_script("window.alert = () => { window.hostileRan = (window.hostileRan || 0) + 1; };")
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(url) else route.abort())
            for path in ("operations/maintenance-log/", f"operations/maintenance-log/{built['record'].stem}.html"):
                page.goto(url + path)
                page.wait_for_load_state("load")
                page.wait_for_timeout(300)  # an <img onerror> would have fired by now
                assert page.evaluate("window.hostileRan || 0") == 0, path
                assert page.get_by_text("<img src=x onerror=alert(1)>", exact=False).first.is_visible(), path
        finally:
            browser.close()
