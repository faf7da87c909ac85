"""The order Flux applies a rendered tree in on an empty cluster, and whether everything each object needs is there.

Flux applies the bootstrap's own Kustomization `flux-system` first (it applies kubernetes/flux: the chart
sources and the app Kustomizations), then each app Kustomization once every Kustomization it `dependsOn` is
Ready (with `wait: true`, once all it applied is Ready, its HelmReleases installed). So an object may rely on
what its own Kustomization applies, or on what an ancestor by dependsOn applies; anything else is a race.

`flux_order(project)` reads the rendered `kubernetes/` (the committed tree, or a fresh render in a temporary
directory) and returns `FluxOrder`: the Kustomizations in apply order, the HelmReleases each applies, every
need (dependsOn, chart source, secret store, Secret, ConfigMap, namespace, CRD) with what resolves it (an
object of the tree, a named bootstrap step, something Kubernetes makes itself) or why nothing does, and the
dependency cycles. The tests, the twin and the bootstrap runbook read it; `report()` prints it.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from homeops.rendering import inventory, tree

BOOTSTRAP = "flux-system"  # the Kustomization (and GitRepository) flux bootstrap writes in gotk-sync.yaml
FLUX_ROOT = "kubernetes/flux"  # what `flux bootstrap --path=kubernetes/flux` points it at

# What exists before Flux applies anything, made by a bootstrap step (each named as the bootstrap does it).
BOOTSTRAP_STEPS: dict[tuple[str, str, str], str] = {
    ("Namespace", "", "flux-system"): "flux bootstrap (gotk-components.yaml)",
    ("GitRepository", "flux-system", "flux-system"): "flux bootstrap (gotk-sync.yaml)",
    ("Kustomization", "flux-system", "flux-system"): "flux bootstrap (gotk-sync.yaml)",
    ("Secret", "flux-system", "sops-age"): "the SOPS age Secret (kubectl create secret generic sops-age "
                                           "--from-file=age.agekey=...), before flux bootstrap",
}
# What Kubernetes makes by itself: its namespaces, and the API server's CA in every namespace.
BUILT_IN_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
ROOT_CA = "kube-root-ca.crt"

# Which object of the tree installs the CRDs of an API group: a HelmRelease (charts that install their CRDs:
# crds.enabled / installCRDs in their values) or a Kustomization applying a CRD directory; Flux's own come
# with flux bootstrap. An object of such a group must be applied after it.
CRD_PROVIDERS: dict[str, tuple[str, str, str]] = {
    "cilium.io": ("HelmRelease", "kube-system", "cilium"),
    "cert-manager.io": ("HelmRelease", "cert-manager", "cert-manager"),
    "external-secrets.io": ("HelmRelease", "external-secrets", "external-secrets"),
    "ceph.rook.io": ("HelmRelease", "rook-ceph", "rook-ceph"),
    "gateway.networking.k8s.io": ("Kustomization", "flux-system", "gateway-api-crds"),
}
FLUX_GROUPS = ("kustomize.toolkit.fluxcd.io", "helm.toolkit.fluxcd.io", "source.toolkit.fluxcd.io")
# CRDs Talos itself installs: serviceaccounts.talos.dev exists once the control planes enable Talos API access
# from Kubernetes (Talos docs v1.11, "Talos API access from Kubernetes"); talos/patches/controlplane.yaml does
# when cluster.yaml has backups.s3.
TALOS_GROUPS = {"talos.dev": "Talos: machine.features.kubernetesTalosAPIAccess of talos/patches/controlplane.yaml, "
                             "applied to every control plane"}


@dataclass(frozen=True, order=True)
class Ref:
    kind: str
    namespace: str  # "" for cluster-scoped objects
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace else f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class Need:
    who: Ref
    what: Ref
    why: str  # dependsOn, chart source, secret store, Secret, ConfigMap, namespace, CRD, decryption key, ...
    by: str  # "tree", "bootstrap", "built-in", "missing", "unordered"
    detail: str = ""  # which bootstrap step, which Kustomization applies it, what is wrong

    def __str__(self) -> str:
        return f"{self.who} needs {self.what} ({self.why}): {self.by}{': ' + self.detail if self.detail else ''}"


@dataclass
class FluxOrder:
    kustomizations: list[str]  # apply order, the bootstrap's own first
    depends_on: dict[str, tuple[str, ...]]
    releases: dict[str, list[Ref]]  # the HelmReleases each Kustomization applies, in their own dependsOn order
    applies: dict[str, list[Ref]] = field(default_factory=dict)  # every object each Kustomization applies
    needs: list[Need] = field(default_factory=list)
    cycles: list[list[str]] = field(default_factory=list)
    unapplied: list[str] = field(default_factory=list)  # rendered files no Flux Kustomization points at

    @property
    def problems(self) -> list[Need]:
        return [n for n in self.needs if n.by in ("missing", "unordered")]

    @property
    def bootstrap_steps(self) -> list[str]:
        return sorted({n.detail for n in self.needs if n.by == "bootstrap"})

    def waves(self) -> list[list[str]]:
        """The Kustomizations grouped by how many dependsOn steps separate them from the bootstrap's."""
        depth: dict[str, int] = {}
        for name in self.kustomizations:
            depth[name] = 1 + max((depth.get(d, 0) for d in self.depends_on.get(name, ())), default=0)
        return [[n for n in self.kustomizations if depth[n] == level] for level in sorted(set(depth.values()))]

    def report(self) -> str:
        lines = ["Flux applies, on an empty cluster:"]
        for index, name in enumerate(self.kustomizations, 1):
            after = ", ".join(self.depends_on.get(name, ())) or ("flux bootstrap" if name == BOOTSTRAP else BOOTSTRAP)
            releases = "".join(f"; {r}" for r in self.releases.get(name, []))
            lines.append(f"{index:2}. Kustomization {name} (after {after}){releases}")
        lines.append("bootstrap steps: " + ("; ".join(self.bootstrap_steps) or "none"))
        lines += [f"cycle: {' -> '.join(cycle + cycle[:1])}" for cycle in self.cycles]
        lines += [f"problem: {need}" for need in self.problems]
        lines += [f"not applied (no Flux Kustomization points at it): {path}" for path in self.unapplied]
        if not self.cycles and not self.problems:
            lines.append("every need resolves; no cycle")
        return "\n".join(lines)


