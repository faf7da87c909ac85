"""kubectl's view of the nodes: the shape of `get nodes -o json`, the table, cordon/uncordon,
and how kubectl fails on bad usage."""

from __future__ import annotations

import json


def test_nodes_come_from_cluster_yaml_in_the_real_json_shape(twin, cluster):
    listing = twin.json("kubectl", "get", "nodes", "-o", "json")
    assert listing["kind"] == "List"
    items = {item["metadata"]["name"]: item for item in listing["items"]}
    assert list(items) == [n.name for n in cluster.nodes]
    for model in cluster.nodes:
        node = items[model.name]
        labels = node["metadata"]["labels"]
        assert ("node-role.kubernetes.io/control-plane" in labels) == (model.role == "control-plane")
        if model.role == "control-plane":
            assert labels["node-role.kubernetes.io/control-plane"] == ""
        assert node["status"]["addresses"] == [
            {"address": str(model.address), "type": "InternalIP"},
            {"address": model.name, "type": "Hostname"},
        ]
        info = node["status"]["nodeInfo"]
        assert info["kubeletVersion"] == cluster.versions.kubernetes
        assert info["osImage"] == f"Talos ({cluster.versions.talos})"
        assert len(info["bootID"]) == 36 and info["bootID"].count("-") == 4
        assert next(c for c in node["status"]["conditions"] if c["type"] == "Ready")["status"] == "True"
        assert "unschedulable" not in node["spec"]


def test_scenario_versions_replace_the_cluster_yaml_ones(make_twin):
    twin = make_twin("talos_version: v1.11.0\nkubernetes_version: v1.33.4\n")
    info = twin.node("worker-1")["status"]["nodeInfo"]
    assert (info["osImage"], info["kubeletVersion"]) == ("Talos (v1.11.0)", "v1.33.4")


def test_get_node_by_name_gives_the_object_and_an_unknown_one_is_not_found(twin):
    assert twin.node("cp-1")["kind"] == "Node"
    missing = twin.kubectl("get", "node", "nope", "-o", "json")
    assert missing.returncode == 1
    assert missing.stderr.strip() == 'Error from server (NotFound): nodes "nope" not found'


def test_plain_get_nodes_prints_the_table(twin):
    twin.kubectl("cordon", "worker-2")
    table = twin.kubectl("get", "nodes").stdout.splitlines()
    assert table[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    rows = {line.split()[0]: line.split() for line in table[1:]}
    assert rows["cp-1"][1:3] == ["Ready", "control-plane"]
    assert rows["worker-2"][1:3] == ["Ready,SchedulingDisabled", "<none>"]


def test_cordon_and_uncordon_say_what_they_did_and_change_spec_unschedulable(twin):
    assert twin.kubectl("cordon", "worker-1").stdout == "node/worker-1 cordoned\n"
    assert twin.node("worker-1")["spec"]["unschedulable"] is True
    assert twin.kubectl("cordon", "worker-1").stdout == "node/worker-1 already cordoned\n"
    assert twin.kubectl("uncordon", "worker-1").stdout == "node/worker-1 uncordoned\n"
    assert "unschedulable" not in twin.node("worker-1")["spec"]
    assert twin.kubectl("uncordon", "worker-1").stdout == "node/worker-1 already uncordoned\n"
    missing = twin.kubectl("cordon", "nope")
    assert (missing.returncode, missing.stderr.strip()) == (1, 'Error from server (NotFound): nodes "nope" not found')


def test_flags_are_read_before_or_after_the_verb_in_every_spelling(twin):
    spellings = [
        ["get", "nodes", "-o", "json"],
        ["get", "nodes", "-ojson"],
        ["get", "nodes", "--output=json"],
        ["--output", "json", "get", "nodes"],
        ["-n", "kube-system", "get", "nodes", "-o", "json", "--request-timeout=5s"],
    ]
    for argv in spellings:
        done = twin.kubectl(*argv)
        assert done.returncode == 0, (argv, done.stderr)
        assert len(json.loads(done.stdout)["items"]) == 5


def test_unknown_commands_flags_resources_and_formats_fail_like_kubectl(twin):
    command = twin.kubectl("frobnicate")
    assert (command.returncode, command.stderr.strip()) == (1, 'error: unknown command "frobnicate" for "kubectl"')
    flag = twin.kubectl("get", "nodes", "--bogus")
    assert flag.returncode == 1
    assert flag.stderr.splitlines() == ["error: unknown flag: --bogus", "See 'kubectl get --help' for usage."]
    flag_of_another_verb = twin.kubectl("cordon", "worker-1", "--ignore-daemonsets")
    assert flag_of_another_verb.returncode == 1 and "unknown flag: --ignore-daemonsets" in flag_of_another_verb.stderr
    assert "unschedulable" not in twin.node("worker-1")["spec"]
    resource = twin.kubectl("get", "widgets")
    assert resource.stderr.strip() == 'error: the server doesn\'t have a resource type "widgets"'
    output = twin.kubectl("get", "nodes", "-o", "xml")
    assert output.returncode == 1 and 'output format "xml"' in output.stderr


def test_name_output_and_type_slash_name(twin):
    assert twin.kubectl("get", "node/cp-2", "-o", "name").stdout == "node/cp-2\n"


def test_load_balancers_are_loadbalancer_services_holding_their_addresses(twin, cluster):
    services = twin.json("kubectl", "get", "services", "-A", "-o", "json")["items"]
    balancers = {
        s["metadata"]["name"]: [i["ip"] for i in s["status"]["loadBalancer"]["ingress"]]
        for s in services
        if s["spec"]["type"] == "LoadBalancer"
    }
    # the Services kubernetes/ renders: Cilium names a Gateway's Service cilium-gateway-NAME
    gateways = {"internal-gateway", "external-gateway"}
    assert balancers == {("cilium-gateway-" + lb.name if lb.name in gateways else lb.name): [str(lb.address)]
                         for lb in cluster.network.load_balancers}
    dns = next(s for s in services if s["metadata"]["name"] == "kube-dns")
    assert dns["spec"]["clusterIP"] == str(cluster.network.cluster_dns)
