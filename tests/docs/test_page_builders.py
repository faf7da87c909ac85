"""The page builders of homeops.site, on models made from variants of the real cluster.yaml."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
import yaml

from homeops.catalog import read_runbook
from homeops.cluster.model import Cluster, Versions
from homeops.site import cluster_tables, maintenance_log, markdown, network_diagram, runbook_pages, technology
from homeops.site.schema_reference import key_rows
from tests.docs.notebooks import make_notebook
from tests.docs.records import PLANTED_RECORD, write_record
from tests.docs.site_build import ROOT


def cells(row: str) -> list[str]:
    """The cells of one Markdown table row; an escaped pipe stays inside its cell."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip().strip("|"))]


def cluster_with(**changes) -> Cluster:
    """The real cluster.yaml with some top-level sections changed (the model is frozen)."""
    data = yaml.safe_load((ROOT / "cluster.yaml").read_text())
    data.update(changes)
    return Cluster.model_validate(data)


def nodes(control_planes: int, workers: int) -> list[dict]:
    cps = [{"name": f"cp-{i}", "role": "control-plane", "address": f"10.0.10.{10 + i}"} for i in range(1, control_planes + 1)]
    wks = [{"name": f"worker-{i}", "role": "worker", "address": f"10.0.10.{20 + i}"} for i in range(1, workers + 1)]
    return cps + wks


@pytest.mark.parametrize(
    ("control_planes", "title"),
    [
        (1, "etcd tolerates no control-plane failure"),
        (2, "etcd tolerates no control-plane failure"),
        (3, "etcd tolerates 1 control-plane failure"),
        (4, "etcd tolerates 1 control-plane failure"),
        (5, "etcd tolerates 2 control-plane failures"),
    ],
)
def test_etcd_admonition_states_the_fault_tolerance_the_control_plane_count_gives(control_planes, title):
    note = cluster_tables.etcd_availability(cluster_with(nodes=nodes(control_planes, 3)))
    assert note.splitlines()[0].endswith(f'"{title}"')
    assert note.startswith("!!! warning" if "no control-plane" in title else "!!! success")


def test_two_control_planes_are_called_out_as_surviving_no_failure():
    note = cluster_tables.etcd_availability(cluster_with(nodes=nodes(2, 3)))
    assert "2 control-plane nodes, so etcd has 2 members and needs 2 for quorum" in note
    assert "losing any one of them stops the Kubernetes API" in note
    assert "3 control-plane nodes would tolerate 1 failure" in note


def test_every_version_key_of_the_model_has_a_row_in_the_technology_tables():
    assert {t.version_key for t in technology.TECHNOLOGIES} == set(Versions.model_fields)


def test_an_unset_optional_version_reads_not_pinned():
    data = yaml.safe_load((ROOT / "cluster.yaml").read_text())
    del data["versions"]["zfs_localpv"]
    table = technology.technology_table(Cluster.model_validate(data), "storage")
    zfs_row = next(line for line in table.splitlines() if "ZFS provisioner" in line)
    assert zfs_row.rstrip(" |").endswith("not pinned")


def test_every_table_row_has_as_many_cells_as_headers():
    cluster = cluster_with()
    for category in ("core", "storage", "networking", "security"):
        lines = technology.technology_table(cluster, category).splitlines()
        widths = {len(cells(line)) for line in lines}
        assert widths == {3}, f"{category}: {lines}"


def test_an_unknown_technology_category_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="no technology in category 'compute'; categories: core, storage"):
        technology.technology_table(cluster_with(), "compute")


HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "x | y",
    "`kubectl` ``drain``",
    "{{ cluster.network.control_plane_vip }} {% raw %}",
    "[link](javascript:alert(2))",
    "**bold** _under_ ~~gone~~ \\| &amp; &#60;",
    "worker-2 {: onclick=alert(3) }",
    "<script>alert(4)</script>",
]


def rendered(markdown_text: str) -> str:
    """Markdown as this site renders it (the extensions of mkdocs.yml that read inline text)."""
    import markdown as python_markdown

    return python_markdown.markdown(markdown_text, extensions=["tables", "attr_list", "md_in_html", "admonition",
                                                                 "def_list", "pymdownx.inlinehilite"])