# --- reading the tree ------------------------------------------------------------------------------------


# Kinds without a namespace: a kustomization's `namespace:` does not apply to them here (kustomize itself
# knows only the built-in ones, which is why no kustomization of this tree sets a namespace over a custom one).
_CLUSTER_SCOPED = {"Namespace", "ClusterIssuer", "ClusterSecretStore", "StorageClass", "ClusterRole",
                   "ClusterRoleBinding", "CiliumLoadBalancerIPPool", "CiliumL2AnnouncementPolicy",
                   "CustomResourceDefinition", "GatewayClass"}


@dataclass(frozen=True)
class _Object:
    ref: Ref
    path: str
    document: dict


def _kustomize_namespace(project: Path, relative: str) -> str:
    """The `namespace:` of the nearest kustomization.yaml at or above the file's directory (inside kubernetes/)."""
    directory = posixpath.dirname(relative)
    while directory.startswith(inventory.KUBERNETES):
        kustomization = project / directory / "kustomization.yaml"
        if kustomization.is_file():
            namespace = (yaml.safe_load(kustomization.read_text()) or {}).get("namespace")
            if namespace:
                return namespace
        directory = posixpath.dirname(directory)
    return ""


def _objects(project: Path) -> list[_Object]:
    found = []
    for o in inventory.objects(project):
        namespace = o.namespace or ("" if o.kind in _CLUSTER_SCOPED else _kustomize_namespace(project, o.path))
        found.append(_Object(Ref(o.kind, namespace, o.name), o.path, o.document))
    for kustomization in sorted((project / inventory.KUBERNETES).rglob("kustomization.yaml")):
        data = yaml.safe_load(kustomization.read_text()) or {}
        relative = kustomization.relative_to(project).as_posix()
        namespace = data.get("namespace") or _kustomize_namespace(project, relative)
        for generator in data.get("configMapGenerator") or []:
            found.append(_Object(Ref("ConfigMap", generator.get("namespace", namespace), generator["name"]),
                                 relative, {"kind": "ConfigMap", "generated": True}))
        for resource in data.get("resources") or []:
            path = posixpath.normpath(posixpath.join(posixpath.dirname(relative), resource))
            if path in tree.USER_SECRETS:
                secret_namespace, name, _ = tree.USER_SECRETS[path]
                found.append(_Object(Ref("Secret", secret_namespace, name), path, {"kind": "Secret", "user": True}))
    return found


