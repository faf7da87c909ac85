"""Ceph through the Rook toolbox: health, OSD tree and map, flags, ok-to-stop, and Ceph following
the nodes through a reboot."""

from __future__ import annotations

import json

from homeops.twin import state
from homeops.twin.cluster import advance


def test_a_fresh_twin_is_healthy_and_clean(twin, cluster):
    status = twin.ceph_status()
    assert status["health"] == {"status": "HEALTH_OK", "checks": {}, "mutes": []}
    osds = sum(n.osd_count for n in cluster.nodes)
    assert (status["osdmap"]["num_osds"], status["osdmap"]["num_up_osds"], status["osdmap"]["num_in_osds"]) == (
        osds,
    ) * 3
    assert [s["state_name"] for s in status["pgmap"]["pgs_by_state"]] == ["active+clean"]
    assert sum(s["count"] for s in status["pgmap"]["pgs_by_state"]) == status["pgmap"]["num_pgs"]


def test_osd_tree_has_a_host_per_osd_node_with_ids_in_node_order(twin, cluster):
    done = twin.ceph("osd", "tree", "-f", "json")
    tree = json.loads(done.stdout)
    hosts = [n for n in tree["nodes"] if n["type"] == "host"]
    expected, next_id = [], 0
    for node in cluster.nodes:
        if node.osd_count:
            expected.append((node.name, list(range(next_id, next_id + node.osd_count))))
            next_id += node.osd_count
    assert [(h["name"], h["children"]) for h in hosts] == expected
    osds = {n["id"]: n for n in tree["nodes"] if n["type"] == "osd"}
    assert all(o["status"] == "up" and o["name"] == f"osd.{i}" for i, o in osds.items())
    assert tree["stray"] == []


def test_noout_shows_in_the_dump_and_the_health_until_unset(twin):
    dump = json.loads(twin.ceph("osd", "dump", "-f", "json").stdout)
    assert dump["flags"] == "sortbitwise,recovery_deletes,purged_snapdirs,pglog_hardlimit"
    set_ = twin.ceph("osd", "set", "noout")
    assert (set_.returncode, set_.stderr) == (0, "noout is set\n")
    dump = json.loads(twin.ceph("osd", "dump", "--format=json").stdout)
    assert dump["flags"].split(",")[0] == "noout"
    health = twin.ceph_status()["health"]
    assert health["status"] == "HEALTH_WARN"
    assert health["checks"]["OSDMAP_FLAGS"]["summary"]["message"] == "noout flag(s) set"
    unset = twin.ceph("osd", "unset", "noout")
    assert unset.stderr == "noout is unset\n"
    assert twin.ceph_status()["health"]["status"] == "HEALTH_OK"


def test_group_flags_are_per_host(twin):
    with state.change(str(twin.directory)) as live:
        live["rook"]["manage_pod_budgets"] = False  # Rook would clear the flag of a host that is not draining
    assert twin.ceph("osd", "set-group", "noout", "worker-2").returncode == 0
    dump = json.loads(twin.ceph("osd", "dump", "-f", "json").stdout)
    assert dump["crush_node_flags"] == {"worker-2": ["noout"]}
    assert "noout" not in dump["flags"].split(",")
    checks = twin.ceph_status()["health"]["checks"]
    assert "OSD_FLAGS" in checks and "NOOUT" in checks["OSD_FLAGS"]["summary"]["message"]
    twin.ceph("osd", "unset-group", "noout", "worker-2")
    assert json.loads(twin.ceph("osd", "dump", "-f", "json").stdout)["crush_node_flags"] == {}
    unknown = twin.ceph("osd", "set-group", "noout", "worker-9")
    assert unknown.returncode == 22 and "command terminated with exit code 22" in unknown.stderr


def test_an_unknown_flag_is_einval_through_kubectl_exec(twin):
    done = twin.ceph("osd", "set", "nooot")
    assert done.returncode == 22
    assert "Invalid command: nooot not in " in done.stderr
    assert done.stderr.splitlines()[-1] == "command terminated with exit code 22"