def elements(html_text: str) -> list[tuple[str, list]]:
    from html.parser import HTMLParser

    found = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Collect().feed(html_text)
    return found


@pytest.mark.parametrize("value", HOSTILE)
def test_a_value_in_a_table_cell_is_text_never_markup(value):
    from tests.docs.html_text import article_tables

    page = "<article>" + rendered(markdown.table(("a", "b"), [(markdown.cell(value), "w")])) + "</article>"
    assert article_tables(page) == [[["a", "b"], [" ".join(value.split()), "w"]]]
    assert {tag for tag, _ in elements(page)} == {"article", "table", "thead", "tbody", "tr", "th", "td"}
    assert all(attrs == [] for _, attrs in elements(page))


@pytest.mark.parametrize("value", HOSTILE)
def test_a_value_as_inline_code_is_shown_exactly(value):
    page = rendered(f"In {markdown.code(value)} here")
    assert [tag for tag, _ in elements(page)] == ["p", "code"]
    code_text = re.search(r"<code>(.*)</code>", page, re.DOTALL).group(1)
    assert html.unescape(code_text) == value


def test_a_line_break_in_a_value_stays_inside_its_cell():
    line = markdown.table(("a", "b"), [(markdown.cell("x\ny\r\nz"), "w")]).splitlines()[2]
    assert cells(line) == ["x y z", "w"]


def test_node_table_lists_every_node_with_role_address_and_osds():
    cluster = cluster_with(nodes=[*nodes(2, 2), {"name": "store-1", "role": "worker", "address": "10.0.10.40", "osds": 3}])
    rows = [cells(line) for line in cluster_tables.node_table(cluster).splitlines()[2:]]
    assert rows == [
        ["cp-1", "control-plane", "`10.0.10.11`", "0"],
        ["cp-2", "control-plane", "`10.0.10.12`", "0"],
        ["worker-1", "worker", "`10.0.10.21`", "1"],
        ["worker-2", "worker", "`10.0.10.22`", "1"],
        ["store-1", "worker", "`10.0.10.40`", "3"],
    ]


def edges(mermaid: str) -> set[tuple[str, str]]:
    """(from, to) of every link of a Mermaid flowchart, whatever its style or label."""
    link = re.compile(r"^\s*(\w+)\s+(?:-->|---|-\.->|-\.-|-- \"[^\"]*\" -->|-- \"[^\"]*\" ---"
                      r"|-\. \"[^\"]*\" \.->|-\. \"[^\"]*\" \.-)\s+(\w+)\s*$")
    return {(m.group(1), m.group(2)) for m in map(link.match, mermaid.splitlines()) if m}


def test_network_diagram_has_every_node_the_vip_and_every_load_balancer():
    cluster = cluster_with()
    source = network_diagram.network_mermaid(cluster)
    assert "\nflowchart TB\n" in source
    for address, _owner, _kind in cluster.addresses():
        assert address in source
    assert network_diagram.network_diagram(cluster).startswith("```mermaid\n")


def test_the_vip_is_held_by_the_control_plane_not_fanned_out_to_each_node():
    links = edges(network_diagram.network_mermaid(cluster_with()))
    assert ("operator", "vip") in links
    assert [dst for src, dst in links if src == "vip"] == ["control_plane"]
    assert not any(dst.startswith("node_") for src, dst in links if src in ("vip", "operator"))


def test_the_diagram_draws_both_ways_in():
    links = edges(network_diagram.network_mermaid(cluster_with()))
    outside = ["internet", "cloudflare", "tunnel", "lb_external_gateway", "pods"]
    home = ["home", "router", "lb_k8s_gateway", "lb_internal_gateway", "pods"]
    for path in (outside, home):
        assert set(zip(path, path[1:])) <= links, path


def test_a_hostile_load_balancer_purpose_is_a_label_not_markup():
    balancers = [{"name": "internal-gateway", "address": "10.0.50.101",
                  "purpose": 'x"] --> evil[<img src=x onerror=alert(1)> #quot; `md`'}]
    network = {**yaml.safe_load((ROOT / "cluster.yaml").read_text())["network"], "load_balancers": balancers}
    source = network_diagram.network_mermaid(cluster_with(network=network))
    label = next(line for line in source.splitlines() if line.strip().startswith("lb_internal_gateway["))
    purpose = label.rsplit("<br/>", 1)[1]
    assert purpose == 'x#34;] --#62; evil[#60;img src=x onerror=alert(1)#62; #35;quot; #96;md#96;"]'
    assert label.count('"') == 2, "the label's own quotes only"