def _owner(path: str, kustomizations: dict[str, dict]) -> str:
    """The Flux Kustomization that applies the file: the one whose path holds it (the longest), the bootstrap's
    for kubernetes/flux, or "" when none does (a file no Kustomization points at is never applied)."""
    best, length = (BOOTSTRAP if path == FLUX_ROOT or path.startswith(FLUX_ROOT + "/") else ""), -1
    for name, spec in kustomizations.items():
        if spec["sourceRef"]["name"] != BOOTSTRAP:
            continue
        root = posixpath.normpath(spec["path"].removeprefix("./"))
        if (path == root or path.startswith(root + "/")) and len(root) > length:
            best, length = name, len(root)
    return best


def _topological(names: list[str], edges: dict[str, tuple[str, ...]]) -> tuple[list[str], list[list[str]]]:
    """Kahn's order (ties in declaration order) and the cycles that block the rest (each once, from its first name)."""
    order, placed = [], set()
    while True:
        ready = [n for n in names if n not in placed and all(d in placed or d not in names for d in edges.get(n, ()))]
        if not ready:
            break
        order.append(ready[0])
        placed.add(ready[0])
    cycles, seen = [], set()
    for start in (n for n in names if n not in placed):
        path, node = [], start
        while node not in path and node in names and node not in placed:
            path.append(node)
            node = next((d for d in edges.get(node, ()) if d in names and d not in placed), None)
            if node is None:
                break
        if node in path:
            cycle = path[path.index(node):]
            key = frozenset(cycle)
            if key not in seen:
                seen.add(key)
                cycles.append(cycle)
    return order, cycles


# --- what each object needs ------------------------------------------------------------------------------


def _needs_of(obj: _Object) -> list[tuple[Ref, str]]:
    """(what, why) for everything the object refers to that must exist for it to work."""
    d, kind, ns = obj.document, obj.ref.kind, obj.ref.namespace
    spec = d.get("spec") or {}
    needs: list[tuple[Ref, str]] = []
    group = d.get("apiVersion", "").split("/")[0] if "/" in d.get("apiVersion", "") else ""
    if group in CRD_PROVIDERS or group in FLUX_GROUPS or group in TALOS_GROUPS:
        needs.append((Ref("CustomResourceDefinition", "", group), "CRD"))
    if ns:
        needs.append((Ref("Namespace", "", ns), "namespace"))
    if kind == "Kustomization":
        for dependency in spec.get("dependsOn") or []:
            needs.append((Ref("Kustomization", dependency.get("namespace", ns), dependency["name"]), "dependsOn"))
        source = spec["sourceRef"]
        needs.append((Ref(source["kind"], source.get("namespace", ns), source["name"]), "source"))
        if (spec.get("decryption") or {}).get("secretRef"):
            needs.append((Ref("Secret", ns, spec["decryption"]["secretRef"]["name"]), "decryption key"))
    elif kind == "HelmRelease":
        for dependency in spec.get("dependsOn") or []:
            needs.append((Ref("HelmRelease", dependency.get("namespace", ns), dependency["name"]), "dependsOn"))
        source = spec["chartRef"] if "chartRef" in spec else spec["chart"]["spec"]["sourceRef"]
        needs.append((Ref(source["kind"], source.get("namespace", ns), source["name"]), "chart source"))
        for entry in spec.get("valuesFrom") or []:
            if not entry.get("optional"):
                needs.append((Ref(entry["kind"], ns, entry["name"]), "valuesFrom"))
        needs += [(Ref(k, ns, n), k) for k, n in _workload_refs(spec.get("values") or {})]
    elif kind == "ExternalSecret":
        store = spec["secretStoreRef"]
        needs.append((Ref(store.get("kind", "SecretStore"), "" if store.get("kind") == "ClusterSecretStore" else ns,
                          store["name"]), "secret store"))
    elif kind == "ClusterSecretStore":
        kubernetes = (spec.get("provider") or {}).get("kubernetes") or {}
        account = (kubernetes.get("auth") or {}).get("serviceAccount")
        if account:
            needs.append((Ref("ServiceAccount", account["namespace"], account["name"]), "store identity"))
        ca = (kubernetes.get("server") or {}).get("caProvider")
        if ca:
            needs.append((Ref(ca["type"], ca.get("namespace", ""), ca["name"]), "API server CA"))
    elif kind == "ClusterIssuer":
        # cert-manager reads a ClusterIssuer's Secrets in its cluster resource namespace, cert-manager by default
        for solver in (spec.get("acme") or {}).get("solvers") or []:
            token = ((solver.get("dns01") or {}).get("cloudflare") or {}).get("apiTokenSecretRef")
            if token:
                needs.append((Ref("Secret", "cert-manager", token["name"]), "Secret"))
        needs.append((Ref("HelmRelease", "cert-manager", "cert-manager"), "issuer controller"))
    elif kind == "Certificate":
        issuer = spec["issuerRef"]
        needs.append((Ref(issuer.get("kind", "Issuer"), "" if issuer.get("kind") == "ClusterIssuer" else ns,
                          issuer["name"]), "issuer"))
    elif kind == "Gateway":
        for listener in spec.get("listeners") or []:
            for certificate in ((listener.get("tls") or {}).get("certificateRefs") or []):
                needs.append((Ref(certificate.get("kind", "Secret"), certificate.get("namespace", ns),
                                  certificate["name"]), "Secret"))
    elif kind == "HTTPRoute":
        for parent in spec.get("parentRefs") or []:
            needs.append((Ref(parent.get("kind", "Gateway"), parent.get("namespace", ns), parent["name"]), "parent"))
    elif kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        needs += [(Ref(k, ns, n), k) for k, n in _workload_refs(spec.get("template") or {})]
    elif kind == "CronJob":
        job = (spec.get("jobTemplate") or {}).get("spec") or {}
        needs += [(Ref(k, ns, n), k) for k, n in _workload_refs(job.get("template") or {})]
    elif kind == "RoleBinding":
        role = d["roleRef"]
        needs.append((Ref(role["kind"], ns if role["kind"] == "Role" else "", role["name"]), "role"))
    return needs


