"""The committed talos/ and kubernetes/ hold what a working cluster needs, in shapes the real tools accept.

Every rendered YAML parses; core kinds validate against Kubernetes' own schemas for versions.kubernetes;
CRD kinds against the CRDs of the pinned releases (schemas/sources.json says where each comes from);
every path a kustomization or a Flux Kustomization names exists.
"""

from __future__ import annotations

import copy
import ipaddress
from pathlib import Path

import pytest
import yaml

from homeops import load_cluster
from homeops.rendering import inventory, tree
from tests.rendering import schemas
from tests.rendering.conftest import ROOT

CLUSTER = load_cluster(ROOT / "cluster.yaml")
OBJECTS = list(inventory.objects(ROOT))
FLUX_KUSTOMIZATIONS = {o.name: o.document for o in inventory.flux_kustomizations(ROOT)}
# Paths inside sources other than this repository, checked in the mirror of the pinned tag:
# kubernetes-sigs/gateway-api v1.4.1 (477d172e6ac5eccb82b65781ddb8f924afec4170) has config/crd/experimental/kustomization.yaml.
PATHS_IN_OTHER_SOURCES = {("gateway-api", "./config/crd/experimental")}


def rendered_yaml_files() -> list[Path]:
    files = [ROOT / name for name in tree.OWNED_FILES if (ROOT / name).exists()]
    for directory in tree.OWNED_DIRECTORIES:
        files += sorted((ROOT / directory).rglob("*.yaml"))
    return [f for f in files if tree.owned(f.relative_to(ROOT).as_posix())]


def object_id(o: inventory.RenderedObject) -> str:
    return f"{o.path}:{o.kind}/{o.name}"


def test_every_rendered_yaml_file_parses_and_is_clean_text():
    files = rendered_yaml_files()
    assert len(files) > 40
    for path in files:
        text = path.read_text()
        assert list(yaml.safe_load_all(text)), path
        assert text.endswith("\n") and not text.endswith("\n\n"), f"{path}: end-of-file-fixer would change it"
        assert not any(line != line.rstrip() for line in text.splitlines()), f"{path}: trailing whitespace"


@pytest.mark.parametrize("obj", [o for o in OBJECTS if not schemas.is_crd_kind(o.document["apiVersion"], o.kind)],
                         ids=object_id)
def test_core_kinds_validate_against_the_kubernetes_schemas_of_the_pinned_release(obj):
    assert schemas.core_errors(obj.document, CLUSTER.versions.kubernetes) == []


@pytest.mark.parametrize("obj", [o for o in OBJECTS if schemas.is_crd_kind(o.document["apiVersion"], o.kind)],
                         ids=object_id)
def test_crd_kinds_validate_against_the_crds_of_the_pinned_releases(obj):
    assert schemas.crd_errors(obj.document) == []


def test_every_kind_rendered_is_validated_by_one_of_the_two():
    kinds = {(o.document["apiVersion"], o.kind) for o in OBJECTS}
    crd = {k for k in kinds if schemas.is_crd_kind(*k)}
    assert {"HelmRelease", "Kustomization", "HelmRepository", "GitRepository", "CiliumLoadBalancerIPPool",
            "CiliumL2AnnouncementPolicy", "Gateway", "ClusterIssuer", "Certificate", "ExternalSecret"} <= {
        kind for _, kind in crd}
    for api_version, kind in kinds - crd:
        assert "." not in api_version.split("/")[0] or api_version.split("/")[0].endswith(".k8s.io"), (
            f"{api_version} {kind} is a custom kind without a CRD schema in tests/rendering/schemas")


def test_the_validators_reject_what_the_api_server_would():
    gateway = copy.deepcopy(next(o.document for o in OBJECTS if o.kind == "Gateway"))
    gateway["spec"]["listners"] = gateway["spec"].pop("listeners")
    assert any("listners" in e or "listeners" in e for e in schemas.crd_errors(gateway))
    namespace = copy.deepcopy(next(o.document for o in OBJECTS if o.kind == "Namespace"))
    namespace["spec"] = {"finalizer": ["kubernetes"]}
    assert schemas.core_errors(namespace, CLUSTER.versions.kubernetes)
    release = copy.deepcopy(next(o.document for o in OBJECTS if o.kind == "HelmRelease"))
    release["spec"]["interval"] = 60
    assert schemas.crd_errors(release)


