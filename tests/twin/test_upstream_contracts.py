"""The twin's output against the real outputs of tests/tools/fixtures/upstream, field by field.

For JSON every field the upstream document has where the parsers read (with the JSON type it
has there) must be in the twin's; for tables the twin's header must be one talosctl prints;
for progress, the same lines on the same stream. The twin cannot drift from the real tools
without one of these failing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from homeops.twin import state

UPSTREAM = Path(__file__).resolve().parents[1] / "tools" / "fixtures" / "upstream"


def upstream(name: str) -> str:
    return (UPSTREAM / name).read_text()


# Maps keyed by a name that differs between clusters (health check names): their entries share `*`.
NAMED_ENTRIES = (".health.checks",)


def shape(value, path: str = "") -> dict[str, str]:
    """Every key path of a JSON document with its JSON type; list items share the path `[]`."""
    found = {path or ".": type(value).__name__}
    if isinstance(value, dict):
        for key, item in value.items():
            found.update(shape(item, f"{path}.{'*' if path in NAMED_ENTRIES else key}"))
    elif isinstance(value, list):
        for item in value:
            found.update(shape(item, f"{path}[]"))
    return found


def missing_fields(real: dict, twin: dict, under: tuple[str, ...]) -> dict[str, str]:
    real_shape, twin_shape = shape(real), shape(twin)
    return {path: kind for path, kind in real_shape.items()
            if path.startswith(under) and twin_shape.get(path) != kind}


def test_ceph_status_has_every_field_of_a_real_one_where_the_parser_reads(twin):
    with state.change(str(twin.directory)) as live:
        live["ceph"]["forced_down"] = [live["nodes"][2]["osds"][0]]
    real = json.loads(upstream("ceph-status-luminous.json"))
    # Luminous nested the counts under osdmap.osdmap; Pacific and later print them flat.
    real["osdmap"] = real["osdmap"]["osdmap"]
    assert missing_fields(real, twin.ceph_status(), (".health.status", ".health.checks", ".osdmap.num_",
                                                     ".pgmap.pgs_by_state", ".pgmap.num_pgs")) == {}


def test_osd_tree_has_every_field_of_ceph_pacifics(twin):
    real = json.loads(upstream("ceph-osd-tree-pacific.json"))
    done = twin.ceph("osd", "tree", "-f", "json")
    assert done.returncode == 0, done.stderr
    assert missing_fields(real, json.loads(done.stdout), (".nodes", ".stray")) == {}


def test_ok_to_stop_answers_like_ceph_yes_in_json_no_in_errno_alone(twin):
    yes = twin.ceph("osd", "ok-to-stop", "0", "-f", "json")
    assert yes.returncode == 0
    real = json.loads(upstream("ceph-ok-to-stop.json"))
    assert set(shape(real)) - {".ok_become_degraded", ".ok_become_degraded[]"} <= set(shape(json.loads(yes.stdout)))
    with state.change(str(twin.directory)) as live:
        live["ceph"]["forced_down"] = [live["nodes"][2]["osds"][0], live["nodes"][3]["osds"][0]]
    no = twin.ceph("osd", "ok-to-stop", "2", "-f", "json")
    assert no.returncode == 16
    assert no.stdout == ""
    refusal = upstream("ceph-ok-to-stop-refused.stderr").split("(")[0]
    assert no.stderr.startswith(refusal)


def test_etcd_status_prints_the_header_of_the_talosctl_it_plays(twin, cluster):
    address = str(cluster.control_planes[0].address)
    header = twin.talosctl("-n", address, "etcd", "status").stdout.splitlines()[0]
    assert header.split() == upstream("talosctl-etcd-status-v1.11.txt").splitlines()[0].split()
    with state.change(str(twin.directory)) as live:
        live["client"] = {"talosctl": "v1.10.6"}
    old = twin.talosctl("-n", address, "etcd", "status").stdout.splitlines()[0]
    assert old.split() == upstream("talosctl-etcd-status-before-v1.11.txt").splitlines()[0].split()
    assert "Tag:         v1.10.6" in twin.talosctl("version", "--client").stdout


def test_etcd_members_prints_talosctls_header(twin, cluster):
    header = twin.talosctl("-n", str(cluster.control_planes[0].address), "etcd", "members").stdout.splitlines()[0]
    real = next(line for line in upstream("talosctl-etcd-members-with-warning.txt").splitlines()
                if line.startswith("NODE"))
    assert header.split() == real.split()


def test_flux_reconcile_prints_fluxs_progress_lines_on_stderr(twin):
    done = twin.flux("reconcile", "kustomization", "flux-system", "--with-source")
    assert done.returncode == 0 and done.stdout == ""
    real = [line.split(" ", 1)[0] + " " + line.split(" ")[1] for line in upstream(
        "flux-reconcile-kustomization.stderr").splitlines()]
    assert [line.split(" ", 1)[0] + " " + line.split(" ")[1] for line in done.stderr.splitlines()] == real


def test_talosctl_version_json_is_server_objects_with_go_version(twin, cluster):
    done = twin.talosctl("-n", str(cluster.workers[0].address), "version", "--json")
    objects = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert len(objects) == 1
    assert objects[0]["metadata"]["hostname"] == str(cluster.workers[0].address)
    assert objects[0]["version"]["goVersion"].startswith("go1.")
    assert "go_version" not in objects[0]["version"]



@pytest.mark.parametrize("command, golden", [
    (("suspend", "helmrelease", "cert-manager", "-n", "cert-manager"), "flux-suspend-helmrelease.stderr"),
    (("resume", "helmrelease", "cert-manager", "-n", "cert-manager"), "flux-resume-helmrelease.stderr"),
])
def test_flux_suspend_and_resume_print_fluxs_lines(twin, command, golden):
    if command[0] == "resume":
        assert twin.flux("suspend", *command[1:]).returncode == 0
    done = twin.flux(*command)
    assert done.returncode == 0 and done.stdout == ""
    ours = [line.replace("cert-manager", "thrfg") for line in done.stderr.splitlines()]
    real = [line.replace("{{ .ns }}", "cert-manager").replace("cert-manager", "thrfg")
            for line in upstream(golden).splitlines()]
    assert [line.rsplit(" ", 1)[0] for line in ours] == [line.rsplit(" ", 1)[0] for line in real]


def test_flux_reconcile_of_a_helmrelease_ends_as_fluxs_golden_lines(twin):
    done = twin.flux("reconcile", "helmrelease", "cert-manager", "-n", "cert-manager", "--reset")
    assert done.returncode == 0, done.stderr
    real = upstream("flux-reconcile-helmrelease.stderr").splitlines()[-4:]  # the release's own four lines
    ours = done.stderr.splitlines()
    assert [line.split(" ")[:2] for line in ours] == [line.split(" ")[:2] for line in real]
    assert ours[0] == "► annotating HelmRelease cert-manager in cert-manager namespace"


def test_a_stuck_release_has_helm_controllers_stalled_and_ready_conditions(make_twin):
    twin = make_twin("faults: [{fault: helmrelease-stuck, name: cert-manager, namespace: cert-manager}]\n")
    item = json.loads(twin.kubectl("-n", "cert-manager", "get", "helmreleases.helm.toolkit.fluxcd.io",
                                   "cert-manager", "-o", "json").stdout)
    conditions = {c["type"]: c for c in item["status"]["conditions"]}
    described = upstream("helmrelease-stalled-describe.txt")
    real = {}
    for block in described.split("Last Transition Time:")[1:]:
        fields = dict(line.strip().split(":", 1) for line in block.splitlines()[1:] if ":" in line and
                      line.strip().split(":", 1)[0] in ("Message", "Reason", "Status", "Type"))
        real[fields["Type"].strip()] = {k: v.strip() for k, v in fields.items()}
    assert set(conditions) == set(real)
    stalled = conditions["Stalled"]
    assert (stalled["status"], stalled["reason"], stalled["message"]) == (
        real["Stalled"]["Status"], real["Stalled"]["Reason"], real["Stalled"]["Message"])
    assert conditions["Ready"]["status"] == real["Ready"]["Status"] == "False"
    assert conditions["Ready"]["message"].startswith("Helm install failed for release cert-manager/cert-manager ")


def _top_level(text: str) -> list[str]:
    """The keys of a resource's first two levels, in order (`node`, `metadata`, `metadata.type`, ..., `spec`)."""
    keys, parent = [], ""
    for line in text.splitlines():
        stripped = line.split("#", 1)[0].rstrip()
        if not stripped or ":" not in stripped:
            continue
        key = stripped.split(":", 1)[0]
        if not line.startswith(" "):
            parent = key
            keys.append(key)
        elif line.startswith("    ") and not line.startswith("     ") and parent == "metadata":
            keys.append(f"metadata.{key.strip()}")
    return keys


