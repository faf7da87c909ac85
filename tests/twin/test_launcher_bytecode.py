"""The fake tools compile homeops's modules once, into the user's cache, whatever the environment says."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import homeops
from homeops.twin.directory import BYTECODE_CACHE

PACKAGE = Path(homeops.__file__).resolve().parent


def run(twin_dir: Path, cache_home: Path, *argv: str) -> subprocess.CompletedProcess:
    # As in this project's CI shells: no bytecode written beside the sources.
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "XDG_CACHE_HOME": str(cache_home)}
    return subprocess.run([str(twin_dir / "bin" / argv[0]), *argv[1:]], capture_output=True, text=True, timeout=30,
                          env=env, check=False)


def compiled(cache_home: Path) -> dict[Path, int]:
    """Compiled modules in the cache: path -> modification time (ns)."""
    return {p: p.stat().st_mtime_ns for p in cache_home.joinpath(*BYTECODE_CACHE).rglob("*.pyc")}


def node_facts(kubectl_json: str) -> list[tuple[str, str, bool]]:
    return [(node["metadata"]["name"], node["status"]["nodeInfo"]["kubeletVersion"],
             bool(node["spec"].get("unschedulable"))) for node in json.loads(kubectl_json)["items"]]


def test_the_first_call_compiles_the_twin_and_later_calls_and_other_twins_reuse_it(make_twin, tmp_path):
    cache_home = tmp_path / "cache"
    first_twin, second_twin = make_twin(), make_twin()
    first = run(first_twin.directory, cache_home, "kubectl", "get", "nodes", "-o", "json")
    assert first.returncode == 0, first.stderr
    cached = compiled(cache_home)
    twin_modules = cache_home.joinpath(*BYTECODE_CACHE, str(PACKAGE / "twin").lstrip("/"))
    names = {str(p.parent.relative_to(twin_modules) / p.name.split(".")[0]) for p in cached
             if twin_modules in p.parents}
    assert {"kube/kubectl", "state", "kube/k8s"} <= names

    again = run(first_twin.directory, cache_home, "kubectl", "get", "nodes", "-o", "json")
    other = run(second_twin.directory, cache_home, "kubectl", "get", "nodes", "-o", "json")
    assert again.returncode == 0 and other.returncode == 0, again.stderr + other.stderr
    # Heartbeats move with the clock, as a kubelet's do; what the nodes are must not.
    assert node_facts(again.stdout) == node_facts(first.stdout) == node_facts(other.stdout)
    assert compiled(cache_home) == cached, "a later call recompiled (or rewrote) what was already cached"


def test_the_standard_library_keeps_its_own_compiled_files(twin, tmp_path):
    cache_home = tmp_path / "cache"
    done = run(twin.directory, cache_home, "talosctl", "-n", "10.0.10.11", "etcd", "status")
    assert done.returncode == 0, done.stderr
    ours = cache_home.joinpath(*BYTECODE_CACHE, str(PACKAGE).lstrip("/"))
    assert compiled(cache_home), "nothing was compiled into the cache"
    foreign = [p for p in compiled(cache_home) if ours not in p.parents]
    assert foreign == [], "standard-library modules were recompiled into the twin's cache"


def test_an_unwritable_cache_only_costs_speed(twin, tmp_path):
    cache_home = tmp_path / "a-file-not-a-directory"  # unwritable below it, even for root
    cache_home.write_text("")
    done = run(twin.directory, cache_home, "kubectl", "get", "node", "worker-1", "-o", "json")
    assert done.returncode == 0, done.stderr
    assert '"name":"worker-1"' in done.stdout.replace(" ", "")
    assert cache_home.read_text() == ""
