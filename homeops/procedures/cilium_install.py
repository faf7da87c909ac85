"""Cilium, installed once by hand before Flux, with the rendered values (Talos "Deploying Cilium").

The nodes have no CNI until Cilium runs, and Flux's controllers are pods that need one, so the
bootstrap installs the Gateway API CRDs (Cilium's Gateway support needs them when it starts) and
then the cilium chart with Helm: `helm upgrade --install`, the release named as the HelmRelease
names it, in its namespace, from the HelmRepository's URL, with its rendered values. Flux's
helm-controller then finds a release of that name and upgrades it in place (it adopts it); a
`helm template | kubectl apply` would leave objects without a release that the HelmRelease's
install would refuse to take over. Done when Helm lists the release deployed at the pinned chart.
"""

from __future__ import annotations

from homeops.errors import RunbookStopped
from homeops.procedures.bootstrap_files import Workspace
from homeops.procedures import waits
from homeops.procedures.session import Session
from homeops.procedures.waits import WaitTimedOut
from homeops.rendering import inventory
from homeops.tools import helm, kubectl
from homeops.tools.process import ToolError

RELEASE, NAMESPACE, CHART = "cilium", "kube-system", "cilium"
GATEWAY_API_CRDS = "https://github.com/kubernetes-sigs/gateway-api/releases/download/{version}/experimental-install.yaml"


def chart_source(workspace: Workspace) -> tuple[str, str]:
    """(repository URL, chart version) of the rendered cilium HelmRelease and its HelmRepository."""
    rendered = list(inventory.objects(workspace.project))
    release = next(r for r in rendered if r.kind == "HelmRelease" and r.name == RELEASE and r.namespace == NAMESPACE)
    chart = release.document["spec"]["chart"]["spec"]
    source = chart["sourceRef"]["name"]
    repository = next(r for r in rendered if r.kind == "HelmRepository" and r.name == source)
    return repository.document["spec"]["url"], str(chart["version"])


def installed_version(session: Session) -> str | None:
    """The chart version of the deployed cilium release (`helm list`); None when there is none yet.

    A plan made before the cluster exists cannot ask it: there, unreadable means not installed.
    """
    try:
        return helm.deployed_chart(RELEASE, NAMESPACE, CHART)
    except ToolError:
        if session.apply:
            raise
        return None


def install(session: Session, workspace: Workspace) -> str:
    url, version = chart_source(workspace)
    crds = GATEWAY_API_CRDS.format(version=session.cluster.versions.gateway_api)
    try:
        if installed_version(session) == version:
            return f"kept: Helm release {NAMESPACE}/{RELEASE} deployed at chart {version}"
        kubectl.apply_server_side(session.gate, crds, why="the Gateway API CRDs Cilium's Gateway support needs "
                                                          "when it starts")
        helm.upgrade_install(session.gate, RELEASE, CHART, repo=url, version=version, namespace=NAMESPACE,
                             values=str(workspace.cilium_values), timeout=session.wait_timeout,
                             why="the CNI, with the values Flux's HelmRelease uses, so that Flux adopts this release")
    except ToolError as exc:
        raise RunbookStopped(f"bootstrap: stopped at step 'install Cilium': {exc}; left in place: etcd bootstrapped, "
                             "the API up, nodes NotReady without a CNI; run the bootstrap again to resume") from None
    return f"planned: Cilium {version}" if not session.apply else f"installed: Cilium {version} ({url})"


def wait_nodes_ready(session: Session) -> None:
    """Every node of cluster.yaml Ready (the CNI runs), on versions.talos."""
    cluster = session.cluster
    what = f"every node Ready on Talos {cluster.versions.talos}"

    def look() -> bool | str:
        nodes = {n.name: n for n in kubectl.nodes()}
        waiting = []
        for node in cluster.nodes:
            seen = nodes.get(node.name)
            if seen is None:
                waiting.append(f"{node.name} not registered")
            elif not seen.is_ready:
                waiting.append(f"{node.name} Ready={seen.ready}")
            elif seen.talos_version != cluster.versions.talos:
                waiting.append(f"{node.name} runs {seen.talos_version}")
        return not waiting or f"{len(cluster.nodes) - len(waiting)} of {len(cluster.nodes)} Ready; {', '.join(waiting)}"

    try:
        waits.wait_for(session, what, look)
    except WaitTimedOut as exc:
        raise RunbookStopped(f"bootstrap: stopped at step 'wait for Ready nodes': {exc}; left in place: Cilium "
                             "installed; run the bootstrap again to resume") from None
