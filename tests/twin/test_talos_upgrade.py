"""`talosctl upgrade`: Talos cordons, drains, reboots into the new version and uncordons what it
cordoned; it refuses bad images and control-plane upgrades that could cost etcd quorum."""

from __future__ import annotations

import json
import time

import pytest

from homeops.twin import cluster

from tests.twin.conftest import IMAGE_REPO

WORKER = ("worker-1", "10.0.10.21")


def test_upgrade_waits_for_the_reboot_and_the_node_comes_back_new(twin):
    name, address = WORKER
    before = twin.node(name)["status"]["nodeInfo"]["bootID"]
    done = twin.talosctl("-n", address, "upgrade", "-i", twin.image("v1.11.2"), "--timeout", "10m")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # talosctl's progress goes to stderr
    assert done.stderr.splitlines()[0] == f"watching nodes: [{address}]"
    assert done.stderr.splitlines()[-1] == f"    * {address}: post check passed"
    node = twin.node(name)
    assert node["status"]["nodeInfo"]["bootID"] != before
    assert node["status"]["nodeInfo"]["osImage"] == "Talos (v1.11.2)"
    assert twin.ready(name) == "True"
    assert "unschedulable" not in node["spec"]
    assert "talos.dev/cordoned" not in node["metadata"]["annotations"]
    version = twin.json("talosctl", "-n", address, "version", "--json")
    assert version["version"]["tag"] == "v1.11.2"


# A ten-minute reboot that the tests walk through with the twin's clock: every stage is 150 s
# wide, so what a test reads at each step does not depend on how fast this machine is.
SLOW_REBOOT = "reboot_seconds: 600\n"
STAGE = 150


def test_without_wait_the_node_is_cordoned_then_not_ready_then_back(make_twin):
    twin = make_twin(SLOW_REBOOT)
    name, address = WORKER
    before = twin.node(name)["status"]["nodeInfo"]["bootID"]
    ack = twin.talosctl("-n", address, "upgrade", "-i", twin.image("v1.11.2"), "--wait=false")
    assert ack.returncode == 0, ack.stderr
    assert ack.stdout.split()[:5] == ["NODE", "ACK", "STARTED", address, "Upgrade"]
    down = twin.node(name)
    assert down["spec"]["unschedulable"] is True
    assert down["metadata"]["annotations"]["talos.dev/cordoned"] == "true"
    assert twin.ready(down) == "Unknown"
    assert any(t["key"] == "node.kubernetes.io/unreachable" for t in down["spec"]["taints"])
    cluster.advance(str(twin.directory), 3 * STAGE)  # booting the new version: not Ready yet
    assert twin.ready(name) != "True"
    cluster.advance(str(twin.directory), STAGE + 1)
    back = twin.node(name)
    assert twin.ready(back) == "True"
    assert back["status"]["nodeInfo"]["bootID"] != before
    assert back["status"]["nodeInfo"]["osImage"] == "Talos (v1.11.2)"
    assert "unschedulable" not in back["spec"]
    assert "talos.dev/cordoned" not in back["metadata"]["annotations"]


def test_machinestatus_shows_the_reboot_stages(make_twin):
    twin = make_twin(SLOW_REBOOT)
    _, address = WORKER

    def stage() -> str:
        done = twin.talosctl("-n", address, "get", "machinestatus", "-o", "json")
        if done.returncode != 0:
            assert "code = Unavailable" in done.stderr  # the Talos API is down between kernels
            return "unreachable"
        return json.loads(done.stdout)["spec"]["stage"]

    twin.talosctl("-n", address, "upgrade", "-i", twin.image("v1.11.2"), "--wait=false")
    seen = [stage()]
    for _ in range(3):
        cluster.advance(str(twin.directory), STAGE + 1)
        seen.append(stage())
    cluster.advance(str(twin.directory), STAGE)
    seen.append(stage())
    assert seen == ["rebooting", "unreachable", "booting", "booting", "running"]


def test_talos_leaves_a_node_cordoned_by_kubectl_cordoned(twin):
    name, address = WORKER
    twin.kubectl("cordon", name)
    done = twin.talosctl("-n", address, "upgrade", "-i", twin.image("v1.11.2"))
    assert done.returncode == 0, done.stderr
    node = twin.node(name)
    assert node["spec"]["unschedulable"] is True
    assert "talos.dev/cordoned" not in node["metadata"]["annotations"]


@pytest.mark.parametrize(
    "image",
    [
        "ghcr.io/siderolabs/installer:v1.11.2",
        "factory.talos.dev/installer/" + "0" * 64 + ":v1.11.2",
        IMAGE_REPO + ":latest",
    ],
    ids=["other-repository", "other-schematic", "bad-tag"],
)
def test_a_wrong_image_aborts_like_a_failed_pull_and_leaves_the_node_alone(twin, image):
    name, address = WORKER
    before = twin.node(name)
    done = twin.talosctl("-n", address, "upgrade", "-i", image, "--timeout", "10m")
    assert done.returncode == 1
    assert f'failed to resolve reference "{image}"' in done.stderr
    assert done.stderr.startswith("error performing upgrade: 1 error occurred:")
    after = twin.node(name)
    assert after["status"]["nodeInfo"]["bootID"] == before["status"]["nodeInfo"]["bootID"]
    assert "unschedulable" not in after["spec"]