def _store_data(obj: _Object, stores: dict[Ref, dict]) -> list[tuple[Ref, str]]:
    """The Secrets an ExternalSecret reads through a store of External Secrets' Kubernetes provider: each
    remoteRef.key is a Secret of the store's remoteNamespace (docs/provider/kubernetes.md, v0.19.2)."""
    if obj.ref.kind != "ExternalSecret":
        return []
    reference = obj.document["spec"]["secretStoreRef"]
    kind = reference.get("kind", "SecretStore")
    store = stores.get(Ref(kind, "" if kind == "ClusterSecretStore" else obj.ref.namespace, reference["name"]))
    kubernetes = ((store or {}).get("provider") or {}).get("kubernetes")
    if not kubernetes:
        return []
    namespace = kubernetes.get("remoteNamespace", "default")
    keys = [entry["remoteRef"]["key"] for entry in obj.document["spec"].get("data") or []]
    return [(Ref("Secret", namespace, key), "store data") for key in dict.fromkeys(keys)]


def _workload_refs(node: object) -> list[tuple[str, str]]:
    """Every Secret and ConfigMap a pod template (or chart values shaped like one) reads by name."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for key, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap"), ("secretRef", "Secret"),
                          ("configMapRef", "ConfigMap")):
            if isinstance(node.get(key), dict) and node[key].get("name") and not node[key].get("optional"):
                found.append((kind, node[key]["name"]))
        if isinstance(node.get("secret"), dict) and node["secret"].get("secretName"):
            found.append(("Secret", node["secret"]["secretName"]))
        if isinstance(node.get("configMap"), dict) and node["configMap"].get("name"):
            found.append(("ConfigMap", node["configMap"]["name"]))
        for value in node.values():
            found += _workload_refs(value)
    elif isinstance(node, list):
        for item in node:
            found += _workload_refs(item)
    return found


def _produced(objects: list[_Object]) -> dict[Ref, _Object]:
    """Objects the tree makes, directly or through a controller: an ExternalSecret's target Secret, a
    Certificate's Secret, the CRDs of the groups whose provider is in the tree."""
    made: dict[Ref, _Object] = {}
    by_ref = {o.ref: o for o in objects}
    for o in objects:
        made[o.ref] = o
        spec = o.document.get("spec") or {}
        if o.ref.kind == "ExternalSecret":
            target = (spec.get("target") or {}).get("name") or o.ref.name
            made[Ref("Secret", o.ref.namespace, target)] = o
        elif o.ref.kind == "Certificate":
            made[Ref("Secret", o.ref.namespace, spec["secretName"])] = o
        elif o.ref.kind == "ServiceAccount" and o.document.get("apiVersion", "").startswith("talos.dev/"):
            # Talos answers a Talos ServiceAccount with a Secret of the same name holding its talosconfig
            made[Ref("Secret", o.ref.namespace, o.ref.name)] = o
    for group, provider in CRD_PROVIDERS.items():
        if Ref(*provider) in by_ref:
            made[Ref("CustomResourceDefinition", "", group)] = by_ref[Ref(*provider)]
    return made


