"""The page builders of homeops.site, on models made from variants of the real cluster.yaml."""

from __future__ import annotations

import re

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


def test_a_pipe_or_newline_in_a_value_stays_inside_its_cell():
    line = markdown.table(("a", "b"), [(markdown.cell("x | y\nz"), "w")]).splitlines()[2]
    assert cells(line) == ["x \\| y z", "w"]


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


def test_network_diagram_has_every_node_the_vip_and_every_load_balancer():
    cluster = cluster_with()
    source = network_diagram.network_mermaid(cluster)
    assert source.startswith("flowchart TB")
    for address, _owner, _kind in cluster.addresses():
        assert address in source
    for node in cluster.control_planes:
        assert f"vip --> node_{node.name.replace('-', '_')}" in source
    assert network_diagram.network_diagram(cluster).startswith("```mermaid\n")


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

def test_runbook_page_has_parameters_steps_how_to_run_and_drills(tmp_path):
    notebook = make_notebook(
        tmp_path / "drain-node.ipynb",
        'config = "cluster.yaml"  # cluster file\napply = False  # plan or apply\nnode = "worker-1"  # node to drain',
        [("Step 1: Check", "Ceph must agree."), ("Step 2: Drain", "With `kubectl drain`.")],
    )
    page = runbook_pages.runbook_page(read_runbook(notebook), "https://github.com/acme/home-ops")
    assert page.startswith("# Drain a node\n\nMoves the pods off a node.")
    assert '| `node` | str | `"worker-1"` | node to drain |' in page
    assert "### Step 1: Check\n\nCeph must agree." in page
    assert page.index("### Step 1: Check") < page.index("### Step 2: Drain")
    for command in ("homeops run drain-node", "homeops run drain-node --apply",
                    "homeops rehearse drain-node --scenario FILE"):
        assert command in page
    assert "(https://github.com/acme/home-ops/blob/main/tests/runbooks/test_drain_node.py)" in page


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

def test_maintenance_log_says_so_when_nothing_was_recorded(tmp_path):
    assert maintenance_log.maintenance_log(tmp_path / "absent") == "No maintenance recorded yet."
    assert maintenance_log.maintenance_log(tmp_path) == "No maintenance recorded yet."


def test_maintenance_log_lists_records_newest_first_and_tolerates_missing_keys(tmp_path):
    write_record(tmp_path, "a.ipynb", PLANTED_RECORD)
    write_record(tmp_path, "b.ipynb", {"runbook": "flux-reconcile", "started": "2026-04-01T08:00:00Z"})
    write_record(tmp_path, "c.ipynb", None)
    (tmp_path / "d.ipynb").write_text("{not json")
    rows = [cells(line) for line in maintenance_log.maintenance_log(tmp_path).splitlines()[2:]]
    assert rows[0] == ["2026-04-01 08:00 UTC", "flux-reconcile", "—", "—", "—", "", "`b.ipynb`"]
    assert rows[1] == ["2026-03-14 09:26 UTC", "worker-upgrade", "apply", "stopped", "1",
                       "worker-2: drain refused by a PodDisruptionBudget; worker-2 uncordoned", "`a.ipynb`"]
    assert rows[2] == ["—", "—", "—", "—", "—", "", "`c.ipynb`"]
    assert rows[3] == ["—", "—", "—", "unreadable record", "—", "", "`d.ipynb`"]


def test_maintenance_log_marks_twin_runs_and_never_shows_a_secret_in_a_reason(tmp_path):
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmbHV4In0.c2lnbmF0dXJlLXZhbHVl"
    write_record(tmp_path, "r.ipynb", {"runbook": "flux-reconcile", "mode": "apply", "twin": True,
                                       "reason": f"flux: 401 with Authorization: Bearer {token}"})
    log = maintenance_log.maintenance_log(tmp_path)
    assert "| apply (twin) |" in log
    assert token not in log and "eyJ" not in log