def test_control_plane_of_a_two_member_etcd_is_refused_unless_forced(twin, cluster):
    assert len(cluster.control_planes) == 2
    address = str(cluster.control_planes[0].address)
    refused = twin.talosctl("-n", address, "upgrade", "-i", twin.image("v1.11.2"))
    assert refused.returncode == 1
    assert "code = FailedPrecondition" in refused.stderr
    assert "etcd member count(2) is insufficient to maintain quorum" in refused.stderr
    assert "unschedulable" not in twin.node(cluster.control_planes[0].name)["spec"]
    forced = twin.talosctl("-n", address, "upgrade", "-i", twin.image("v1.11.2"), "--force")
    assert forced.returncode == 0, forced.stderr
    # The forced reboot took etcd's quorum and the API with it: the API answers again once the
    # member has rejoined, so wait for that state (bounded) before reading the node through it.
    deadline = time.monotonic() + 60
    while (answer := twin.kubectl("get", "node", cluster.control_planes[0].name, "-o", "json")).returncode != 0:
        assert "was refused" in answer.stderr and time.monotonic() < deadline, answer.stderr
        time.sleep(0.2)
    assert json.loads(answer.stdout)["status"]["nodeInfo"]["osImage"] == "Talos (v1.11.2)"


def test_control_plane_of_a_healthy_three_member_etcd_upgrades(make_twin, three_cp_cluster):
    twin = make_twin(on=three_cp_cluster)
    done = twin.talosctl("-n", "10.0.10.11", "upgrade", "-i", twin.image("v1.11.2"), "--timeout=10m")
    assert done.returncode == 0, done.stderr
    assert twin.node("cp-1")["status"]["nodeInfo"]["osImage"] == "Talos (v1.11.2)"


def test_an_unhealthy_etcd_member_blocks_control_plane_upgrades(make_twin, three_cp_cluster):
    twin = make_twin("reboot_seconds: 0.3\nfaults:\n  - {fault: etcd-unhealthy, node: cp-2}\n", on=three_cp_cluster)
    refused = twin.talosctl("-n", "10.0.10.11", "upgrade", "-i", twin.image("v1.11.2"))
    assert refused.returncode == 1
    assert "is not healthy; all members must be healthy to perform an upgrade" in refused.stderr
    worker = twin.talosctl("-n", "10.0.10.22", "upgrade", "-i", twin.image("v1.11.2"))
    assert worker.returncode == 0, worker.stderr


def test_the_same_version_again_reinstalls_and_reboots(twin):
    name, address = WORKER
    before = twin.node(name)["status"]["nodeInfo"]["bootID"]
    done = twin.talosctl("-n", address, "upgrade", "-i", twin.image("v1.11.1"))
    assert done.returncode == 0, done.stderr
    after = twin.node(name)["status"]["nodeInfo"]
    assert after["bootID"] != before and after["osImage"] == "Talos (v1.11.1)"


def test_upgrade_error_fails_and_leaves_the_node_unchanged_and_uncordoned(make_twin):
    twin = make_twin("reboot_seconds: 0.3\nfaults: [{fault: upgrade-error, node: worker-1}]\n")
    name, address = WORKER
    before = twin.node(name)
    done = twin.talosctl("-n", address, "upgrade", "-i", twin.image("v1.11.2"))
    assert done.returncode == 1
    assert "500 Internal Server Error" in done.stderr
    after = twin.node(name)
    assert after["status"]["nodeInfo"] == before["status"]["nodeInfo"]
    assert "unschedulable" not in after["spec"]
    other = twin.talosctl("-n", "10.0.10.22", "upgrade", "-i", twin.image("v1.11.2"))
    assert other.returncode == 0, other.stderr


def test_never_ready_node_times_the_wait_out_and_stays_not_ready(make_twin):
    twin = make_twin("reboot_seconds: 0.3\nfaults: [{fault: never-ready, node: worker-1}]\n")
    name, address = WORKER
    done = twin.talosctl("-n", address, "upgrade", "-i", twin.image("v1.11.2"), "--timeout", "10m")
    assert done.returncode == 1
    assert f"* {address}: context deadline exceeded" in done.stderr
    assert twin.ready(name) == "Unknown"
    assert twin.json("talosctl", "-n", address, "get", "machinestatus", "-o", "json")["spec"]["stage"] == "booting"


def test_a_drain_blocked_node_is_upgraded_anyway_after_talos_gives_up_draining(make_twin):
    twin = make_twin("reboot_seconds: 0.3\nfaults: [{fault: drain-blocked, node: worker-1}]\n")
    name, address = WORKER
    before = twin.node(name)["status"]["nodeInfo"]["bootID"]
    done = twin.talosctl("-n", address, "upgrade", "-i", twin.image("v1.11.2"))
    assert done.returncode == 0, done.stderr
    assert "stage: UPGRADING" in done.stderr  # it lingered in the drain before rebooting
    assert twin.node(name)["status"]["nodeInfo"]["bootID"] != before


def test_bad_usage_fails_like_talosctl(twin):
    flag = twin.talosctl("-n", "10.0.10.21", "upgrade", "-i", twin.image("v1.11.2"), "--bogus")
    assert flag.returncode == 1 and flag.stderr.startswith("Error: unknown flag: --bogus")
    nodes = twin.talosctl("upgrade", "-i", twin.image("v1.11.2"))
    assert nodes.returncode == 1 and "nodes are not set for the command" in nodes.stderr
    command = twin.talosctl("frob")
    assert command.returncode == 1 and 'unknown command "frob" for "talosctl"' in command.stderr
    assert "unschedulable" not in twin.node("worker-1")["spec"]
