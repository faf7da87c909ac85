"""The parsers and texts of OSD removal against upstream's outputs (tests/tools/fixtures/upstream), and the
twin's answers against the same texts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from homeops import load_cluster
from homeops.procedures import ceph_capacity
from homeops.tools import ceph_osds, node_removal

UPSTREAM = Path(__file__).parent / "fixtures" / "upstream"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def twin_texts(tmp_path) -> tuple[str, str]:
    """The twin's `ceph osd safe-to-destroy 0` for an OSD that still holds PGs, and once it is gone."""
    from homeops.twin import clock, create, state
    from homeops.twin.ceph import ceph

    directory = create(tmp_path / "twin", load_cluster(ROOT / "cluster.yaml"), None)
    current = state.read(directory)
    now = clock.twin_now(current)
    with pytest.raises(ceph.CephError) as busy:
        ceph.run(current, ["osd", "safe-to-destroy", "0"], None, now)
    assert busy.value.code == 16  # EBUSY
    current["nodes"][2]["osds"] = []  # worker-1's OSD purged
    _, safe = ceph.run(current, ["osd", "safe-to-destroy", "0"], None, now)
    return safe, str(busy.value)


def test_safe_to_destroy_is_read_from_the_four_lists():
    document = json.loads((UPSTREAM / "ceph-safe-to-destroy-missing-stats.json").read_text())
    assert ceph_osds.parse_safe_to_destroy(document, 0) == ceph_osds.SafeToDestroy(
        False, "osd.0 reports no stats and not every PG is active+clean")
    assert ceph_osds.parse_safe_to_destroy({"safe_to_destroy": [3], "active": []}, 3).safe
    assert ceph_osds.parse_safe_to_destroy({"active": [3]}, 3).why == "osd.3 still has PGs mapped to it"
    assert not ceph_osds.parse_safe_to_destroy({}, 3).safe


def test_the_failure_domain_of_rooks_rules_is_host():
    rules = json.loads((UPSTREAM / "ceph-crush-rule-dump.json").read_text())
    assert [ceph_capacity.failure_domain(r) for r in rules] == ["host", "host"]


def test_the_twin_says_what_ceph_says(twin_texts):
    safe, busy = twin_texts
    assert safe == (UPSTREAM / "ceph-safe-to-destroy-safe.stderr").read_text().replace("5", "0")
    assert busy.split(" have ")[0] == "Error EBUSY: OSD(s) 0"
    assert busy.rstrip().endswith("pgs currently mapped to them.")


def test_metadata_names_one_disk_or_several():
    meta = ceph_osds.parse_metadata({"hostname": "worker-1", "devices": "nvme0n1,sdb"}, 4)
    assert meta == ceph_osds.OsdMetadata(4, "worker-1", ("nvme0n1", "sdb"))
    assert ceph_osds.parse_metadata({}, 4).devices == ()


def test_volumes_bound_to_a_node_are_those_its_affinity_requires():
    pinned = {"metadata": {"name": "pvc-a"}, "spec": {
        "storageClassName": "openebs-zfs", "csi": {"driver": "zfs.csi.openebs.io"},
        "claimRef": {"namespace": "media", "name": "data"},
        "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "openebs.io/nodeid", "operator": "In", "values": ["worker-1"]}]}]}}}}
    elsewhere = json.loads(json.dumps(pinned))
    elsewhere["metadata"]["name"] = "pvc-b"
    elsewhere["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] = ["w-2"]
    not_in = json.loads(json.dumps(pinned))
    not_in["metadata"]["name"] = "pvc-c"
    not_in["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["operator"] = "NotIn"
    unpinned = {"metadata": {"name": "pvc-rbd"}, "spec": {"storageClassName": "ceph-block"}}
    found = node_removal.parse_bound_volumes([pinned, elsewhere, not_in, unpinned], "worker-1")
    assert found == [node_removal.BoundVolume("pvc-a", "media/data", "openebs-zfs", "zfs.csi.openebs.io")]