def flux_order(project: Path) -> FluxOrder:
    objects = _objects(project)
    specs = {o.ref.name: o.document["spec"] for o in objects
             if o.ref.kind == "Kustomization" and o.document.get("apiVersion", "").startswith("kustomize.toolkit")}
    names = [BOOTSTRAP] + [n for n in specs if n != BOOTSTRAP]
    depends_on = {name: tuple(d["name"] for d in spec.get("dependsOn") or []) for name, spec in specs.items()}
    order, cycles = _topological(names, {n: depends_on.get(n, ()) for n in names})

    owner = {o.ref: _owner(o.path, specs) for o in objects}
    unapplied = sorted({o.path for o in objects if not owner[o.ref]})
    objects = [o for o in objects if owner[o.ref]]
    # a Kustomization object is applied by the bootstrap's (it lives in kubernetes/flux) but stands for its own path
    ancestors: dict[str, set[str]] = {}

    def ancestors_of(name: str, trail: tuple[str, ...] = ()) -> set[str]:
        if name not in ancestors:
            found = {BOOTSTRAP} if name != BOOTSTRAP else set()
            for dependency in depends_on.get(name, ()):
                if dependency not in trail and dependency in specs:
                    found |= {dependency} | ancestors_of(dependency, trail + (name,))
            ancestors[name] = found
        return ancestors[name]

    made = _produced(objects)
    stores = {o.ref: o.document["spec"] for o in objects if o.ref.kind in ("ClusterSecretStore", "SecretStore")}
    needs: list[Need] = []
    for o in objects:
        who_applier = owner[o.ref]
        for what, why in _needs_of(o) + _store_data(o, stores):
            needs.append(_resolve(o, what, why, who_applier, made, owner, ancestors_of, specs))

    releases: dict[str, list[Ref]] = {name: [] for name in order}
    release_deps = {o.ref: tuple(Ref("HelmRelease", d.get("namespace", o.ref.namespace), d["name"])
                                 for d in o.document["spec"].get("dependsOn") or [])
                    for o in objects if o.ref.kind == "HelmRelease"}
    release_order, release_cycles = _topological(list(release_deps), release_deps)
    for ref in release_order:
        releases.setdefault(owner[ref], []).append(ref)
    cycles += [[str(r) for r in cycle] for cycle in release_cycles]
    applies: dict[str, list[Ref]] = {}
    for o in objects:
        applies.setdefault(owner[o.ref], []).append(o.ref)
    return FluxOrder(order, {n: depends_on.get(n, ()) for n in order}, releases, applies, needs, cycles, unapplied)


def _resolve(o: _Object, what: Ref, why: str, applier: str, made: dict[Ref, _Object], owner: dict[Ref, str],
             ancestors_of, specs: dict[str, dict]) -> Need:
    if what.kind == "Kustomization" and what.name in specs and why == "dependsOn":
        return Need(o.ref, what, why, "tree", "Kustomization in kubernetes/flux")
    if (what.kind, what.namespace, what.name) in BOOTSTRAP_STEPS:
        return Need(o.ref, what, why, "bootstrap", BOOTSTRAP_STEPS[(what.kind, what.namespace, what.name)])
    if what.kind == "CustomResourceDefinition" and what.name in FLUX_GROUPS:
        return Need(o.ref, what, why, "bootstrap", "flux bootstrap (gotk-components.yaml)")
    if what.kind == "CustomResourceDefinition" and what.name in TALOS_GROUPS:
        return Need(o.ref, what, why, "bootstrap", TALOS_GROUPS[what.name])
    if what.kind == "Namespace" and what.name in BUILT_IN_NAMESPACES:
        return Need(o.ref, what, why, "built-in", "a namespace every cluster has")
    if what.kind == "ConfigMap" and what.name == ROOT_CA:
        return Need(o.ref, what, why, "built-in", "Kubernetes publishes it in every namespace")
    provider = made.get(what)
    if provider is None:
        return Need(o.ref, what, why, "missing", "nothing in the tree or the bootstrap makes it")
    if provider.document.get("user"):
        step = f"you: {provider.path} ({tree.USER_SECRETS[provider.path][2]})"
        return _ordered(o, what, why, applier, owner.get(provider.ref, BOOTSTRAP), ancestors_of, "bootstrap", step)
    source_applier = owner.get(provider.ref, BOOTSTRAP)
    if provider.ref.kind == "Kustomization" and what.kind == "CustomResourceDefinition":
        source_applier = provider.ref.name  # CRDs a Kustomization applies from another source, not its own object
    return _ordered(o, what, why, applier, source_applier, ancestors_of, "tree", f"applied by {source_applier}")