def test_the_ceph_cluster_spec_of_the_chart_values_validates_against_rooks_cephcluster_crd():
    release = next(o.document for o in OBJECTS if o.kind == "HelmRelease" and o.name == "rook-ceph-cluster")
    spec_schema = schemas.crd_schema("ceph.rook.io/v1", "CephCluster")["properties"]["spec"]
    import jsonschema
    errors = list(jsonschema.Draft7Validator(spec_schema).iter_errors(release["spec"]["values"]["cephClusterSpec"]))
    assert [e.message for e in errors] == []
    assert release["spec"]["values"]["toolbox"] == {"enabled": True}, "the runbooks exec into deploy/rook-ceph-tools"


def test_every_kustomization_resource_and_generator_file_exists():
    for path in sorted((ROOT / "kubernetes").rglob("kustomization.yaml")):
        data = yaml.safe_load(path.read_text())
        for entry in data.get("resources", []):
            target = path.parent / entry
            relative = target.relative_to(ROOT).as_posix()
            if relative in tree.USER_SECRETS:
                continue
            assert target.is_file() or (target / "kustomization.yaml").is_file(), f"{path}: {entry} does not exist"
        for generator in data.get("configMapGenerator", []):
            for entry in generator["files"]:
                assert (path.parent / entry).is_file(), f"{path}: {entry} does not exist"


def test_every_flux_kustomization_path_and_dependency_exists():
    assert FLUX_KUSTOMIZATIONS
    for name, kustomization in FLUX_KUSTOMIZATIONS.items():
        spec = kustomization["spec"]
        source = spec["sourceRef"]["name"]
        if source == "flux-system":
            assert (ROOT / spec["path"] / "kustomization.yaml").is_file(), f"{name}: {spec['path']}"
        else:
            assert (source, spec["path"]) in PATHS_IN_OTHER_SOURCES, f"{name}: {source} {spec['path']}"
            assert any(o.kind == "GitRepository" and o.name == source for o in OBJECTS)
        for dependency in spec.get("dependsOn", []):
            assert dependency["name"] in FLUX_KUSTOMIZATIONS, f"{name} depends on a missing {dependency['name']}"


def test_the_bootstrap_kustomization_gets_sops_decryption_and_every_app_decrypts():
    flux_system = yaml.safe_load((ROOT / "kubernetes/flux/flux-system/kustomization.yaml").read_text())
    assert flux_system["resources"] == ["gotk-components.yaml", "gotk-sync.yaml"]
    [patch] = flux_system["patches"]
    assert patch["target"]["name"] == "flux-system"
    assert yaml.safe_load(patch["patch"]) == [{"op": "add", "path": "/spec/decryption",
                                               "value": {"provider": "sops", "secretRef": {"name": "sops-age"}}}]
    for name, kustomization in FLUX_KUSTOMIZATIONS.items():
        if kustomization["spec"]["sourceRef"]["name"] == "flux-system":
            assert kustomization["spec"]["decryption"]["secretRef"]["name"] == "sops-age", name


def test_every_chart_version_comes_from_versions_in_cluster_yaml():
    versions = CLUSTER.versions
    expected = {
        "cilium": versions.cilium.lstrip("v"), "rook-ceph": versions.rook_ceph, "rook-ceph-cluster": versions.rook_ceph,
        "cert-manager": versions.cert_manager, "external-secrets": versions.external_secrets.lstrip("v"),
        "external-dns": versions.external_dns.lstrip("v"), "k8s-gateway": versions.k8s_gateway.lstrip("v"),
        "zfs-localpv": versions.zfs_localpv.lstrip("v"),
    }
    releases = {r.name: r.version for r in inventory.helm_releases(ROOT)}
    assert releases == expected
    sources = {(o.kind, o.name) for o in OBJECTS if o.kind in ("HelmRepository", "OCIRepository")}
    for release in (o.document["spec"] for o in OBJECTS if o.kind == "HelmRelease"):
        reference = release["chartRef"] if "chartRef" in release else release["chart"]["spec"]["sourceRef"]
        assert (reference["kind"], reference["name"]) in sources
    cloudflared = next(o.document for o in OBJECTS if o.kind == "Deployment" and o.name == "cloudflared")
    assert cloudflared["spec"]["template"]["spec"]["containers"][0]["image"].endswith(
        ":" + versions.cloudflared.lstrip("v"))
    gateway_api = next(o.document for o in OBJECTS if o.kind == "GitRepository" and o.name == "gateway-api")
    assert gateway_api["spec"]["ref"] == {"tag": versions.gateway_api}


