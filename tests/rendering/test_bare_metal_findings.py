"""What a first bootstrap on bare metal would trip over (issue 18, findings 1-12), each pinned to the
committed tree and to the upstream fact that makes it matter (sources in the templates' comments)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from homeops import load_cluster
from homeops.cluster import component_support
from homeops.cluster.loader import check_cluster, check_text
from homeops.rendering import inventory, tree
from tests.rendering import schemas
from tests.rendering.conftest import ROOT, render

CLUSTER = load_cluster(ROOT / "cluster.yaml")
OBJECTS = list(inventory.objects(ROOT))
DOMAIN = CLUSTER.cluster.domain


def find(kind: str, name: str) -> dict:
    [found] = [o.document for o in OBJECTS if o.kind == kind and o.name == name]
    return found


def values(release: str) -> dict:
    return find("HelmRelease", release)["spec"].get("values") or {}


# 1. flux bootstrap applies flux-system/kustomization.yaml after writing only gotk-components.yaml
#    (fluxcd/flux2 v2.6.4 pkg/bootstrap/bootstrap_plain_git.go ReconcileComponents): both files it lists
#    must exist before that, as the empty placeholders of Flux's "bootstrap customization" page.
def test_the_files_the_flux_system_kustomization_lists_are_committed_placeholders():
    flux_system = ROOT / "kubernetes/flux/flux-system"
    listed = yaml.safe_load((flux_system / "kustomization.yaml").read_text())["resources"]
    for name in listed:
        assert (flux_system / name).is_file(), f"{name}: flux bootstrap applies the kustomization before writing it"
        assert not [d for d in yaml.safe_load_all((flux_system / name).read_text()) if d], (
            f"{name}: a placeholder holds no object; flux bootstrap writes the real one")


def test_the_render_writes_a_missing_placeholder_and_never_overwrites_what_flux_bootstrap_wrote(project: Path):
    components = project / "kubernetes/flux/flux-system/gotk-components.yaml"
    sync = project / "kubernetes/flux/flux-system/gotk-sync.yaml"
    components.write_text("---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: flux-system\n")
    sync.unlink()
    assert render(project, "--check") == 1  # the missing placeholder
    assert render(project) == 0
    assert components.read_text().startswith("---\napiVersion: v1\nkind: Namespace")
    assert sync.is_file() and render(project, "--check") == 0


# 2. zfs-localpv mounts zfsNode.encrKeysDir (default /home/keys, read-only on Talos) into its node plugin.
def test_zfs_localpv_keeps_its_encryption_keys_under_var_which_talos_leaves_writable():
    node = values("zfs-localpv")["zfsNode"]
    assert node["encrKeysDir"].startswith("/var/"), node
    assert node["kubeletDir"] == "/var/lib/kubelet/"


# 3. With split DNS, the node resolvers know only k8s-gateway's address records for the domain.
def test_cert_manager_self_checks_dns01_through_public_resolvers_only():
    chart = values("cert-manager")
    servers = chart["dns01RecursiveNameservers"].split(",")
    assert servers and all(s.startswith("https://") and s.endswith("/dns-query") for s in servers), servers
    assert chart["dns01RecursiveNameserversOnly"] is True


def test_the_networking_page_says_why_split_dns_does_not_stop_the_certificate():
    page = (ROOT / "docs/networking/index.md").read_text()
    split = page.split("## Split DNS", 1)[1].split("\n## ", 1)[0]
    assert "dns01RecursiveNameserversOnly" in split and "TXT" in split


# 4. external-dns v0.19.0 docs/tutorials/cloudflare.md: Zone Read and DNS Edit.
def test_the_cloudflare_token_is_documented_with_zone_read_and_dns_edit():
    table_row = next(line for line in (ROOT / "docs/security/secrets.md").read_text().splitlines()
                     if line.startswith("| `cloudflare` | `api-token`"))
    assert "Zone Read" in table_row and "DNS Edit" in table_row
    comment = (ROOT / "kubernetes/apps/network/external-dns/externalsecret.yaml").read_text()
    assert "Zone:Zone:Read" in comment and "Zone:DNS:Edit" in comment


# 5. The ExternalSecrets' store is rendered, reads only what this repository holds, and releases retry.
def test_the_cluster_secret_store_is_rendered_and_reads_secrets_flux_decrypts_from_git():
    store = find("ClusterSecretStore", CLUSTER.secrets.store)
    kubernetes = store["spec"]["provider"]["kubernetes"]
    assert kubernetes["server"]["caProvider"]["name"] == "kube-root-ca.crt"
    namespace = kubernetes["remoteNamespace"]
    account = kubernetes["auth"]["serviceAccount"]
    assert find("ServiceAccount", account["name"])["metadata"]["namespace"] == account["namespace"]
    role = find("Role", account["name"])
    assert role["metadata"]["namespace"] == namespace
    assert {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]} in role["rules"]
    [secret_file] = [p for p, (ns, _, _) in tree.USER_SECRETS.items() if ns == namespace]
    listed = yaml.safe_load((ROOT / Path(secret_file).parent / "kustomization.yaml").read_text())["resources"]
    assert Path(secret_file).name in listed


def test_every_helm_release_retries_a_failed_install_and_upgrade_by_itself():
    for release in (o for o in OBJECTS if o.kind == "HelmRelease"):
        spec = release.document["spec"]
        assert spec["install"]["remediation"]["retries"] == -1, release.name
        assert spec["upgrade"]["remediation"]["retries"] >= 3, release.name


# 6. Flux states its Kubernetes minors per release (fluxcd/website blog "Announcing Flux 2.6/2.7 GA").
def test_flux_is_pinned_to_a_release_that_supports_the_kubernetes_minor_and_validate_agrees():
    assert component_support.SUPPORT[("flux", (2, 6))].highest == 33
    assert component_support.SUPPORT[("flux", (2, 7))].highest == 34
    support = component_support.support_of("flux", CLUSTER.versions.flux)
    assert support is not None and component_support.supports(support, int(CLUSTER.versions.kubernetes.split(".")[1]))
    problems = check_cluster(ROOT / "cluster.yaml").problems
    assert not [p for p in problems if p.code == "component-unsupported"], problems
    # and validate would say so of the previous pin
    older = (ROOT / "cluster.yaml").read_text().replace(f"flux: {CLUSTER.versions.flux}", "flux: v2.6.4")
    assert [p.path for p in check_text(older).problems if p.code == "component-unsupported"] == ["versions.flux"]


# The controllers each Flux release ships (fluxcd/flux2 manifests/bases/*/kustomization.yaml at the tag).
FLUX_CONTROLLERS = {"v2.7.5": {"fluxcd/source-controller": "v1.7.4", "fluxcd/kustomize-controller": "v1.7.3",
                               "fluxcd/helm-controller": "v1.4.5"}}


def test_the_flux_kinds_rendered_are_validated_against_the_crds_of_the_pinned_flux():
    shipped = FLUX_CONTROLLERS[CLUSTER.versions.flux]
    flux_schemas = [e for e in schemas.sources().values() if e["repository"].startswith("fluxcd/")]
    assert {e["kind"] for e in flux_schemas} >= {"Kustomization", "HelmRelease", "HelmRepository", "GitRepository",
                                                "OCIRepository"}
    assert {(e["kind"], e["tag"]) for e in flux_schemas} == {(e["kind"], shipped[e["repository"]]) for e in flux_schemas}


# 7. sops v3.10.2 README: creation rules match the input file name; stdout needs --filename-override.
def test_the_talos_secrets_are_encrypted_with_a_filename_sops_rules_match():
    page = (ROOT / "docs/security/secrets.md").read_text()
    command = next(line for line in page.splitlines() if "talos/secrets.yaml" in line and "sops" in line)
    assert "--filename-override talos/secrets.sops.yaml" in command, command
    rules = yaml.safe_load((ROOT / ".sops.yaml").read_text())["creation_rules"]
    assert any(re.fullmatch(r["path_regex"], "talos/secrets.sops.yaml") for r in rules)


# 8. siderolabs/extensions storage/zfs/README.md: zpool runs on the host, from kubectl debug.
def test_the_zfs_page_creates_the_pool_from_kubectl_debug_on_the_host():
    page = (ROOT / "docs/storage/zfs-provisioner.md").read_text()
    assert "kubectl -n kube-system debug -it --profile sysadmin --image=alpine node/" in page
    assert "chroot /host zpool create" in page
    assert "privileged pod" not in page


# 9. gateway-api v1.4.1 apis/v1/gateway_types.go: `*.example.com` matches test.example.com, not example.com.
def listener_matches(listener_hostname: str | None, hostname: str) -> bool:
    if listener_hostname is None:
        return True
    if listener_hostname.startswith("*."):
        return hostname.endswith(listener_hostname[1:])
    return hostname == listener_hostname


def test_listener_matching_follows_the_gateway_api_rule():
    assert listener_matches("*.example.com", "foo.test.example.com")
    assert not listener_matches("*.example.com", "example.com")
    assert listener_matches(None, "example.com")


def test_every_name_the_tunnel_and_the_certificate_serve_has_an_https_listener_on_every_gateway():
    config = yaml.safe_load((ROOT / "kubernetes/apps/network/cloudflared/config.yaml").read_text())
    names = {rule["hostname"] for rule in config["ingress"] if "hostname" in rule}
    names |= set(find("Certificate", DOMAIN.replace(".", "-"))["spec"]["dnsNames"])
    assert DOMAIN in names
    for gateway in (o.document for o in OBJECTS if o.kind == "Gateway"):
        https = [lis for lis in gateway["spec"]["listeners"] if lis["protocol"] == "HTTPS"]
        for name in names:
            probe = name.replace("*", "app")
            assert any(listener_matches(lis.get("hostname"), probe) for lis in https), (gateway["metadata"]["name"], name)


# 10. k8s-gateway's chart moved to ghcr.io/k8s-gateway (the ori-edge repository's last release is 2.4.0).
def test_k8s_gateway_comes_from_its_oci_chart_and_answers_dns_over_tcp_too():
    release = find("HelmRelease", "k8s-gateway")
    reference = release["spec"]["chartRef"]
    assert reference["kind"] == "OCIRepository" and "chart" not in release["spec"]
    source = find("OCIRepository", reference["name"])
    assert source["spec"]["url"] == "oci://ghcr.io/k8s-gateway/charts/k8s-gateway"
    assert source["spec"]["ref"] == {"tag": CLUSTER.versions.k8s_gateway.removeprefix("v")}
    assert not any(o.kind == "HelmRepository" and "ori-edge" in o.document["spec"]["url"] for o in OBJECTS)
    assert release["spec"]["values"]["service"]["useTcp"] is True


# 11. HTTP listeners take routes from their own namespace only, where one route redirects to HTTPS.
def test_http_listeners_only_redirect_to_https():
    for gateway in (o.document for o in OBJECTS if o.kind == "Gateway"):
        [http] = [lis for lis in gateway["spec"]["listeners"] if lis["protocol"] == "HTTP"]
        assert http["allowedRoutes"]["namespaces"]["from"] == "Same"
    [redirect] = [o.document for o in OBJECTS if o.kind == "HTTPRoute"]
    assert redirect["metadata"]["namespace"] == "network"
    assert {(p["name"], p["sectionName"]) for p in redirect["spec"]["parentRefs"]} == {
        (o.name, "http") for o in OBJECTS if o.kind == "Gateway"}
    assert redirect["spec"]["rules"] == [{"filters": [{"type": "RequestRedirect", "requestRedirect": {
        "scheme": "https", "statusCode": 301}}]}]


# 12. zfs-localpv's chart sends usage analytics by default; quic-go asks for 7.5 MB UDP buffers.
def test_zfs_localpv_sends_no_analytics_and_talos_raises_the_udp_buffers_for_cloudflared_quic():
    assert values("zfs-localpv")["analytics"] == {"enabled": False}
    sysctls = yaml.safe_load((ROOT / "talos/patches/all.yaml").read_text())["machine"]["sysctls"]
    assert sysctls["net.core.rmem_max"] == sysctls["net.core.wmem_max"] == "7500000"