def _ordered(o: _Object, what: Ref, why: str, applier: str, source_applier: str, ancestors_of,
             by: str, detail: str) -> Need:
    if source_applier == applier or source_applier in ancestors_of(applier):
        return Need(o.ref, what, why, by, detail)
    return Need(o.ref, what, why, "unordered",
                f"{source_applier} applies it, and {applier} (which applies {o.ref}) does not depend on it")


# --- the twin's copy ---------------------------------------------------------------------------------------


def twin_plan(order: FluxOrder) -> dict:
    """The order and the Secrets each Flux object waits for, as plain data for the twin's state (its fake flux
    runs without PyYAML, so it reads this instead of the tree).

    Per Kustomization: its dependsOn, the user-written SOPS files it applies and the Secrets the objects it
    applies need; per HelmRelease: the Kustomization applying it, its dependsOn and the Secrets it needs. A
    Secret is found through what makes it: a bootstrap step ("bootstrap"), a user file a Kustomization applies
    ("file", "applied_by") or a Kustomization of the tree ("applied_by"); "missing" when nothing does.
    """
    applier = {ref: name for name, refs in order.applies.items() for ref in refs}
    user_files = {(namespace, name): path for path, (namespace, name, _) in tree.USER_SECRETS.items()}

    def secret(need: Need) -> dict:
        what = need.what
        entry: dict = {"secret": f"{what.namespace}/{what.name}", "why": need.why}
        path = user_files.get((what.namespace, what.name))
        if path is not None:
            entry.update(file=path, applied_by=applier.get(Ref("Secret", what.namespace, what.name), ""))
        elif need.by == "bootstrap":
            entry["bootstrap"] = need.detail
        elif need.by == "tree":
            entry["applied_by"] = need.detail.removeprefix("applied by ")
        elif need.by == "unordered":
            entry["applied_by"] = need.detail.split(" applies it", 1)[0]
        else:
            entry["missing"] = need.detail
        return entry

    kustomizations = {name: {"name": name, "depends_on": list(order.depends_on.get(name, ())), "secrets": [],
                             "files": sorted(path for path, (namespace, secret_name, _) in tree.USER_SECRETS.items()
                                             if Ref("Secret", namespace, secret_name) in order.applies.get(name, []))}
                      for name in order.kustomizations}
    releases = {str(r): {"namespace": r.namespace, "name": r.name, "kustomization": name, "depends_on": [],
                         "secrets": []}
                for name in order.kustomizations for r in order.releases.get(name, [])}
    for need in order.needs:
        who = need.who
        if who.kind == "HelmRelease" and need.why == "dependsOn" and str(who) in releases:
            releases[str(who)]["depends_on"].append(f"{need.what.namespace}/{need.what.name}")
        if need.why in ("source", "chart source") and need.by == "missing":
            target = releases.get(str(who)) if who.kind == "HelmRelease" else kustomizations.get(who.name)
            if target is not None:
                target["missing_source"] = str(need.what)
        if need.what.kind != "Secret" or need.by == "built-in":
            continue
        if who.kind == "HelmRelease" and str(who) in releases:
            releases[str(who)]["secrets"].append(secret(need))
        elif who.kind == "Kustomization" and who.name in kustomizations and need.why == "decryption key":
            kustomizations[who.name]["secrets"].append(secret(need))
        elif applier.get(who) in kustomizations:
            kustomizations[applier[who]]["secrets"].append(secret(need))
    return {"kustomizations": list(kustomizations.values()), "releases": list(releases.values())}
