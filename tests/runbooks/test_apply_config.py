"""Drills of runbooks/apply-config.ipynb against a fresh twin, through `homeops run`.

Each drill is a project of its own (cluster.yaml, templates/, the rendered tree) whose twin runs the
configurations the unchanged tree makes; the drill then changes cluster.yaml or a template, renders,
and runs apply-config. What it asserts is read from the twin's state: each node's configuration,
boot IDs, cordons, Ceph flags.
"""

from __future__ import annotations

import json
import shutil

import pytest

from homeops.twin import clock as twin_clock
from homeops.twin import state as twin_state

from tests.runbooks.conftest import ROOT
from tests.said import gate_lines

pytestmark = pytest.mark.slow

WORKERS = ["worker-1", "worker-2", "worker-3"]
ADDRESSES = {"10.0.10.11": "cp-1", "10.0.10.12": "cp-2", "10.0.10.21": "worker-1", "10.0.10.22": "worker-2",
             "10.0.10.23": "worker-3"}
PROXY = "http://proxy.example.com:3128"


def project(make_drill, scenario: dict | None = None):
    """A rendered project and its twin, every node running what the tree makes."""
    drill = make_drill({"reboot_seconds": 0.3, **(scenario or {})})
    shutil.copytree(ROOT / "templates", drill.directory / "templates")
    rendered = drill.homeops("render")
    assert rendered.code == 0, rendered.stdout + rendered.stderr
    return drill


def change_nameserver(drill) -> None:
    text = drill.config.read_text()
    assert "  nameservers:\n    - 10.0.0.1\n" in text
    drill.config.write_text(text.replace("  nameservers:\n    - 10.0.0.1\n", "  nameservers:\n    - 10.0.0.53\n"))
    rendered = drill.homeops("render")
    assert rendered.code == 0, rendered.stdout + rendered.stderr


def add_proxy_env(drill) -> None:
    """A template change Talos applies only with a reboot (machine.env is not one of CanApplyImmediate's sections)."""
    template = drill.directory / "templates" / "talos" / "patches" / "all.yaml.j2"
    text = template.read_text()
    template.write_text(text.replace("machine:\n", f"machine:\n  env:\n    HTTPS_PROXY: {PROXY}\n", 1))
    rendered = drill.homeops("render")
    assert rendered.code == 0, rendered.stdout + rendered.stderr


def configs(drill) -> dict[str, dict]:
    state = json.loads((drill.twin / "state.json").read_text())
    return {n["name"]: n["config"] for n in state["nodes"]}


def boots(drill) -> dict[str, str]:
    return {name: n.boot_id for name, n in drill.nodes().items()}


def node_of(change: str) -> str | None:
    for word in change.split():
        if word in ADDRESSES.values():
            return word
        if word in ADDRESSES:
            return ADDRESSES[word]
    return None


def test_an_unchanged_tree_plans_nothing(make_drill):
    drill = project(make_drill)
    result = drill.run("apply-config")
    assert result.code == 0, result.stdout + result.stderr
    assert "every node already runs its configuration: nothing to apply" in result.stdout
    assert result.changes == []
    assert result.last_line.startswith("completed: apply-config (plan)")