def test_reference_walks_nested_models_and_lists():
    rows = {row.path: row for row in key_rows()}
    assert rows["network.load_balancers[].address"].type == "IPv4 address"
    assert rows["network.load_balancers"].default == "empty list"
    assert rows["nodes[].role"].type == "one of `control-plane`, `worker`"
    assert (rows["nodes[].osds"].required, rows["nodes[].osds"].default) == (False, "unset")
    assert rows["versions.talos"].required and rows["versions.talos"].description
    assert rows["versions.gateway_api"].type == "version (vMAJOR.MINOR.PATCH)"


def test_reference_covers_every_key_written_in_cluster_yaml():
    def paths(value, prefix=""):
        if isinstance(value, dict):
            for key, child in value.items():
                yield f"{prefix}{key}"
                yield from paths(child, f"{prefix}{key}.")
        elif isinstance(value, list):
            for item in value:
                yield from paths(item, f"{prefix.rstrip('.')}[].")

    written = set(paths(yaml.safe_load((ROOT / "cluster.yaml").read_text())))
    assert written - {row.path for row in key_rows()} == set()


# --- runbook pages ---------------------------------------------------------------------------------

def test_a_changing_runbook_page_says_plan_then_apply_first_then_steps_and_parameters(tmp_path):
    notebook = make_notebook(
        tmp_path / "drain-node.ipynb",
        'config = "cluster.yaml"  # cluster file\napply = False  # plan or apply\nnode = "worker-1"  # node to drain',
        [("Step 1: Check", "Ceph must agree."), ("Step 2: Drain", "With `kubectl drain`.")],
    )
    page = runbook_pages.runbook_page(read_runbook(notebook), "https://github.com/acme/home-ops")
    assert page.startswith("# Drain a node\n\nMoves the pods off a node.\n\n## What to do\n\n1. **Plan**")
    plan, rehearse, apply = (page.index(c) for c in ("homeops run drain-node\n", "homeops rehearse drain-node --scenario FILE",
                                                      "homeops run drain-node --apply"))
    assert plan < rehearse < apply < page.index("## Steps") < page.index("## Parameters")
    assert '| `node` | str | `"worker-1"` | node to drain |' in page
    assert '| `apply` | bool | `False` | plan or apply |' in page
    assert "### Step 1: Check\n\nCeph must agree." in page
    assert page.index("### Step 1: Check") < page.index("### Step 2: Drain")
    assert "(https://github.com/acme/home-ops/blob/main/runbooks/drain-node.ipynb)" in page
    assert "tests/" not in page, "test files are for developers, not on a reader's page"


def test_a_read_only_runbook_page_says_run_it_with_no_plan_or_apply(tmp_path):
    notebook = make_notebook(tmp_path / "look.ipynb",
                             'config = "cluster.yaml"  # cluster file\napply = False  # plan or apply',
                             [("Step 1: Look", "Reads everything.")], title="Look around", purpose="Reads the cluster.")
    data = json.loads(notebook.read_text())
    data["metadata"]["homeops"] = {"read_only": True}
    notebook.write_text(json.dumps(data))
    runbook = read_runbook(notebook)
    assert runbook.read_only
    page = runbook_pages.runbook_page(runbook, "")
    what_to_do = page[page.index("## What to do"):page.index("## Steps")]
    assert "homeops run look\n" in what_to_do and "changes nothing" in what_to_do
    for boilerplate in ("--apply", "Plan", "plan or apply", "maintenance lock", "makes the changes"):
        assert boilerplate not in page, boilerplate
    assert "`apply`" not in page


def test_drills_are_listed_for_developers_with_links_to_the_test_files(tmp_path):
    runbook = read_runbook(make_notebook(tmp_path / "drain-node.ipynb", "x = 1  # x", []))
    table = runbook_pages.runbook_drills([runbook], "https://github.com/acme/home-ops")
    assert "[`tests/runbooks/test_drain_node.py`](https://github.com/acme/home-ops/blob/main/tests/runbooks/test_drain_node.py)" in table


