"""The built site (one build per session): every page the issue asks for, with the facts of cluster.yaml."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
import yaml

from homeops import load_cluster
from homeops.catalog import list_runbooks
from homeops.site.technology import TECHNOLOGIES
from tests.docs.html_text import article_tables, article_text
from tests.docs.records import PLANTED_RECORD
from tests.docs.site_build import ROOT, page_html

CLUSTER = load_cluster(ROOT / "cluster.yaml")
RUNBOOKS = list_runbooks(ROOT / "runbooks")

PAGES = [
    "", "getting-started/prerequisites", "getting-started/repository", "getting-started/boot-nodes",
    "getting-started/initial-setup", "getting-started/troubleshooting", "operations",
    "operations/worker-upgrade-procedure", "operations/maintenance-log", "storage/rook-ceph-setup",
    "storage/zfs-provisioner", "networking", "security/secrets", "reference/cluster-yaml", "contributing",
]


@pytest.mark.parametrize("url_path", PAGES)
def test_page_is_built_with_a_title_and_listed_in_the_sitemap(site: Path, url_path: str):
    page = page_html(site, url_path)
    assert re.search(r"<h1[^>]*>[^<]+", page), f"{url_path or 'home'} has no title"
    assert f"/{url_path}/</loc>".replace("//", "/") in (site / "sitemap.xml").read_text()


def test_home_page_has_the_node_table_the_vip_and_the_counts(site: Path):
    page = page_html(site, "")
    text = article_text(page)
    node_table = next(t for t in article_tables(page) if t[0] == ["Node", "Role", "Address", "Ceph OSDs"])
    assert node_table[1:] == [[n.name, n.role, str(n.address), str(n.osd_count)] for n in CLUSTER.nodes]
    assert str(CLUSTER.network.control_plane_vip) in text
    assert f"{len(CLUSTER.control_planes)} control-plane nodes" in text
    assert f"{len(CLUSTER.workers)} worker nodes" in text


def test_home_page_states_the_etcd_fault_tolerance_of_two_control_planes(site: Path):
    assert len(CLUSTER.control_planes) == 2, "cluster.yaml changed: this test pins the two-node warning"
    page = page_html(site, "")
    assert 'class="admonition warning"' in page
    assert "etcd tolerates no control-plane failure" in article_text(page)


def test_home_page_technology_tables_show_each_component_with_its_pinned_version(site: Path):
    rows = {row[0]: row for table in article_tables(page_html(site, "")) for row in table[1:] if len(row) == 3}
    for tech in TECHNOLOGIES:
        version = getattr(CLUSTER.versions, tech.version_key) or "not pinned"
        assert rows[tech.name][1:] == [tech.purpose, version]


def test_home_page_promises_only_the_storage_the_rendered_ceph_cluster_provides(site: Path):
    values = yaml.safe_load((ROOT / "kubernetes/apps/rook-ceph/cluster/helmrelease.yaml").read_text())["spec"]["values"]
    rows = {row[0]: row for table in article_tables(page_html(site, "")) for row in table[1:] if len(row) == 3}
    purpose = rows["Rook-Ceph"][1].lower()
    assert values["cephBlockPools"] and "block" in purpose
    for kind, key in (("file", "cephFileSystems"), ("object", "cephObjectStores")):
        assert (kind in purpose) == bool(values.get(key)), f"{kind} storage: {key} is {values.get(key)!r}"


def test_home_page_shows_every_component_table_at_once_without_tabs(site: Path):
    page = page_html(site, "")
    tables = [t for t in article_tables(page) if t[0] == ["Component", "Purpose", "Version"]]
    assert sum(len(t) - 1 for t in tables) == len(TECHNOLOGIES)
    assert 'class="tabbed-set' not in page
    text = article_text(page)
    for heading in ("Core", "Storage", "Networking", "Security"):
        assert f"{heading}¶" in text
    if all(getattr(CLUSTER.versions, t.version_key) for t in TECHNOLOGIES):
        assert "not pinned" not in text.lower(), "a note about unpinned versions with nothing unpinned"


def test_home_page_has_every_part_of_the_overview(site: Path):
    page = page_html(site, "")
    text = article_text(page)
    assert "Already have a running cluster?" in text
    for target in ("runbooks/cluster-health/", "operations/", "operations/worker-upgrade-procedure/",
                   "operations/maintenance-log/", "storage/rook-ceph-setup/", "getting-started/prerequisites/",
                   "getting-started/initial-setup/", "networking/"):
        assert f'href="{target}"' in page, target
    assert "Gateway API (not Ingress)" in text


def test_no_page_says_the_api_is_served_by_every_control_plane_node(site: Path):
    wrong = re.compile(r"shared address by every control-plane node|shared by the control-plane nodes"
                       r"|served by (?:every|each|all) control-plane", re.IGNORECASE)
    said = {p.relative_to(site).as_posix() for p in site.rglob("*.html") if wrong.search(article_text(p.read_text()))}
    assert said == set()
    assert "held by one control-plane node at a time" in article_text(page_html(site, ""))


def test_initial_setup_applies_the_config_to_every_node_with_the_installer_image(site: Path):
    text = article_text(page_html(site, "getting-started/initial-setup"))
    for node in CLUSTER.nodes:
        kind = "controlplane" if node.role == "control-plane" else "worker"
        assert (f"talosctl machineconfig patch talos/generated/{kind}.yaml --patch @talos/nodes/{node.name}.yaml "
                f"--output talos/generated/{node.name}.yaml") in text
        assert f"talosctl apply-config --insecure --nodes {node.address} --file talos/generated/{node.name}.yaml" in text
    assert f"--install-image {CLUSTER.installer_image()}" in text
    assert f"talosctl bootstrap --nodes {CLUSTER.control_planes[0].address}" in text
    for step in ("talosctl gen secrets", "talosctl gen config", "talosctl kubeconfig", "flux bootstrap github",
                 "sops-age", "cilium status", "flux check"):
        assert step in text


def test_worker_upgrade_procedure_upgrades_each_worker_and_links_its_runbook(site: Path):
    page = page_html(site, "operations/worker-upgrade-procedure")
    text = article_text(page)
    for node in CLUSTER.workers:
        assert f"talosctl -n {node.address} upgrade -i {CLUSTER.installer_image()} --timeout 10m" in text
        assert f"ceph osd set-group noout {node.name}" in text
        assert f"kubectl uncordon {node.name}" in text
    if (ROOT / "runbooks" / "worker-upgrade.ipynb").exists():
        assert 'href="../../runbooks/worker-upgrade/"' in page
    else:
        assert "runbook is not in runbooks/ yet" in text


def test_networking_page_has_every_address_and_a_generated_mermaid_diagram(site: Path):
    page = page_html(site, "networking")
    plan = next(t for t in article_tables(page) if t[0] == ["Address", "Used by", "Kind"])
    assert plan[1:] == [list(row) for row in CLUSTER.addresses()]
    diagram = re.search(r'<pre class="mermaid"><code>(.*?)</code></pre>', page, re.DOTALL)
    assert diagram, "no Mermaid block on the networking page"
    source = html.unescape(diagram.group(1))
    assert "\nflowchart TB\n" in source
    for address, _owner, _kind in CLUSTER.addresses():
        assert address in source


def test_cluster_yaml_reference_lists_keys_with_type_and_description(site: Path):
    reference = next(t for t in article_tables(page_html(site, "reference/cluster-yaml")) if t[0][0] == "Key")
    rows = {row[0]: row for row in reference[1:]}
    assert rows["network.control_plane_vip"] == [
        "network.control_plane_vip", "IPv4 address", "required",
        "Shared virtual IP of the Kubernetes API, inside node_cidr."]
    assert rows["versions.cloudflared"][2] == "optional, unset"
    assert rows["secrets.store"][2] == "optional, default cluster-secrets"


def test_the_reference_shows_no_python_repr_as_a_default_and_keeps_code_in_descriptions(site: Path):
    page = page_html(site, "reference/cluster-yaml")
    reference = next(t for t in article_tables(page) if t[0][0] == "Key")
    rows = {row[0]: row for row in reference[1:]}
    # `secrets` may be left out; its default was shown as the model's repr, `age_public_key=None store=...`
    assert rows["secrets"][2] == "optional, each key's own default"
    assert not [row for row in reference[1:] if re.search(r"\w+=(None|'|\(|\[)", row[2])]
    # a description's `code` is code, not backticks shown as text
    assert not [row[0] for row in reference[1:] if "`" in row[3]]
    assert "<code>.sops.yaml</code>" in page


def test_operations_index_links_to_every_runbook_page(site: Path):
    page = page_html(site, "operations")
    for runbook in RUNBOOKS:
        assert f'href="../runbooks/{runbook.name}/"' in page, runbook.name
        assert (site / "runbooks" / runbook.name / "index.html").is_file()


@pytest.mark.parametrize("runbook", RUNBOOKS, ids=[rb.name for rb in RUNBOOKS])
def test_runbook_page_starts_with_what_to_do_then_steps_and_parameters(site: Path, runbook):
    page = page_html(site, f"runbooks/{runbook.name}")
    text = article_text(page)
    params = next(t for t in article_tables(page) if t[0] == ["Parameter", "Type", "Default", "Help"])
    shown = [p for p in runbook.parameters if not (runbook.read_only and p.name == "apply")]
    assert [row[0] for row in params[1:]] == [p.name for p in shown]
    assert [row[2] for row in params[1:]] == [" ".join(p.source.split()) for p in shown]
    assert text.index("What to do") < text.index("Steps") < text.index("Parameters")
    for step in runbook.steps:
        assert step in text
    what_to_do = text[text.index("What to do"):text.index("Steps¶")]
    assert f"homeops run {runbook.name}" in what_to_do
    if runbook.read_only:
        assert f"homeops run {runbook.name} --apply" not in text
    else:
        # with the values a run must be given (`-p node=NODE`) between the name and --apply
        apply = re.search(rf"homeops run {runbook.name}(?: -p \S+)* --apply", what_to_do)
        assert apply and what_to_do.index(f"homeops run {runbook.name}") < apply.start()
    assert "/tests/" not in page, "test files are for developers (the contributing page)"
    repository = CLUSTER.repository
    if repository is None:  # no link to a guessed repository (tests/docs/test_publishing.py builds with one)
        assert "/blob/" not in page and "/edit/" not in page
    else:
        assert f'href="{repository.url}/edit/{repository.branch}/runbooks/{runbook.name}.ipynb"' in page


def test_cluster_health_is_declared_read_only_and_its_page_says_so(site: Path):
    (health,) = [rb for rb in RUNBOOKS if rb.name == "cluster-health"]
    assert health.read_only and not any(rb.read_only for rb in RUNBOOKS if rb is not health)
    text = article_text(page_html(site, "runbooks/cluster-health"))
    for misfit in ("--apply", "prints every change", "makes the changes", "maintenance lock"):
        assert misfit not in text, misfit


def test_the_kubernetes_upgrade_page_does_not_mention_kube_proxy_which_cilium_replaces(site: Path):
    assert "kube-proxy" not in article_text(page_html(site, "runbooks/kubernetes-upgrade"))


def test_the_contributing_page_links_each_runbook_to_its_drills(site: Path):
    page = page_html(site, "contributing")
    for runbook in RUNBOOKS:
        drills = f"tests/runbooks/test_{runbook.name.replace('-', '_')}.py"
        assert (ROOT / drills).is_file(), f"{runbook.name} has no drills file {drills}"
        repository = CLUSTER.repository
        if repository is None:  # the drills are named, not linked to a guessed repository
            assert drills in article_text(page) and "/blob/" not in page
        else:
            assert f'href="{repository.url}/blob/{repository.branch}/{drills}"' in page


def test_maintenance_log_lists_the_saved_record(site: Path):
    log = next(t for t in article_tables(page_html(site, "operations/maintenance-log")) if t[0][0] == "Started")
    assert log[1] == ["2026-03-14 09:26 UTC", "worker-upgrade", "apply", "stopped (exit 1)", PLANTED_RECORD["reason"],
                      "20260314-092653-worker-upgrade.ipynb"]


def test_helm_template_braces_render_literally_in_code(site: Path):
    page = page_html(site, "contributing")
    code_blocks = [html.unescape(re.sub(r"<[^>]+>", "", block))
                   for block in re.findall(r"<code>(.*?)</code>", page, re.DOTALL)]
    assert any("tag: {{ .Values.image.tag }}" in block and "{% raw %}" not in block for block in code_blocks)


def test_the_runbook_index_shows_code_as_code_not_backticks(site: Path):
    page = page_html(site, "operations")
    index = next(t for t in article_tables(page) if t[0][:3] == ["Runbook", "Name", "Kind"])
    assert [row[0] for row in index[1:] if "`" in row[3]] == []
    if any("`noout`" in rb.purpose for rb in RUNBOOKS):
        assert "<code>noout</code>" in page


def test_the_runbook_index_says_which_runbooks_only_read(site: Path):
    index = next(t for t in article_tables(page_html(site, "operations")) if t[0][:3] == ["Runbook", "Name", "Kind"])
    kinds = {row[1]: row[2] for row in index[1:]}
    assert kinds == {rb.name: "read-only: just run it" if rb.read_only else "changes the cluster: plan first"
                     for rb in RUNBOOKS}