def test_a_nameserver_change_applies_without_a_reboot_and_a_rerun_plans_nothing(make_drill):
    drill = project(make_drill)
    change_nameserver(drill)
    before_boots = boots(drill)

    plan = drill.run("apply-config")
    assert plan.code == 0, plan.stdout + plan.stderr
    assert "cp-1: applies without a reboot; a network change: tried first (it reverts unless kept)" in plan.stdout
    diff_lines = [line.strip() for line in plan.stdout.splitlines()]
    assert diff_lines.count("-            - 10.0.0.1") == 5 and diff_lines.count("+            - 10.0.0.53") == 5
    assert all(c["machine"]["network"]["nameservers"] == ["10.0.0.1"] for c in configs(drill).values())

    result = drill.run("apply-config", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    assert result.last_line.startswith("completed: apply-config (apply)")
    assert all(c["machine"]["network"]["nameservers"] == ["10.0.0.53"] for c in configs(drill).values())
    assert boots(drill) == before_boots  # no node rebooted
    assert not any(n.unschedulable for n in drill.nodes().values())
    # Each node tried, then kept: two applies a node, one node after another.
    applied = [(node_of(c), c.split("--mode ")[1].split()[0]) for c in result.changes if "apply-config" in c]
    assert applied == [(name, mode) for name in ADDRESSES.values() for mode in ("try", "no-reboot")]
    assert "--timeout 120s" in next(c for c in result.changes if "--mode try" in c)

    again = drill.run("apply-config", apply=True)
    assert again.code == 0, again.stdout + again.stderr
    assert "every node already runs its configuration: nothing to apply" in again.stdout
    assert again.changes == []


def test_a_change_that_needs_a_reboot_reboots_workers_one_at_a_time_drained_and_clears_the_flags(make_drill):
    drill = project(make_drill)
    add_proxy_env(drill)
    before_boots = boots(drill)

    plan = drill.run("apply-config", "nodes=worker-1,worker-2,worker-3")
    assert plan.code == 0, plan.stdout + plan.stderr
    assert "worker-1: applies with a reboot (drained first, Ceph's noout while it is away)" in plan.stdout
    assert boots(drill) == before_boots

    result = drill.run("apply-config", "nodes=worker-1,worker-2,worker-3", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    assert result.last_line.startswith("completed: apply-config (apply)")
    after = boots(drill)
    assert all(after[w] != before_boots[w] for w in WORKERS)
    assert after["cp-1"] == before_boots["cp-1"] and after["cp-2"] == before_boots["cp-2"]
    assert all(configs(drill)[w]["machine"]["env"] == {"HTTPS_PROXY": PROXY} for w in WORKERS)
    assert all("env" not in configs(drill)[cp]["machine"] for cp in ("cp-1", "cp-2"))
    assert not any(n.unschedulable for n in drill.nodes().values())
    flags = drill.osd_dump()
    assert not flags.maintenance_flags and not flags.host_flags

    # One at a time, each drained before its reboot and back (uncordoned, noout cleared) before the next.
    expected = []
    for worker in WORKERS:
        address = next(a for a, n in ADDRESSES.items() if n == worker)
        expected += [f"set-group noout {worker}", f"cordon {worker}", f"drain {worker}",
                     f"talosctl -n {address} apply-config", f"uncordon {worker}", f"unset-group noout {worker}"]
    def step(change: str) -> str | None:  # " cordon" is not " uncordon", nor " set-group" " unset-group"
        return next((e for e in expected if f" {e}" in f" {change}"), None)

    seen = [step(c) for c in result.changes if step(c)]
    assert seen == expected
    assert all("--mode reboot" in c for c in result.changes if "apply-config" in c)

    again = drill.run("apply-config", "nodes=worker-1,worker-2,worker-3", apply=True)
    assert again.code == 0 and again.changes == []
    assert boots(drill) == after


def test_a_control_plane_reboot_with_two_members_is_refused_before_anything_is_applied(make_drill):
    drill = project(make_drill)
    add_proxy_env(drill)
    before = configs(drill)
    result = drill.run("apply-config", apply=True)
    assert result.code == 1
    assert "refused: etcd has exactly 2 members" in result.stdout
    assert "accept_two_member_etcd_risk=True" in result.last_line
    assert result.changes == []
    assert configs(drill) == before


def test_another_machine_ca_stops_before_any_apply(make_drill):
    drill = project(make_drill)
    change_nameserver(drill)
    before = configs(drill)
    # A secrets bundle this cluster was not made from (say, from another checkout).
    plain = drill.directory / "other-secrets.yaml"
    bundle = drill.twin / "bootstrap-files" / "talos" / "secrets.sops.yaml"
    drill.tool("talosctl", "gen", "secrets", "--output-file", str(plain))
    drill.tool("sops", "--config", str(drill.directory / ".sops.yaml"), "--encrypt", "--filename-override",
               str(bundle), "--output", str(bundle), str(plain))

    result = drill.run("apply-config", apply=True)
    assert result.code == 1
    assert "refused: the configuration made for cp-1, cp-2, worker-1, worker-2, worker-3 names another machine CA" \
        in result.last_line
    assert "would lock talosctl out of the node; nothing changed" in result.last_line
    assert result.changes == []
    assert configs(drill) == before


def test_a_node_that_never_comes_back_stops_the_run_naming_what_is_left(make_drill):
    drill = project(make_drill, {"faults": [{"fault": "never-ready", "node": "worker-2"}]})
    add_proxy_env(drill)
    before_boots = boots(drill)
    result = drill.run("apply-config", "nodes=worker-1,worker-2,worker-3", apply=True)
    assert result.code == 1
    assert result.last_line.startswith("stopped: worker-2: stopped at step 'wait for Ready'"), result.last_line
    assert "left in place: worker-2 cordoned, noout set for host worker-2" in result.last_line
    assert "not applied yet: worker-3" in result.last_line
    nodes = drill.nodes()
    assert nodes["worker-1"].boot_id != before_boots["worker-1"] and not nodes["worker-1"].unschedulable
    assert nodes["worker-2"].unschedulable
    assert drill.osd_dump().host_flags == {"worker-2": frozenset({"noout"})}
    assert nodes["worker-3"].boot_id == before_boots["worker-3"] and not nodes["worker-3"].unschedulable
    assert "env" not in configs(drill)["worker-3"]["machine"]
    assert not any("worker-3" in c or "10.0.10.23" in c for c in result.changes)

    # worker-2 comes back (its console said why); the same command finishes it first, then worker-3.
    with twin_state.change(str(drill.twin)) as live:
        live["faults"].pop("never-ready")
        node = next(n for n in live["nodes"] if n["name"] == "worker-2")
        node["reboot"]["up_at"] = twin_clock.twin_now(live)
    again = drill.run("apply-config", "nodes=worker-1,worker-2,worker-3", apply=True)
    assert again.code == 0, again.stdout + again.stderr
    assert "worker-2: runs its configuration but an earlier run left it out of service" in again.stdout
    assert again.changes[:2] == ["kubectl uncordon worker-2",
                                 "kubectl -n rook-ceph exec deploy/rook-ceph-tools -- ceph osd unset-group noout worker-2"]
    assert not any("10.0.10.21" in c or "10.0.10.22" in c for c in again.changes)  # applied already: not again
    nodes = drill.nodes()
    assert not any(n.unschedulable for n in nodes.values())
    assert not drill.osd_dump().host_flags and not drill.osd_dump().maintenance_flags
    assert nodes["worker-3"].boot_id != before_boots["worker-3"]
    assert all(configs(drill)[w]["machine"]["env"] == {"HTTPS_PROXY": PROXY} for w in WORKERS)


def test_a_network_change_that_cuts_the_node_off_reverts_by_itself_and_stops(make_drill):
    drill = project(make_drill, {"faults": [{"fault": "config-cuts-off", "node": "cp-1"}]})
    change_nameserver(drill)
    before = configs(drill)
    result = drill.run("apply-config", "try_seconds=2", apply=True)
    assert result.code == 1
    assert result.last_line.startswith("stopped: cp-1: stopped at step 'try the network change'"), result.last_line
    assert "reverted by itself after 2s" in result.last_line
    assert "not applied yet: cp-2, worker-1, worker-2, worker-3" in result.last_line
    assert configs(drill) == before  # cp-1 back on its previous configuration, the others untouched
    assert [c for c in result.changes if "apply-config" in c] == [
        next(c for c in result.changes if "--mode try" in c)]


def test_with_the_risk_accepted_control_planes_reboot_after_a_backup_one_at_a_time(make_drill):
    drill = project(make_drill)
    add_proxy_env(drill)
    before_boots = boots(drill)
    result = drill.run("apply-config", "accept_two_member_etcd_risk=True", apply=True)
    assert result.code == 0, result.stdout + result.stderr
    assert "accepted risk: etcd has exactly 2 members" in result.stdout
    [backup] = list((drill.twin / "backups").iterdir())
    assert sorted(p.name for p in backup.iterdir())[0] == "etcd.snapshot.age"
    after = boots(drill)
    assert all(after[name] != before_boots[name] for name in after)  # every node rebooted, once
    assert all(c["machine"]["env"] == {"HTTPS_PROXY": PROXY} for c in configs(drill).values())
    assert not any(n.unschedulable for n in drill.nodes().values())
    assert not drill.osd_dump().host_flags and not drill.osd_dump().maintenance_flags
    # The snapshot first, then each node's reboot in cluster.yaml order, never two at once.
    changes = result.changes
    snapshot = next(i for i, c in enumerate(changes) if " etcd snapshot " in c)
    reboots = [i for i, c in enumerate(changes) if "--mode reboot" in c]
    uncordons = [i for i, c in enumerate(changes) if c.startswith("kubectl uncordon ")]
    assert snapshot < reboots[0]
    assert [node_of(changes[i]) for i in reboots] == list(ADDRESSES.values())
    assert all(reboots[k] < uncordons[k] < reboots[k + 1] for k in range(len(reboots) - 1))
    assert "waiting for etcd: every member healthy" in result.stdout