def test_runbook_parameter_defaults_are_kept_away_from_jinja(tmp_path):
    notebook = make_notebook(tmp_path / "templ.ipynb", 'fmt = "{{ .Values.tag }}"  # a Go template', [])
    page = runbook_pages.runbook_page(read_runbook(notebook), "https://example.org/r")
    raw_start, table_row, raw_end = page.index("{% raw %}"), page.index("{{ .Values.tag }}"), page.index("{% endraw %}")
    assert raw_start < table_row < raw_end


def test_runbook_link_names_a_missing_runbook_instead_of_linking_nowhere(tmp_path):
    runbook = read_runbook(make_notebook(tmp_path / "worker-upgrade.ipynb", "x = 1  # x", []))
    assert runbook_pages.runbook_link(runbook, "worker-upgrade", "operations/index.md") == \
        "[Drain a node](../runbooks/worker-upgrade.md)"
    assert "not in `runbooks/` yet" in runbook_pages.runbook_link(None, "ghost", "operations/index.md")


def test_runbook_pages_are_added_to_the_operations_section_of_the_nav(tmp_path):
    runbook = read_runbook(make_notebook(tmp_path / "drain-node.ipynb", "x = 1  # x", []))
    nav = [{"Home": "index.md"}, {"Operations": ["operations/index.md"]}]
    assert runbook_pages.nav_with_runbooks(nav, [runbook]) == [
        {"Home": "index.md"},
        {"Operations": ["operations/index.md", {"Runbooks": [{"Drain a node": "runbooks/drain-node.md"}]}]},
    ]
    assert nav[1] == {"Operations": ["operations/index.md"]}, "the configured nav must not be changed in place"


# --- maintenance log -------------------------------------------------------------------------------

LOG_URL = "operations/maintenance-log/"


def log_sections(directory) -> dict[str, list[list[str]]]:
    """Each `## ` section of the log: the rows of its table, as a reader sees them."""
    from tests.docs.html_text import article_tables

    sections = {}
    for chunk in maintenance_log.maintenance_log(directory, LOG_URL).split("## ")[1:]:
        title, _, body = chunk.partition("\n")
        tables = article_tables(f"<article>{body}</article>")
        sections[title] = tables[0][1:] if tables else []
    return sections


def log_links(directory) -> list[str]:
    return re.findall(r'<a href="([^"]*)">', maintenance_log.maintenance_log(directory, LOG_URL))


def test_maintenance_log_says_so_when_nothing_was_recorded(tmp_path):
    for directory in (tmp_path / "absent", tmp_path):
        log = maintenance_log.maintenance_log(directory, LOG_URL)
        assert log_sections(directory) == {"Maintenance": [], "Plans and rehearsals": []}
        assert "No maintenance recorded yet." in log and "No plan run or rehearsal is kept." in log


def test_maintenance_log_lists_records_newest_first_each_linked_to_its_page(tmp_path):
    write_record(tmp_path, "a.ipynb", PLANTED_RECORD)
    write_record(tmp_path, "b.ipynb", {"runbook": "flux-reconcile", "started": "2026-04-01T08:00:00Z"})
    write_record(tmp_path, "c.ipynb", None)
    (tmp_path / "d.ipynb").write_text("{not json")
    rows = log_sections(tmp_path)["Maintenance"]
    assert rows == [
        ["2026-04-01 08:00 UTC", "flux-reconcile", "—", "—", "", "b.ipynb"],
        ["2026-03-14 09:26 UTC", "worker-upgrade", "apply", "stopped (exit 1)",
         "worker-2: drain refused by a PodDisruptionBudget; worker-2 uncordoned", "a.ipynb"],
        ["—", "—", "—", "—", "", "c.ipynb"],
        ["—", "—", "—", "unreadable record", "", "d.ipynb"],
    ]
    assert log_links(tmp_path) == ["b.html", "a.html", "c.html", "d.html"]


def test_links_to_record_pages_follow_the_site_url_style():
    record = maintenance_log.Record("r.ipynb", "r", "0", *[None] * 4, False, *[None] * 4)
    assert maintenance_log.record_href("operations/maintenance-log/", record) == "r.html"
    assert maintenance_log.record_href("", record) == "operations/maintenance-log/r.html"
    assert maintenance_log.record_href("operations/maintenance-log.html", record) == "maintenance-log/r.html"


