"""Leases: the calls the maintenance lock makes, their error texts, and concurrent writers."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

LEASE = "homeops-maintenance"


def _lease(holder: str, resource_version: str | None = None, **spec) -> str:
    metadata = {"name": LEASE, "namespace": "kube-system", "annotations": {"homeops.dev/runbook": "upgrade-talos"}}
    if resource_version is not None:
        metadata["resourceVersion"] = resource_version
    body = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": metadata,
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": 900,
            "acquireTime": "2026-11-26T12:00:00Z",
            "renewTime": "2026-11-26T12:00:00.5Z",
            **spec,
        },
    }
    return json.dumps(body)


def test_lease_life_create_get_replace_delete(twin):
    absent = twin.kubectl("-n", "kube-system", "get", "lease", LEASE, "-o", "json")
    assert (absent.returncode, absent.stderr.strip()) == (
        1,
        f'Error from server (NotFound): leases.coordination.k8s.io "{LEASE}" not found',
    )
    created = twin.kubectl("create", "-f", "-", stdin=_lease("alice"))
    assert (created.returncode, created.stdout) == (0, f"lease.coordination.k8s.io/{LEASE} created\n")
    lease = twin.json("kubectl", "-n", "kube-system", "get", "lease", LEASE, "-o", "json")
    assert lease["spec"]["holderIdentity"] == "alice"
    assert lease["spec"]["acquireTime"] == "2026-11-26T12:00:00.000000Z"
    assert lease["spec"]["renewTime"] == "2026-11-26T12:00:00.500000Z"
    assert lease["metadata"]["annotations"] == {"homeops.dev/runbook": "upgrade-talos"}
    version = lease["metadata"]["resourceVersion"]
    replaced = twin.kubectl("replace", "-f", "-", stdin=_lease("bob", version))
    assert replaced.stdout == f"lease.coordination.k8s.io/{LEASE} replaced\n"
    stale = twin.kubectl("replace", "-f", "-", stdin=_lease("carol", version))
    assert stale.returncode == 1
    assert stale.stderr.startswith(
        'Error from server (Conflict): error when replacing "STDIN": Operation cannot be fulfilled'
    )
    assert (
        twin.json("kubectl", "-n", "kube-system", "get", "lease", LEASE, "-o", "json")["spec"]["holderIdentity"]
        == "bob"
    )
    deleted = twin.kubectl("-n", "kube-system", "delete", "lease", LEASE)
    assert deleted.stdout == f'lease.coordination.k8s.io "{LEASE}" deleted\n'
    again = twin.kubectl("-n", "kube-system", "delete", "lease", LEASE)
    assert again.returncode == 1 and "(NotFound)" in again.stderr


def test_a_second_create_is_already_exists(twin):
    twin.kubectl("create", "-f", "-", stdin=_lease("alice"))
    second = twin.kubectl("create", "-f", "-", stdin=_lease("bob"))
    assert second.returncode == 1
    assert second.stderr.strip() == (
        'Error from server (AlreadyExists): error when creating "STDIN": '
        f'leases.coordination.k8s.io "{LEASE}" already exists'
    )


def test_replace_of_a_missing_lease_and_a_bad_time_are_refused(twin):
    missing = twin.kubectl("replace", "-f", "-", stdin=_lease("alice"))
    assert missing.returncode == 1 and "(NotFound)" in missing.stderr
    bad = twin.kubectl("create", "-f", "-", stdin=_lease("alice", renewTime="yesterday"))
    assert bad.returncode == 1 and "cannot be handled as a Lease" in bad.stderr
    assert twin.kubectl("-n", "kube-system", "get", "lease", LEASE).returncode == 1


def test_create_prints_json_on_request(twin):
    done = twin.kubectl("create", "-f", "-", "-o", "json", stdin=_lease("alice"))
    assert json.loads(done.stdout)["metadata"]["resourceVersion"].isdigit()


def test_exactly_one_of_several_concurrent_creates_wins(twin):
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda i: twin.kubectl("create", "-f", "-", stdin=_lease(f"runner-{i}")), range(6)))
    winners = [r for r in results if r.returncode == 0]
    losers = [r for r in results if r.returncode != 0]
    assert len(winners) == 1
    assert all("(AlreadyExists)" in r.stderr for r in losers)
    holder = twin.json("kubectl", "-n", "kube-system", "get", "lease", LEASE, "-o", "json")["spec"]["holderIdentity"]
    assert winners[0].stdout and holder.startswith("runner-")


def test_concurrent_cordons_of_different_nodes_lose_no_update(twin, cluster):
    names = [n.name for n in cluster.nodes]
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        results = list(pool.map(lambda name: twin.kubectl("cordon", name), names))
    assert all(r.returncode == 0 for r in results)
    nodes = twin.json("kubectl", "get", "nodes", "-o", "json")["items"]
    assert all(n["spec"].get("unschedulable") is True for n in nodes)
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        list(pool.map(lambda name: twin.kubectl("uncordon", name), names))
    nodes = twin.json("kubectl", "get", "nodes", "-o", "json")["items"]
    assert all("unschedulable" not in n["spec"] for n in nodes)


def test_deleting_anything_but_a_lease_a_deployment_or_a_node_is_forbidden(twin):
    done = twin.kubectl("-n", "kube-system", "delete", "service", "kube-dns")
    assert done.returncode == 1 and "(Forbidden)" in done.stderr
    services = twin.json("kubectl", "-n", "kube-system", "get", "services", "-o", "json")["items"]
    assert [s["metadata"]["name"] for s in services] == ["kube-dns"]
