"""The site as a newcomer follows it: "Start here" on the home page, then page by page to a
bootstrapped cluster, with the commands written one way, and a troubleshooting page for each stage."""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path

import pytest

from homeops import load_cluster
from homeops.catalog import list_runbooks
from homeops.site import boot_media
from homeops.site.folding import FOLD_AFTER_LINES
from homeops.site.publishing import NAME_PLACEHOLDER, OWNER_PLACEHOLDER
from tests.docs.html_text import article_text
from tests.docs.site_build import ROOT, page_html

CLUSTER = load_cluster(ROOT / "cluster.yaml")
RUNBOOKS = list_runbooks(ROOT / "runbooks")
# The path of Start here, in the order a newcomer walks it.
PATH = ["getting-started/prerequisites", "getting-started/repository", "getting-started/boot-nodes",
        "getting-started/initial-setup"]


def headings(html: str, level: int) -> list[str]:
    return [html_lib.unescape(re.sub(r"<[^>]+>", "", h)).replace("¶", "").strip()
            for h in re.findall(rf"<h{level}[^>]*>(.*?)</h{level}>", html, re.DOTALL)]


def test_start_here_is_the_first_section_of_the_home_page_and_links_each_step(site: Path):
    home = page_html(site, "")
    assert headings(home, 2)[0] == "Start here"
    start = home[home.index('id="start-here"'):home.index("<h2", home.index('id="start-here"'))]
    links = re.findall(r'href="([^"#]+)', start)
    for step in ("getting-started/repository/", "getting-started/boot-nodes/", "getting-started/initial-setup/",
                 "getting-started/troubleshooting/", "getting-started/prerequisites/"):
        assert step in links, step
    text = article_text(f"<article>{start}</article>")
    for command in ("homeops validate", "homeops render", "talosctl get disks --insecure",
                    "talosctl get links --insecure", "homeops run bootstrap", "homeops rehearse bootstrap",
                    "homeops run bootstrap --apply"):
        assert command in text, command
    assert f'href="{boot_media.iso_url(CLUSTER)}"' in start


def test_the_image_factory_links_are_built_from_the_schematic_and_the_talos_version():
    schematic, version = CLUSTER.talos.schematic_id, CLUSTER.versions.talos
    assert boot_media.iso_url(CLUSTER) == f"https://factory.talos.dev/image/{schematic}/{version}/metal-amd64.iso"
    assert boot_media.pxe_url(CLUSTER, "arm64") == f"https://pxe.talos.dev/pxe/{schematic}/{version}/metal-arm64"


def test_each_page_of_the_path_links_to_the_next(site: Path):
    for here, there in zip(PATH, PATH[1:]):
        page = page_html(site, here)
        nexts = re.findall(r"<strong>Next:</strong>\s*<a href=\"([^\"]+)\"", page)
        assert nexts == [f"../{there.rsplit('/', 1)[1]}/"], here


def test_boot_nodes_finds_every_nodes_disks_and_macs_in_maintenance_mode(site: Path):
    text = article_text(page_html(site, "getting-started/boot-nodes"))
    for node in CLUSTER.nodes:
        assert f"talosctl -n {node.address} get disks --insecure" in text
        assert f"talosctl -n {node.address} get links --insecure" in text
        assert f"talosctl -n {node.address} get machinestatus --insecure" in text
    assert boot_media.iso_url(CLUSTER) in text and boot_media.pxe_url(CLUSTER) in text
    assert "curl -sX POST --data-binary @talos/schematic.yaml https://factory.talos.dev/schematics" in text


def test_the_bootstrap_page_plans_rehearses_then_applies_the_runbook(site: Path):
    text = article_text(page_html(site, "getting-started/initial-setup"))
    plan, rehearse, apply = (text.index(c) for c in ("homeops run bootstrap ", "homeops rehearse bootstrap --scenario",
                                                        "homeops run bootstrap --apply"))
    assert plan < rehearse < apply < text.index("talosctl gen secrets")


def test_the_age_key_is_made_before_sops_yaml_is_first_rendered(site: Path):
    walked = " ".join(article_text(page_html(site, page)) for page in PATH)
    assert walked.index("age-keygen") < walked.index("homeops render")
    setup = article_text(page_html(site, "getting-started/initial-setup"))
    assert "age-keygen --output" not in setup, "the key is made once, before the first render"
    assert "create secret generic sops-age" in setup