def test_ok_to_stop_one_host_and_not_two(make_twin):
    twin = make_twin("reboot_seconds: 0.3\nfaults: [{fault: ceph-degraded, node: worker-1}]\n")
    status = twin.ceph_status()
    assert status["health"]["status"] == "HEALTH_WARN"
    assert status["health"]["checks"]["OSD_DOWN"]["summary"] == {"message": "1 osds down", "count": 1}
    assert status["osdmap"]["num_up_osds"] == status["osdmap"]["num_osds"] - 1
    same_host = twin.ceph("osd", "ok-to-stop", "0", "-f", "json")
    assert same_host.returncode == 0, same_host.stderr
    assert json.loads(same_host.stdout)["ok_to_stop"] is True
    other_host = twin.ceph("osd", "ok-to-stop", "1", "-f", "json")
    assert other_host.returncode == 16
    assert other_host.stdout == ""  # ceph prints no JSON when it refuses (src/ceph.in)
    assert "Error EBUSY: unsafe to stop osd(s) at this time" in other_host.stderr


def test_ok_to_stop_on_a_healthy_cluster(twin):
    done = twin.ceph("osd", "ok-to-stop", "2", "-f", "json")
    assert done.returncode == 0
    assert json.loads(done.stdout) == {"ok_to_stop": True, "osds": [2], "num_ok_pgs": 137, "num_not_ok_pgs": 0}
    missing = twin.ceph("osd", "ok-to-stop", "42", "-f", "json")
    assert missing.returncode != 0 and "42" in missing.stderr


def test_ceph_follows_a_host_through_its_reboot(make_twin):
    # Ten minutes of reboot and five of recovery, walked through with the twin's clock.
    twin = make_twin("reboot_seconds: 600\n")
    twin.talosctl("-n", "10.0.10.22", "upgrade", "-i", twin.image("v1.11.2"), "--wait=false")
    down = twin.ceph_status()
    assert down["health"]["status"] == "HEALTH_WARN"
    assert down["health"]["checks"]["OSD_HOST_DOWN"]["summary"]["message"] == "1 host (1 osds) down"
    assert [s["state_name"] for s in down["pgmap"]["pgs_by_state"]] == ["active+undersized+degraded"]
    tree = json.loads(twin.ceph("osd", "tree", "-f", "json").stdout)
    assert next(n for n in tree["nodes"] if n["name"] == "osd.1")["status"] == "down"
    advance(str(twin.directory), 601)  # back, and recovering what it missed
    recovering = twin.ceph_status()
    assert "OSD_HOST_DOWN" not in recovering["health"]["checks"]
    assert [s["state_name"] for s in recovering["pgmap"]["pgs_by_state"]] == ["active+recovering+degraded"]
    advance(str(twin.directory), 300)
    assert twin.ceph_status()["health"]["status"] == "HEALTH_OK"
    assert [s["state_name"] for s in twin.ceph_status()["pgmap"]["pgs_by_state"]] == ["active+clean"]


def test_pgs_stuck_never_return_to_clean_after_a_reboot(make_twin):
    twin = make_twin("reboot_seconds: 600\nfaults: [{fault: pgs-stuck}]\n")
    assert twin.ceph_status()["health"]["status"] == "HEALTH_OK"
    done = twin.talosctl("-n", "10.0.10.21", "upgrade", "-i", twin.image("v1.11.2"), "--wait=false")
    assert done.returncode == 0, done.stderr
    advance(str(twin.directory), 601)
    assert twin.ceph_status()["osdmap"]["num_up_osds"] == 3
    advance(str(twin.directory), 24 * 3600)  # a day past the five minutes of recovery
    status = twin.ceph_status()
    assert status["health"]["status"] == "HEALTH_WARN"
    assert "PG_DEGRADED" in status["health"]["checks"]
    assert all(s["state_name"] != "active+clean" for s in status["pgmap"]["pgs_by_state"])


def test_the_cephcluster_resource_reports_phase_and_health(make_twin):
    twin = make_twin("reboot_seconds: 0.3\nfaults: [{fault: ceph-degraded}]\n")
    listing = twin.json("kubectl", "-n", "rook-ceph", "get", "cephclusters.ceph.rook.io", "-o", "json")
    (item,) = listing["items"]
    assert item["status"]["phase"] == "Ready"
    assert item["status"]["ceph"]["health"] == "HEALTH_WARN"


def test_exec_reaches_only_the_toolbox_and_only_ceph(twin):
    wrong = twin.kubectl("-n", "default", "exec", "deploy/rook-ceph-tools", "--", "ceph", "status")
    assert wrong.returncode == 1 and 'deployments.apps "rook-ceph-tools" not found' in wrong.stderr
    shell = twin.kubectl("-n", "rook-ceph", "exec", "deploy/rook-ceph-tools", "--", "sh", "-c", "id")
    assert shell.returncode == 126 and 'exec: "sh": executable file not found' in shell.stderr
