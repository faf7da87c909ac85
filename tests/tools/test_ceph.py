"""Ceph through the Rook toolbox: status, OSD tree, flags, ok-to-stop, and the flag changes."""

from __future__ import annotations

import json

import pytest


from homeops.gate import Gate
from homeops.tools import ceph
from homeops.tools.shapes import pg_state_is_clean

TOOLBOX = ["kubectl", "-n", "rook-ceph", "exec", "deploy/rook-ceph-tools", "--", "ceph"]


def test_a_healthy_cluster_with_scrubbing_pgs_is_clean(fixture_text):
    status = ceph.parse_status(json.loads(fixture_text("ceph-status-ok.json")))
    assert status.health == "HEALTH_OK"
    assert status.checks == ()
    assert (status.num_osds, status.num_up_osds, status.num_in_osds) == (3, 3, 3)
    assert status.num_pgs == 137
    assert status.pgs_clean
    assert status.unclean_pgs == ""


def test_a_degraded_cluster_names_its_checks_and_unclean_pgs(fixture_text):
    status = ceph.parse_status(json.loads(fixture_text("ceph-status-degraded.json")))
    assert status.health == "HEALTH_WARN"
    assert {c.name for c in status.checks} == {"OSDMAP_FLAGS", "OSD_DOWN", "PG_DEGRADED"}
    assert next(c for c in status.checks if c.name == "OSD_DOWN").message == "1 osds down"
    assert status.num_up_osds == 2
    assert not status.pgs_clean
    assert status.unclean_pgs == "46 active+undersized+degraded"


def test_an_empty_or_partial_pg_map_is_not_clean(fixture_text):
    # A manager failing over reports no PGs for a moment: that must not read as "all clean".
    healthy = json.loads(fixture_text("ceph-status-ok.json"))
    empty = {**healthy, "pgmap": {**healthy["pgmap"], "pgs_by_state": []}}
    partial = {**healthy, "pgmap": {**healthy["pgmap"], "pgs_by_state": [{"state_name": "active+clean", "count": 100}]}}
    assert not ceph.parse_status(empty).pgs_clean
    assert not ceph.parse_status(partial).pgs_clean
    assert ceph.parse_status(healthy).pgs_clean


def test_clean_means_active_clean_or_its_scrubbing_variants_only():
    assert pg_state_is_clean("active+clean")
    assert pg_state_is_clean("active+clean+scrubbing")
    assert pg_state_is_clean("active+clean+scrubbing+deep")
    assert not pg_state_is_clean("active+clean+remapped")
    assert not pg_state_is_clean("active+undersized+degraded")
    assert not pg_state_is_clean("peering")


def test_osd_tree_gives_the_osds_of_each_host_and_the_down_ones(fixture_text):
    tree = ceph.parse_osd_tree(json.loads(fixture_text("ceph-osd-tree.json")))
    assert tree.osds_of("worker-1") == (0,)
    assert tree.osds_of("worker-2") == (1, 2)
    assert tree.osds_of("worker-3") == ()
    assert tree.osds_of("cp-1") == ()
    assert tree.down_osds == (1,)


def test_osd_dump_separates_maintenance_flags_from_the_default_ones_and_reads_host_flags(fixture_text):
    dump = ceph.parse_osd_dump(json.loads(fixture_text("ceph-osd-dump.json")))
    assert dump.maintenance_flags == {"noout"}
    assert dump.host_flags == {"worker-2": {"noout"}}  # worker-3's empty list is no flag
    clean = ceph.parse_osd_dump(json.loads(fixture_text("ceph-osd-dump-clean.json")))
    assert clean.maintenance_flags == frozenset() and clean.host_flags == {}


def test_ok_to_stop_yes_reads_the_json(fake_tools, fixture_text):
    fake_tools.respond([*TOOLBOX, "osd", "ok-to-stop", "1", "2", "-f", "json"], stdout=fixture_text("ceph-ok-to-stop.json"))
    answer = ceph.ok_to_stop([1, 2])
    assert answer.ok and answer.osds == (1, 2) and answer.reason == ""


def test_ok_to_stop_no_is_the_non_zero_exit_with_cephs_reason(fake_tools, fixture_text):
    fake_tools.respond([*TOOLBOX, "osd", "ok-to-stop", "0", "-f", "json"],
                       stderr=fixture_text("ceph-ok-to-stop-refused.stderr"), returncode=16)
    answer = ceph.ok_to_stop([0])
    assert not answer.ok
    assert answer.osds == (0,)
    assert answer.reason == "Error EBUSY: unsafe to stop osd(s) at this time (46 PGs are or would become offline)"


def test_flag_changes_go_through_the_gate_with_the_exact_command(fake_tools, capsys):
    ceph.set_group(Gate(apply=False), "noout", "worker-1")
    ceph.unset_flag(Gate(apply=False), "noout")
    assert fake_tools.calls() == []
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "PLAN: kubectl -n rook-ceph exec deploy/rook-ceph-tools -- ceph osd set-group noout worker-1",
        "PLAN: kubectl -n rook-ceph exec deploy/rook-ceph-tools -- ceph osd unset noout",
    ]
    fake_tools.respond([*TOOLBOX, "osd", "unset-group", "noout", "worker-1"], stderr="")
    ceph.unset_group(Gate(apply=True), "noout", "worker-1")
    assert fake_tools.calls() == [[*TOOLBOX, "osd", "unset-group", "noout", "worker-1"]]


def test_a_missing_toolbox_is_one_line_saying_how_to_deploy_it(fake_tools):
    refusal = 'Error from server (NotFound): deployments.apps "rook-ceph-tools" not found\n'
    fake_tools.respond([*ceph.TOOLBOX, "status", "-f", "json"], stderr=refusal, returncode=1)
    fake_tools.respond([*ceph.TOOLBOX, "osd", "ok-to-stop", "1", "-f", "json"], stderr=refusal, returncode=1)
    for call in (ceph.status, lambda: ceph.ok_to_stop([1])):
        with pytest.raises(ceph.ToolboxMissing) as missing:
            call()
        assert str(missing.value) == (
            "the Rook toolbox is not deployed: enable toolbox.enabled in the rook-ceph-cluster values")