def test_the_log_page_shows_the_newest_entries_and_links_to_all_of_them(tmp_path):
    for minute in range(maintenance_log.NEWEST + 5):
        write_record(tmp_path, f"r{minute:02d}.ipynb", {**PLANTED_RECORD, "started": f"2026-03-14T09:{minute:02d}:00Z"})
    rows = log_sections(tmp_path)["Maintenance"]
    assert len(rows) == maintenance_log.NEWEST and rows[0][-1] == f"r{maintenance_log.NEWEST + 4:02d}.ipynb"
    assert log_links(tmp_path)[-1] == "all.html"
    everything = maintenance_log.all_records(tmp_path, "operations/maintenance-log/all.html")
    from tests.docs.html_text import article_tables

    assert len(article_tables(f"<article>{everything}</article>")[0]) == maintenance_log.NEWEST + 5 + 1


def test_plan_runs_and_rehearsals_are_listed_apart_from_maintenance(tmp_path):
    write_record(tmp_path, "apply.ipynb", {**PLANTED_RECORD, "twin": False})
    write_record(tmp_path, "plan.ipynb", {**PLANTED_RECORD, "mode": "plan"})
    write_record(tmp_path, "rehearsal.ipynb", {**PLANTED_RECORD, "twin": True})
    sections = log_sections(tmp_path)
    assert [row[-1] for row in sections["Maintenance"]] == ["apply.ipynb"]
    assert sorted(row[2] for row in sections["Plans and rehearsals"]) == ["apply (rehearsal, twin)", "plan"]


def test_a_record_says_what_was_left_in_place_apart_from_why_it_stopped(tmp_path):
    reason = "worker-2: stopped at step 'wait Ready': not Ready after 900 s; left in place: worker-2 cordoned, noout set"
    record = maintenance_log.read_record(write_record(tmp_path, "r.ipynb", {**PLANTED_RECORD, "reason": reason}))
    assert record.why == "worker-2: stopped at step 'wait Ready': not Ready after 900 s"
    assert record.left_in_place == "worker-2 cordoned, noout set"
    refused = maintenance_log.read_record(write_record(tmp_path, "n.ipynb", {"reason": "Ceph is HEALTH_WARN; nothing changed"}))
    assert (refused.why, refused.left_in_place) == ("Ceph is HEALTH_WARN", "nothing (nothing was changed)")
    declared = maintenance_log.read_record(write_record(tmp_path, "d.ipynb", {"reason": "lost", "left_in_place": ["noout"]}))
    assert (declared.why, declared.left_in_place) == ("lost", "noout")


def test_a_record_name_that_is_not_safe_in_a_url_gets_a_safe_page_name(tmp_path):
    record = maintenance_log.read_record(write_record(tmp_path, "<img src=x>.ipynb", PLANTED_RECORD))
    assert re.fullmatch(r"img-src-x-[0-9a-f]{8}", record.slug)
    assert maintenance_log.read_record(write_record(tmp_path, "20260314T092653Z-worker-upgrade.ipynb", None)).slug == \
        "20260314T092653Z-worker-upgrade"


def test_maintenance_log_never_shows_a_secret_in_a_reason(tmp_path):
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmbHV4In0.c2lnbmF0dXJlLXZhbHVl"
    write_record(tmp_path, "r.ipynb", {"runbook": "flux-reconcile", "mode": "apply", "twin": True,
                                       "reason": f"flux: 401 with Authorization: Bearer {token}"})
    log = maintenance_log.maintenance_log(tmp_path, LOG_URL)
    assert "<td>apply (rehearsal, twin)</td>" in log
    assert token not in log and "eyJ" not in log