def test_cilium_values_are_the_talos_guides_and_enable_lb_ipam_l2_and_gateway_api():
    values = yaml.safe_load((ROOT / "kubernetes/apps/kube-system/cilium/app/values.yaml").read_text())
    capabilities = values["securityContext"]["capabilities"]
    assert "SYS_MODULE" not in capabilities["ciliumAgent"] and "SYS_MODULE" not in capabilities["cleanCiliumState"]
    assert values["cgroup"] == {"autoMount": {"enabled": False}, "hostRoot": "/sys/fs/cgroup"}
    assert (values["k8sServiceHost"], values["k8sServicePort"]) == ("localhost", 7445)
    assert values["kubeProxyReplacement"] is True and values["ipam"] == {"mode": "kubernetes"}
    assert values["l2announcements"]["enabled"] and values["gatewayAPI"]["enabled"]
    pool = next(o.document for o in OBJECTS if o.kind == "CiliumLoadBalancerIPPool")
    assert [b["cidr"] for b in pool["spec"]["blocks"]] == [f"{lb.address}/32" for lb in CLUSTER.network.load_balancers]


def test_each_load_balancer_address_is_asked_for_by_exactly_the_service_named_after_it():
    entries = inventory.load_balancers(ROOT)
    by_address = {e.address: e for e in entries}
    assert len(by_address) == len(entries)
    for lb in CLUSTER.network.load_balancers:
        entry = by_address[str(lb.address)]
        assert entry.name in (lb.name, inventory.GATEWAY_SERVICE_PREFIX + lb.name)


def test_every_external_secret_reads_the_store_cluster_yaml_names():
    secrets = [o.document for o in OBJECTS if o.kind == "ExternalSecret"]
    assert len(secrets) == 3
    assert {s["spec"]["secretStoreRef"]["name"] for s in secrets} == {CLUSTER.secrets.store}


def test_each_node_patch_gives_its_hostname_address_disk_and_one_nic():
    for node in CLUSTER.nodes:
        patch = yaml.safe_load((ROOT / f"talos/nodes/{node.name}.yaml").read_text())
        machine = patch["machine"]
        [interface] = machine["network"]["interfaces"]
        assert machine["network"]["hostname"] == node.name
        assert machine["install"]["disk"] == node.install_disk
        assert interface["deviceSelector"] == {"hardwareAddr": node.mac_address}
        assert interface["dhcp"] is False
        assert ipaddress.ip_interface(interface["addresses"][0]).network == CLUSTER.network.node_cidr
        assert str(ipaddress.ip_interface(interface["addresses"][0]).ip) == str(node.address)
        assert interface["routes"] == [{"network": "0.0.0.0/0", "gateway": str(CLUSTER.network.default_gateway)}]
        assert ("vip" in interface) == (node.role == "control-plane")
        if node.role == "control-plane":
            assert interface["vip"] == {"ip": str(CLUSTER.network.control_plane_vip)}


def test_the_common_patch_sets_the_networks_no_cni_no_kube_proxy_kubeprism_and_zfs():
    patch = yaml.safe_load((ROOT / "talos/patches/all.yaml").read_text())
    assert patch["cluster"]["network"] == {"podSubnets": [str(CLUSTER.network.pod_cidr)],
                                           "serviceSubnets": [str(CLUSTER.network.service_cidr)],
                                           "cni": {"name": "none"}}
    assert patch["cluster"]["proxy"] == {"disabled": True}
    assert patch["machine"]["features"]["kubePrism"] == {"enabled": True, "port": 7445}
    assert patch["machine"]["install"]["image"] == CLUSTER.installer_image()
    assert patch["machine"]["kernel"]["modules"] == [{"name": "zfs"}]
    assert "siderolabs/zfs" in (ROOT / "talos/schematic.yaml").read_text()


def test_sops_encrypts_to_the_public_key_of_cluster_yaml():
    rules = yaml.safe_load((ROOT / ".sops.yaml").read_text())["creation_rules"]
    assert {rule["age"] for rule in rules} == {CLUSTER.secrets.age_public_key}
    assert any(rule["path_regex"].startswith("kubernetes/") for rule in rules)
