"""The network diagram is readable on a phone: at 390 px its smallest label is still text-sized."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from homeops import load_cluster
from tests.docs.site_build import ROOT
from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.docs.test_browser import OPEN_SHADOW_ROOTS, TIMEOUT_MS

pytestmark = pytest.mark.browser

CLUSTER = load_cluster(ROOT / "cluster.yaml")
# Body text on a phone is about 16 px; below about 11 px a label cannot be read without zooming.
SMALLEST_READABLE_FONT_PX = 11
SMALLEST_LABEL = """
() => {
  const svg = document.querySelector("div.mermaid").shadowRoot.querySelector("svg");
  const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;  // the SVG is scaled to fit
  const sizes = [...svg.querySelectorAll(".nodeLabel, .edgeLabel")]
    .map(e => parseFloat(getComputedStyle(e).fontSize) * scale);
  return {smallest: Math.min(...sizes), labels: sizes.length, width: svg.getBoundingClientRect().width,
          text: svg.textContent};
}
"""


def test_the_diagram_fits_a_phone_and_its_labels_stay_readable(served_site: tuple[Path, str]):
    _site, url = served_site
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=1)
            page.set_default_timeout(TIMEOUT_MS)
            page.add_init_script(OPEN_SHADOW_ROOTS)
            page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(url) else route.abort())
            page.goto(url + "networking/")
            page.locator("div.mermaid svg").wait_for()
            drawn = page.evaluate(SMALLEST_LABEL)
        finally:
            browser.close()
    assert drawn["width"] <= 390
    for words in ("Internet", "Cloudflare Tunnel", "Home network", "Router", "held by one node",
                  str(CLUSTER.network.control_plane_vip)):
        assert words in drawn["text"]
    assert drawn["labels"] > 10 and drawn["smallest"] >= SMALLEST_READABLE_FONT_PX, drawn