def test_without_a_repository_the_flux_bootstrap_shows_placeholders_under_a_warning(site: Path):
    assert CLUSTER.repository is None, "cluster.yaml sets repository: tests/docs/test_publishing.py covers that"
    page = page_html(site, "getting-started/initial-setup")
    text = article_text(page)
    assert f"--owner={OWNER_PLACEHOLDER} --repository={NAME_PLACEHOLDER}" in text
    warnings = re.findall(r'<div class="admonition warning">(.*?)</div>', page, re.DOTALL)
    assert [w for w in warnings if "<code>repository</code> is not set in cluster.yaml" in w]
    assert text.index("is not set in cluster.yaml") < text.index(f"--owner={OWNER_PLACEHOLDER}")


def test_long_rendered_files_fold_and_short_ones_stay_open(site: Path):
    page = page_html(site, "getting-started/initial-setup")
    folded = re.findall(r"<details class=\"abstract\">\s*<summary>(.*?)</summary>", page, re.DOTALL)
    values = (ROOT / "kubernetes/apps/kube-system/cilium/app/values.yaml").read_text()
    assert len(values.splitlines()) > FOLD_AFTER_LINES
    assert any("kubernetes/apps/kube-system/cilium/app/values.yaml" in summary for summary in folded)
    short = (ROOT / "kubernetes/flux/flux-system/kustomization.yaml").read_text()
    assert len(short.splitlines()) <= FOLD_AFTER_LINES
    assert not any("flux-system/kustomization.yaml" in summary for summary in folded)
    assert "k8sServicePort" in page, "a folded file is still on the page (and in the search index)"


def test_homeops_is_written_one_way_and_the_other_form_is_said_once(site: Path):
    pages = {p.relative_to(site).as_posix(): p.read_text(encoding="utf-8") for p in site.rglob("index.html")}
    said = {name: article_text(html).count(".venv/bin/homeops") for name, html in pages.items()}
    assert {name: n for name, n in said.items() if n} == {"index.html": 1}
    assert "source .venv/bin/activate" in article_text(pages["index.html"])


@pytest.mark.parametrize("section", ["Nodes stuck in maintenance mode", "etcd not starting", "Cilium not Ready",
                                     "Flux stuck", "A certificate pending"])
def test_troubleshooting_shows_the_commands_that_say_why(site: Path, section: str):
    page = page_html(site, "getting-started/troubleshooting")
    assert section in headings(page, 2)
    start = page.index(f">{section}<")
    end = page.find("<h2", start)
    commands = article_text(f"<article>{page[start:end if end != -1 else len(page)]}</article>")
    expected = {
        "Nodes stuck in maintenance mode": ["get machinestatus --insecure", "get disks --insecure", "get links --insecure"],
        "etcd not starting": [f"talosctl -n {CLUSTER.control_planes[0].address} service etcd", "etcd members", "logs etcd"],
        "Cilium not Ready": ["cilium status --wait", "kubectl -n kube-system get pods -l k8s-app=cilium"],
        "Flux stuck": ["flux get kustomizations -A", "flux get helmreleases -A", "flux logs --all-namespaces --level=error"],
        "A certificate pending": ["kubectl get certificates -A", "kubectl get certificaterequests,orders,challenges -A",
                                  "kubectl describe challenges -A"],
    }[section]
    for command in expected:
        assert command in commands, command


def test_a_runbook_that_needs_a_node_shows_it_in_every_command(site: Path):
    (ceph,) = [rb for rb in RUNBOOKS if rb.name == "ceph-maintenance"]
    text = article_text(page_html(site, "runbooks/ceph-maintenance"))
    for command in ("homeops run ceph-maintenance -p node=NODE", "homeops rehearse ceph-maintenance --scenario FILE -p node=NODE",
                    "homeops run ceph-maintenance -p node=NODE --apply"):
        assert command in text, command
    assert not re.search(r"homeops run ceph-maintenance(?! -p node=)", text)


@pytest.mark.parametrize("runbook", RUNBOOKS, ids=[rb.name for rb in RUNBOOKS])
def test_every_runbook_page_says_how_to_open_it_in_the_lab_and_what_to_rehearse_with(site: Path, runbook):
    text = article_text(page_html(site, f"runbooks/{runbook.name}"))
    assert f"homeops lab {runbook.name}" in text
    assert "runbooks/scenarios/" in text
    for scenario in sorted((ROOT / "runbooks" / "scenarios").glob("*.yaml")):
        comments = [line for line in scenario.read_text().splitlines() if line.lstrip().startswith("#")]
        if any(f"homeops rehearse {runbook.name} " in line for line in comments):
            assert f"runbooks/scenarios/{scenario.name}" in text, scenario.name