def test_a_record_page_renders_outputs_as_text_and_strips_markup_written_into_the_record():
    from homeops.site import record_pages
    from tests.docs.test_run_text_on_the_site import live_markup

    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {"homeops": PLANTED_RECORD}, "cells": [
        {"cell_type": "markdown", "metadata": {"tags": ["papermill-error-cell-tag"]}, "id": "a",
         "source": '<span style="color:red">An Exception was encountered</span>'},
        {"cell_type": "markdown", "metadata": {}, "id": "b",
         "source": "# Drain\n\n<script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=alert(3)>"},
        {"cell_type": "code", "metadata": {}, "id": "c", "execution_count": 1, "source": "show()", "outputs": [
            {"output_type": "stream", "name": "stdout", "text": "line one <b>\n"},
            {"output_type": "stream", "name": "stdout", "text": "line two\n"},
            {"output_type": "display_data", "metadata": {}, "data": {
                "text/html": "<img src=x onerror=alert(4)>", "application/javascript": "alert(5)",
                "text/plain": "<the plain form>"}},
            {"output_type": "display_data", "metadata": {}, "data": {"image/svg+xml": "<svg onload=alert(6)>"}},
        ]},
    ]}
    body = record_pages.render_notebook(json.dumps(notebook).encode())
    assert live_markup(f"<article>{body}</article>") == []
    assert "An Exception was encountered" not in body
    assert "alert(4)" not in body and "alert(5)" not in body and "alert(6)" not in body
    assert "line one &lt;b&gt;\nline two" in body, "one block of text per stream, escaped"
    assert "&lt;the plain form&gt;" in body
    assert "<h2" in body and "<h1" not in body, "the runbook's title sits under the page's own"


def test_a_record_summary_is_read_from_the_cache_while_its_bytes_are_unchanged(tmp_path):
    from homeops.site.record_cache import RecordCache

    records = tmp_path / "records"
    records.mkdir()
    path = write_record(records, "r.ipynb", PLANTED_RECORD)
    cache = RecordCache(records)
    assert maintenance_log.read_record(path, cache).outcome == "stopped"
    # Beside the records, not among them: `mkdocs serve` watches records/.
    assert [p.name for p in records.iterdir()] == ["r.ipynb"]
    (entry,) = (tmp_path / ".records-cache").glob("*.json")
    entry.write_text(entry.read_text().replace('"stopped"', '"from the cache"'))
    assert maintenance_log.read_record(path, cache).outcome == "from the cache"
    write_record(records, "r.ipynb", {**PLANTED_RECORD, "outcome": "completed"})
    assert maintenance_log.read_record(path, cache).outcome == "completed"
    assert oct((tmp_path / ".records-cache").stat().st_mode & 0o777) == "0o700"


# --- what a newcomer reads ----------------------------------------------------------------------------

def test_a_runbook_page_gives_the_values_a_run_cannot_do_without_in_every_command(tmp_path):
    notebook = make_notebook(
        tmp_path / "ceph-work.ipynb",
        'apply = False  # plan or apply\nnode = ""  # the node to work on\nnodes = ""  # names; empty: every worker',
        [("Step 1: Enter", "Sets noout.")])
    runbook = read_runbook(notebook)
    assert [p.name for p in runbook_pages.to_choose(runbook)] == ["node"], "an empty default explained as 'empty:' is fine"
    page = runbook_pages.runbook_page(runbook, "")
    assert "homeops run ceph-work -p node=NODE\n" in page
    assert "homeops rehearse ceph-work --scenario FILE -p node=NODE\n" in page
    assert "homeops run ceph-work -p node=NODE --apply\n" in page
    assert "Replace `NODE` with the node to work on. The run stops at once without it." in page


def test_a_runbook_page_lists_the_scenarios_written_for_it_and_the_lab(tmp_path):
    notebook = make_notebook(tmp_path / "drain-node.ipynb", 'apply = False  # plan or apply', [])
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    (scenarios / "stuck.yaml").write_text("# worker-1 never drains: the run gives it back.\n"
                                          "#   homeops rehearse drain-node --scenario runbooks/scenarios/stuck.yaml\n"
                                          "faults: []\n")
    (scenarios / "other.yaml").write_text("# For another runbook.\n#   homeops rehearse worker-upgrade --scenario x\n")
    page = runbook_pages.runbook_page(read_runbook(notebook), "")
    assert ("    - worker-1 never drains: the run gives it back.\n\n"
            "        ```sh\n        homeops rehearse drain-node --scenario runbooks/scenarios/stuck.yaml\n        ```") in page
    assert "other.yaml" not in page
    assert "`homeops lab drain-node`" in page and "`--twin DIR`" in page


