"""The one rule of whether Ceph keeps every copy without a host or an OSD (procedures/ceph_capacity)."""

from __future__ import annotations

from homeops.procedures import ceph_capacity

HOST_RULE = {"rule_id": 0, "rule_name": "replicated_rule", "steps": [
    {"op": "take", "item": -1, "item_name": "default"}, {"op": "chooseleaf_firstn", "num": 0, "type": "host"},
    {"op": "emit"}]}
OSD_RULE = {"rule_id": 1, "rule_name": "on-osds", "steps": [
    {"op": "take", "item": -1}, {"op": "choose_firstn", "num": 0, "type": "osd"}, {"op": "emit"}]}


def pool(name: str, size: int = 3, min_size: int = 2, rule: int = 0) -> dict:
    return {"pool_name": name, "size": size, "min_size": min_size, "crush_rule": rule}


def tree(*hosts: list[int], out: tuple[int, ...] = ()) -> dict:
    nodes = [{"id": -1, "name": "default", "type": "root", "children": [-2 - i for i in range(len(hosts))]}]
    for i, osds in enumerate(hosts):
        nodes.append({"id": -2 - i, "name": f"worker-{i + 1}", "type": "host", "children": list(osds)})
        nodes += [{"id": o, "name": f"osd.{o}", "type": "osd", "reweight": 0 if o in out else 1} for o in osds]
    return {"nodes": nodes, "stray": []}


def test_three_hosts_of_size_three_cannot_lose_one_and_say_so():
    room = ceph_capacity.judge([pool("ceph-blockpool"), pool(".mgr")], [HOST_RULE], tree([0], [1], [2]), {0},
                               "osd.0")
    assert not room.keeps_every_copy and room.keeps_serving
    assert room.explain() == (
        "Ceph cannot keep every copy without osd.0: with 3 OSD hosts, pool ceph-blockpool (and .mgr) has size 3 "
        "and failure domain host, and only 2 hosts would be left, so it would stay degraded (2 of 3 copies) "
        "until another host with OSDs joins")


def test_four_hosts_can_and_a_host_with_a_second_osd_stays_a_domain():
    assert ceph_capacity.judge([pool("p")], [HOST_RULE], tree([0], [1], [2], [3]), {0}, "osd.0").keeps_every_copy
    both = ceph_capacity.judge([pool("p")], [HOST_RULE], tree([0, 3], [1], [2]), {0}, "osd.0")
    assert both.keeps_every_copy
    assert both.explain() == "Ceph can keep every copy without osd.0 (3 hosts for size 3)"


def test_a_whole_host_counts_all_its_osds():
    layout = tree([0, 3], [1], [2], [4])
    assert ceph_capacity.osds_of_host(layout, "worker-1") == {0, 3}
    assert ceph_capacity.judge([pool("p")], [HOST_RULE], layout, {0, 3}, "host worker-1").keeps_every_copy
    assert not ceph_capacity.judge([pool("p")], [HOST_RULE], tree([0, 3], [1], [2]), {0, 3},
                                   "host worker-1").keeps_every_copy


def test_below_min_size_the_pool_would_stop_serving():
    room = ceph_capacity.judge([pool("p", size=2, min_size=2)], [HOST_RULE], tree([0], [1]), {1}, "osd.1")
    assert not room.keeps_serving
    assert room.explain().endswith("only 1 hosts would be left, fewer than its min_size 2: its I/O would stop")


def test_an_osd_already_out_holds_no_copy_and_an_osd_rule_counts_osds():
    assert ceph_capacity.judge([pool("p")], [HOST_RULE], tree([0], [1], [2], out=(2,)), set(), "nothing").short
    on_osds = ceph_capacity.judge([pool("p", rule=1)], [OSD_RULE], tree([0, 1, 2]), {0}, "osd.0")
    assert [(p.domain, p.domains_now, p.domains_left) for p in on_osds.pools] == [("osd", 3, 2)]
    assert ceph_capacity.failure_domain({"steps": []}) == "osd"
