"""Power off and on in the twin: `talosctl shutdown` (and its flags, as talosctl defines them), a node that
stays off until `homeops twin power-on`, the API gone with one of two control planes, the node-monitor grace
period, OSDs and noout, boots in the order power comes back, and Flux's suspend and resume of Kustomizations
(flux2's golden lines)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from homeops.twin import cluster, state

UPSTREAM = Path(__file__).resolve().parents[1] / "tools" / "fixtures" / "upstream"
ROOT = Path(__file__).resolve().parents[2]
WORKERS = "10.0.10.21,10.0.10.22,10.0.10.23"
REFUSED = "dial tcp 10.0.10.21:50000: connect: connection refused"


def upstream(name: str) -> str:
    return (UPSTREAM / name).read_text()


def off(twin) -> set[str]:
    return {n["name"] for n in twin.state()["nodes"] if n.get("off")}


def power_on(twin, *names: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "homeops", "--config", str(ROOT / "cluster.yaml"), "twin",
                           "power-on", str(twin.directory), *names], capture_output=True, text=True, timeout=60)


def test_talosctl_shutdown_takes_the_flags_talosctl_defines():
    flags = upstream("talosctl-shutdown-flags.txt")
    assert '"force", false, "if true, force a node to shutdown without a cordon/drain"' in flags
    assert '"wait", true' in flags and '"timeout", 30*time.Minute' in flags
    from homeops.twin.talos.talosctl import COMMAND_FLAGS

    assert {f.name for f in COMMAND_FLAGS["shutdown"]} == {"force", "wait", "timeout", "debug"}


def test_a_worker_shut_down_is_off_until_powered_on_and_reads_ready_for_the_grace_period(make_twin):
    twin = make_twin("reboot_seconds: 0.3\n")
    with state.change(str(twin.directory)) as current:  # a knob without a scenario key
        current["timing"]["node_grace_seconds"] = 40.0
    done = twin.talosctl("-n", "10.0.10.21", "shutdown", "--force")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == ['"10.0.10.21": waiting for actor ID', done.stderr.splitlines()[1],
                                        '"10.0.10.21": events check condition met']
    assert off(twin) == {"worker-1"}
    refused = twin.talosctl("-n", "10.0.10.21", "version", "--json")
    assert refused.returncode == 1 and REFUSED in refused.stderr
    assert twin.ready("worker-1") == "True"  # kube-controller-manager has not noticed yet
    cluster.advance(str(twin.directory), 40)
    assert twin.ready("worker-1") == "Unknown"
    status = twin.ceph_status()
    assert status["osdmap"]["num_up_osds"] == 2
    cluster.advance(str(twin.directory), 601)  # past mon_osd_down_out_interval, no noout: out
    assert twin.ceph_status()["osdmap"]["num_in_osds"] == 2
    assert twin.node("worker-1").get("spec", {}).get("unschedulable") is None  # --force: no cordon

    assert power_on(twin, "worker-1").returncode == 0
    assert off(twin) == set()
    twin.eventually(lambda: twin.ready("worker-1") == "True", "worker-1 back")
    cluster.advance(str(twin.directory), 0)  # the finished boot, saved
    assert next(n for n in twin.state()["nodes"] if n["name"] == "worker-1")["boots"] == 1


def test_with_noout_the_osds_of_a_shut_down_worker_stay_in(make_twin):
    twin = make_twin("reboot_seconds: 0.3\n")
    assert twin.ceph("osd", "set", "noout").returncode == 0
    assert twin.talosctl("-n", WORKERS, "shutdown", "--force").returncode == 0
    cluster.advance(str(twin.directory), 601)
    osdmap = twin.ceph_status()["osdmap"]
    assert (osdmap["num_up_osds"], osdmap["num_in_osds"]) == (0, 3)


def test_without_force_talos_cordons_and_drains_and_uncordons_after_the_boot(make_twin):
    twin = make_twin("reboot_seconds: 0.3\n")
    assert twin.talosctl("-n", "10.0.10.22", "shutdown").returncode == 0
    node = next(n for n in twin.state()["nodes"] if n["name"] == "worker-2")
    assert node["unschedulable"] and node["drained"]
    assert power_on(twin, "all").returncode == 0
    twin.eventually(lambda: twin.ready("worker-2") == "True", "worker-2 back")
    assert not twin.node("worker-2").get("spec", {}).get("unschedulable")


def test_one_control_plane_off_takes_the_api_and_both_are_needed_to_bring_it_back(make_twin):
    twin = make_twin("reboot_seconds: 0.3\n")
    assert twin.talosctl("-n", "10.0.10.11", "-e", "10.0.10.11", "shutdown", "--force").returncode == 0
    refused = twin.kubectl("get", "nodes", "-o", "json")
    assert refused.returncode == 1 and "was refused" in refused.stderr
    assert twin.talosctl("-n", "10.0.10.12", "-e", "10.0.10.12", "shutdown", "--force").returncode == 0
    assert power_on(twin, "cp-1").stdout.strip() == "powered on: cp-1"
    cluster.advance(str(twin.directory), 5)
    assert twin.kubectl("get", "nodes", "-o", "json").returncode == 1  # one of two etcd members: no quorum
    assert twin.talosctl("-n", "10.0.10.11", "version", "--json").returncode == 0
    assert power_on(twin, "cp-2", "cp-1").stdout.strip() == "powered on: cp-2 (already on: cp-1)"
    twin.eventually(lambda: twin.kubectl("get", "nodes", "-o", "json").returncode == 0, "the API back")


def test_power_on_refuses_an_unknown_node_and_a_node_that_never_boots_stays_not_ready(make_twin):
    twin = make_twin("reboot_seconds: 0.3\nfaults:\n  - {fault: never-ready, node: worker-3}\n")
    assert twin.talosctl("-n", "10.0.10.23", "shutdown", "--force").returncode == 0
    refused = power_on(twin, "worker-9")
    assert refused.returncode == 2 and "no node named worker-9" in refused.stderr
    assert off(twin) == {"worker-3"}
    assert power_on(twin, "worker-3").returncode == 0
    cluster.advance(str(twin.directory), 60)
    assert twin.ready("worker-3") == "Unknown"


def test_shutting_down_a_node_that_is_off_fails_as_talosctl_does(make_twin):
    twin = make_twin("reboot_seconds: 0.3\n")
    assert twin.talosctl("-n", "10.0.10.21", "shutdown", "--force").returncode == 0
    again = twin.talosctl("-n", "10.0.10.21", "shutdown", "--force", "--wait=false")
    assert again.returncode == 1
    assert again.stderr.startswith("error executing shutdown: 1 error occurred:") and REFUSED in again.stderr


def test_flux_suspend_and_resume_of_a_kustomization_print_fluxs_lines(twin):
    done = twin.flux("suspend", "kustomization", "cloudflared")
    assert done.returncode == 0 and done.stdout == ""
    real = [line.replace("tkfg", "cloudflared").replace("{{ .ns }}", "flux-system")
            for line in upstream("flux-suspend-kustomization.stderr").splitlines()]
    assert done.stderr.splitlines() == real
    listed = twin.json("kubectl", "get", "kustomizations.kustomize.toolkit.fluxcd.io", "-A", "-o", "json")
    apps = next(i for i in listed["items"] if i["metadata"]["name"] == "cloudflared")
    assert apps["spec"]["suspend"] is True
    assert (apps["metadata"]["generation"], apps["status"]["observedGeneration"]) == (2, 1)

    resumed = twin.flux("resume", "kustomization", "cloudflared")
    assert resumed.returncode == 0, resumed.stderr
    real = [line.replace("tkfg", "cloudflared").replace("{{ .ns }}", "flux-system")
            for line in upstream("flux-resume-kustomization.stderr").splitlines()]
    ours = resumed.stderr.splitlines()
    assert ours[:-1] == real[:-1] and ours[-1].startswith("✔ applied revision main@sha1:")
    listed = twin.json("kubectl", "get", "kustomizations.kustomize.toolkit.fluxcd.io", "-A", "-o", "json")
    apps = next(i for i in listed["items"] if i["metadata"]["name"] == "cloudflared")
    assert "suspend" not in apps["spec"]
    assert (apps["metadata"]["generation"], apps["status"]["observedGeneration"]) == (3, 3)
    assert json.loads(json.dumps(apps["status"]["conditions"]))[0]["observedGeneration"] == 3



def test_with_dial_seconds_a_machine_that_is_off_answers_only_by_timing_out(make_twin):
    """`timing.dial_seconds` (a knob tests set): talosctl's dial of a machine that is off gives up with
    `i/o timeout` after that long, as gRPC's connect timeout does for a machine that drops the connection;
    a machine that is on answers at once, and a call to both waits for the one that is off only."""
    twin = make_twin()
    with state.change(str(twin.directory)) as current:  # a knob without a scenario key
        current["timing"]["dial_seconds"] = 5.0
    assert twin.talosctl("-n", "10.0.10.21", "shutdown", "--force").returncode == 0

    started = time.monotonic()
    answer = twin.talosctl("-n", "10.0.10.22,10.0.10.21", "version", "--json")
    assert answer.returncode == 1 and time.monotonic() - started >= 5.0
    assert "* 10.0.10.21: " in answer.stderr and "dial tcp 10.0.10.21:50000: i/o timeout" in answer.stderr
    assert json.loads(answer.stdout)["metadata"]["hostname"] == "10.0.10.22"  # the one that is on answered

    started = time.monotonic()
    assert twin.talosctl("-n", "10.0.10.22", "version", "--json").returncode == 0
    assert time.monotonic() - started < 5.0  # no dial to wait for


def test_without_dial_seconds_a_machine_that_is_off_refuses_at_once(twin):
    assert twin.talosctl("-n", "10.0.10.21", "shutdown", "--force").returncode == 0
    refused = twin.talosctl("-n", "10.0.10.21", "version", "--json")
    assert refused.returncode == 1 and REFUSED in refused.stderr