def test_a_runbook_page_without_scenarios_for_it_still_says_where_they_are(tmp_path):
    page = runbook_pages.runbook_page(read_runbook(make_notebook(tmp_path / "x.ipynb", 'apply = False  # a', [])), "")
    assert "Any file of `runbooks/scenarios/` will do" in page


def test_prose_keeps_its_code_spans_and_nothing_else_is_markup(tmp_path):
    assert markdown.text_with_code("Sets `noout` for the *host* <b>") == "Sets `noout` for the &#42;host&#42; &#60;b&#62;"
    assert markdown.text_with_code("a `x|y` b") == "a &#96;x&#124;y&#96; b", "a pipe would split a table row"
    index = runbook_pages.runbook_index(
        [read_runbook(make_notebook(tmp_path / "n.ipynb", "x = 1  # x", [], purpose="Sets `noout`."))],
        "operations/index.md")
    assert "Sets `noout`." in index


def test_long_rendered_files_fold_under_their_path_and_short_ones_do_not():
    from homeops.site.folding import FOLD_AFTER_LINES, shown_file

    short = "a: 1\n" * FOLD_AFTER_LINES
    block = '```yaml title="x.yaml"\n' + short + "```"
    assert shown_file("x.yaml", short, block) == block
    long = short + "b: 2\n"
    folded = shown_file("x.yaml", long, '```yaml title="x.yaml"\n' + long + "```")
    assert folded.startswith(f'??? abstract "x.yaml ({FOLD_AFTER_LINES + 1} lines, rendered from cluster.yaml)"\n\n    ```yaml')
    assert all(line.startswith("    ") or not line for line in folded.splitlines()[2:])


def test_the_flux_bootstrap_command_has_placeholders_until_the_repository_is_known():
    from homeops.cluster.model import Repository
    from homeops.site.publishing import flux_bootstrap_command

    assert "--owner=YOUR-GITHUB-ACCOUNT --repository=YOUR-REPOSITORY" in flux_bootstrap_command(None)
    command = flux_bootstrap_command(Repository(owner="lab", name="ops", branch="live"))
    assert "--owner=lab --repository=ops" in command and "--branch=live --path=kubernetes/flux" in command


def test_the_flux_bootstrap_command_says_personal_only_for_a_user_s_repository():
    from homeops.cluster.model import Repository
    from homeops.site.publishing import flux_bootstrap_command

    assert flux_bootstrap_command(Repository(owner="ana")) == (
        "flux bootstrap github \\\n  --owner=ana --repository=home-ops \\\n  --branch=main --path=kubernetes/flux --personal")
    assert flux_bootstrap_command(Repository(owner="home-lab-org", owner_kind="organization")) == (
        "flux bootstrap github \\\n  --owner=home-lab-org --repository=home-ops \\\n  --branch=main --path=kubernetes/flux")
    assert flux_bootstrap_command(None).endswith(" --personal"), "the placeholder account is a user's, the default"


def test_the_reference_says_optional_sections_default_key_by_key():
    rows = {row.path: row for row in key_rows()}
    assert rows["secrets"].default == "each key's own default"
    assert rows["secrets.store"].default == "default `cluster-secrets`"


def test_the_component_support_table_marks_each_pin_and_says_which_lines_run_the_clusters_kubernetes():
    from homeops import load_cluster
    from homeops.cluster import component_support
    from homeops.site.cluster_tables import component_support_table

    cluster = load_cluster(Path(__file__).resolve().parents[2] / "cluster.yaml")
    shown = component_support_table(cluster)
    rows = [line for line in shown.splitlines()[2:]]
    assert len(rows) == len(component_support.SUPPORT)
    flux = {line.split(" | ")[1]: line for line in rows if line.startswith("| Flux |")}
    pinned_line = ".".join(str(cluster.versions.flux).lstrip("v").split(".")[:2])
    assert "**" in flux[pinned_line] and "| yes |" in flux[pinned_line]
    unpinned = [line for minor, line in flux.items() if minor != pinned_line]
    assert unpinned and all("**" not in line for line in unpinned)
    # Flux 2.6 stops at Kubernetes 1.33 (its release announcement): the reason the pin is on a later line.
    kubernetes_minor = int(str(cluster.versions.kubernetes).lstrip("v").split(".")[1])
    if kubernetes_minor > 33:
        assert "| no |" in flux["2.6"]
