"""The page `mkdocs serve` shows while the site does not build (tests/docs/test_serve_preview.py runs serve)."""

from __future__ import annotations

from homeops.site.preview import publish_error_site, showing_errors


def test_the_error_site_replaces_every_page_path_and_shows_the_errors_as_text(tmp_path):
    root = tmp_path / "served"
    (root / "networking").mkdir(parents=True)
    (root / "networking" / "index.html").write_text("the old page")
    (root / "assets").mkdir()
    (root / "assets" / "main.css").write_text("body {}")

    publish_error_site(root, ["cluster.yaml:6:11: cluster.domain: '<b>x</b>' is not a DNS domain name"])

    pages = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert pages == ["404.html", "index.html", "networking/index.html"]
    page = (root / "networking" / "index.html").read_text()
    assert "cluster.yaml:6:11: cluster.domain: &#x27;&lt;b&gt;x&lt;/b&gt;&#x27; is not a DNS domain name" in page
    assert "<b>x</b>" not in page
    assert page.rstrip().endswith("</html>") and "</body>" in page  # where the dev server injects live reload


def test_a_failing_builder_returns_so_that_the_server_answers(tmp_path):
    def failing_build():
        raise SystemExit("Aborted with 1 warnings in strict mode!")

    showing_errors(failing_build, tmp_path / "served")()

    assert "Aborted with 1 warnings in strict mode!" in (tmp_path / "served" / "index.html").read_text()


def test_a_good_build_is_left_to_publish_itself(tmp_path):
    calls = []
    showing_errors(lambda: calls.append("built"), tmp_path / "served")()
    assert calls == ["built"] and not (tmp_path / "served").exists()
