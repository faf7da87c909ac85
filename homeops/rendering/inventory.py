"""The rendered Kubernetes objects read back: what Flux will apply, as the twin and the tests see it.

Reads `kubernetes/` (committed, or freshly rendered) with the safe YAML loader; every document that
has an apiVersion and a kind is an object. Files a kustomization's configMapGenerator turns into a
ConfigMap (Helm values, cloudflared's config) are inputs, not objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import yaml

KUBERNETES = "kubernetes"
# Cilium gives a Gateway's LoadBalancer Service this name, in the Gateway's namespace.
GATEWAY_SERVICE_PREFIX = "cilium-gateway-"
LB_IPS_ANNOTATION = "lbipam.cilium.io/ips"


@dataclass(frozen=True)
class RenderedObject:
    path: str  # relative to the project
    document: dict

    @property
    def kind(self) -> str:
        return self.document["kind"]

    @property
    def name(self) -> str:
        return self.document["metadata"]["name"]

    @property
    def namespace(self) -> str | None:
        return self.document["metadata"].get("namespace")


@dataclass(frozen=True)
class HelmReleaseEntry:
    namespace: str
    name: str
    chart: str
    version: str  # exactly as the HelmRelease pins it


@dataclass(frozen=True)
class LoadBalancerEntry:
    namespace: str
    name: str  # the Service's name
    address: str


def generator_inputs(project: Path) -> set[str]:
    """Files named by a configMapGenerator of some kustomization.yaml (relative to the project)."""
    inputs = set()
    for kustomization in sorted((project / KUBERNETES).rglob("kustomization.yaml")):
        data = yaml.safe_load(kustomization.read_text()) or {}
        for generator in data.get("configMapGenerator", []) or []:
            for entry in generator.get("files", []) or []:
                name = entry.split("=", 1)[-1]
                inputs.add((kustomization.parent / name).relative_to(project).as_posix())
    return inputs


def objects(project: Path) -> Iterator[RenderedObject]:
    inputs = generator_inputs(project)
    for path in sorted((project / KUBERNETES).rglob("*.yaml")):
        relative = path.relative_to(project).as_posix()
        if path.name == "kustomization.yaml" or relative in inputs or path.name.endswith(".sops.yaml"):
            continue
        for document in yaml.safe_load_all(path.read_text()):
            if isinstance(document, dict) and "apiVersion" in document and "kind" in document:
                yield RenderedObject(relative, document)


def of_kind(project: Path, kind: str) -> list[RenderedObject]:
    return [o for o in objects(project) if o.kind == kind]


def helm_releases(project: Path) -> list[HelmReleaseEntry]:
    entries = []
    oci = {(o.namespace, o.name): o.document["spec"] for o in of_kind(project, "OCIRepository")}
    for release in of_kind(project, "HelmRelease"):
        namespace = release.namespace or "default"
        if "chartRef" in release.document["spec"]:
            # chartRef to an OCIRepository: the chart is the last segment of its URL, the version its tag
            reference = release.document["spec"]["chartRef"]
            source = oci[(reference.get("namespace", namespace), reference["name"])]
            chart, version = source["url"].rstrip("/").rsplit("/", 1)[-1], str(source["ref"]["tag"])
        else:
            spec = release.document["spec"]["chart"]["spec"]
            chart, version = spec["chart"], str(spec["version"])
        entries.append(HelmReleaseEntry(namespace, release.name, chart, version))
    return entries


def load_balancers(project: Path) -> list[LoadBalancerEntry]:
    """Every LoadBalancer Service the rendered tree makes, with the address it asks Cilium for."""
    entries = []
    for gateway in of_kind(project, "Gateway"):
        annotations = (gateway.document["spec"].get("infrastructure") or {}).get("annotations") or {}
        if LB_IPS_ANNOTATION in annotations:
            entries.append(LoadBalancerEntry(gateway.namespace or "default", GATEWAY_SERVICE_PREFIX + gateway.name,
                                             annotations[LB_IPS_ANNOTATION]))
    for release in of_kind(project, "HelmRelease"):
        service = ((release.document["spec"].get("values") or {}).get("service") or {})
        address = (service.get("annotations") or {}).get(LB_IPS_ANNOTATION)
        if service.get("type") == "LoadBalancer" and address:
            name = release.document["spec"]["values"].get("fullnameOverride", release.name)
            entries.append(LoadBalancerEntry(release.namespace or "default", name, address))
    return entries


def flux_kustomizations(project: Path) -> list[RenderedObject]:
    return [o for o in of_kind(project, "Kustomization") if o.document["apiVersion"].startswith("kustomize.toolkit")]


# --- the twin's view -------------------------------------------------------------------------

# The bootstrap's own Kustomization (flux bootstrap writes it in gotk-sync.yaml): it applies kubernetes/flux.
BOOTSTRAP_KUSTOMIZATION = {"namespace": "flux-system", "name": "flux-system", "path": "./kubernetes/flux"}


def twin_view(project: Path) -> dict:
    """What the twin serves from a rendered tree: Flux objects and LoadBalancer Services, as plain data, and the
    order Flux reconciles them in (homeops.rendering.flux_order), for the twin's Flux after `flux bootstrap`."""
    from homeops.rendering.flux_order import flux_order, twin_plan  # it reads the tree through this module

    kustomizations = [BOOTSTRAP_KUSTOMIZATION] + [
        {"namespace": k.namespace or "flux-system", "name": k.name, "path": k.document["spec"]["path"]}
        for k in flux_kustomizations(project)
    ]
    return {
        "kustomizations": kustomizations,
        "helmreleases": [dict(vars(r)) for r in helm_releases(project)],
        "load_balancers": [dict(vars(lb)) for lb in load_balancers(project)],
        "certificates": [{"namespace": c.namespace or "default", "name": c.name}
                         for c in of_kind(project, "Certificate")],
        "flux_order": twin_plan(flux_order(project)),
    }


def rendered_twin_view(cluster) -> dict:
    """`twin_view` of the tree this checkout's templates render for `cluster` (one render per cluster)."""
    return dict(_rendered_view(cluster))


_VIEWS: dict = {}
_TALOS: dict = {}  # the rendered talos/ files of the same renders: what a twin's running nodes were configured with


def rendered_talos_files(cluster) -> dict[str, str]:
    """talos/ path -> text, as this checkout's templates render them for `cluster`."""
    _rendered_view(cluster)
    return dict(_TALOS[cluster.model_dump_json()])


def _rendered_view(cluster) -> dict:
    import tempfile

    from homeops.rendering import render

    key = cluster.model_dump_json()
    if key not in _VIEWS:
        project = Path(__file__).resolve().parents[2]
        files = render.render(project, project / "cluster.yaml", cluster)
        _TALOS[key] = {name: text for name, text in files.items() if name.startswith("talos/")}
        with tempfile.TemporaryDirectory(prefix="homeops-rendered-") as directory:
            for name, text in files.items():
                if name.startswith(KUBERNETES + "/"):
                    (Path(directory) / name).parent.mkdir(parents=True, exist_ok=True)
                    (Path(directory) / name).write_text(text)
            _VIEWS[key] = twin_view(Path(directory))
    return _VIEWS[key]


def rendered_helm_releases(cluster, project: Path | None) -> list[HelmReleaseEntry]:
    """The HelmReleases of the committed kubernetes/ beside cluster.yaml, or (with none there) of what
    this checkout's templates render for `cluster`."""
    if project is not None and (project / KUBERNETES).is_dir():
        return helm_releases(project)
    return [HelmReleaseEntry(**entry) for entry in _rendered_view(cluster)["helmreleases"]]