def test_get_machineconfig_yaml_is_talos_resource_with_the_config_under_spec(twin, cluster):
    address = str(cluster.control_planes[0].address)
    printed = twin.talosctl("-n", address, "get", "machineconfig", "-o", "yaml").stdout
    real = upstream("talosctl-get-machineconfig-yaml.txt")
    ours = _top_level(printed)
    assert [k for k in _top_level(real) if k in ours] == _top_level(real)  # every real key, in the real order
    assert f"node: {address}\n" in printed and "    type: MachineConfigs.config.talos.dev\n" in printed
    assert "\nspec:\n    version: v1alpha1\n" in printed and "\n        type: controlplane\n" in printed


def test_etcd_snapshot_prints_talosctls_two_lines(twin, cluster, tmp_path):
    printed = twin.talosctl("-n", str(cluster.control_planes[0].address), "etcd", "snapshot",
                            str(tmp_path / "db.snapshot")).stdout
    real = upstream("talosctl-etcd-snapshot.txt")
    shape = re.compile(r'etcd snapshot saved to "[^"]+" \(\d+ bytes\)\n'
                       r"snapshot info: hash [0-9a-f]{8}, revision \d+, total keys \d+, total size \d+\n?")
    assert shape.fullmatch(real) and shape.fullmatch(printed)
