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


def test_what_the_text_says_for_several_pools_and_for_none():
    two_sizes = ceph_capacity.judge([pool("a", size=2), pool("b")], [HOST_RULE], tree([0], [1], [2], [3]), {0}, "x")
    assert two_sizes.explain() == "Ceph can keep every copy without x (3 hosts for size 2, 3 hosts for size 3)"
    assert ceph_capacity.judge([], [HOST_RULE], tree([0]), {0}, "x").explain() == "Ceph can keep every copy without x " \
                                                                                  "(no pool)"
    three = ceph_capacity.judge([pool("a"), pool("b"), pool("c")], [HOST_RULE], tree([0], [1], [2]), {0}, "osd.0")
    assert "pool a (and b, c) has size 3" in three.explain()
    one = ceph_capacity.judge([pool("a")], [HOST_RULE], tree([0], [1], [2]), {0}, "osd.0")
    assert one.explain().startswith("Ceph cannot keep every copy without osd.0: with 3 OSD hosts, pool a has size 3 and")


def test_a_rule_missing_from_the_dump_spreads_over_osds_and_an_osd_without_reweight_is_in():
    layout = tree([0, 1], [2])
    for node in layout["nodes"]:
        node.pop("reweight", None)
    room = ceph_capacity.judge([pool("p", rule=7)], [HOST_RULE], layout, {0}, "osd.0")
    assert [(p.domain, p.domains_now, p.domains_left) for p in room.pools] == [("osd", 3, 2)]


def test_a_host_is_found_by_name_among_buckets_of_type_host():
    layout = tree([0], [1, 4], [2])
    layout["nodes"].append({"id": -9, "name": "worker-2", "type": "rack", "children": [-3]})
    assert ceph_capacity.osds_of_host(layout, "worker-2") == {1, 4}
    assert ceph_capacity.osds_of_host(layout, "worker-9") == set()


def test_without_reads_the_pools_rules_and_tree_from_ceph(monkeypatch):
    from homeops.tools import ceph_osds

    monkeypatch.setattr(ceph_osds, "pool_details", lambda: [pool("ceph-blockpool")])
    monkeypatch.setattr(ceph_osds, "crush_rules", lambda: [HOST_RULE])
    monkeypatch.setattr(ceph_osds, "tree_document", lambda: tree([0], [1, 3], [2]))
    host = ceph_capacity.without_host("worker-2")
    assert (host.without, host.keeps_every_copy) == ("host worker-2", False)
    assert [(p.domains_now, p.domains_left) for p in host.pools] == [(3, 2)]
    osd = ceph_capacity.without_osds({3}, "osd.3")
    assert (osd.without, osd.keeps_every_copy) == ("osd.3", True)
