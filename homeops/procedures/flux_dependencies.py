"""The order in which Flux brings up the rendered tree on an empty cluster, for the bootstrap's wait.

flux-system (flux bootstrap's own Kustomization) first; then the Kustomizations of
kubernetes/flux/ so that each comes after every one it `dependsOn` (in file order where the
dependencies allow any); each followed by the HelmReleases under its path. A cycle, which Flux
would leave not Ready forever, puts the objects in it last in file order.
"""

from __future__ import annotations

from pathlib import Path

from homeops.rendering import inventory

Key = tuple[str, str, str]  # (kind, namespace, name)


def apply_order(project: Path) -> list[Key]:
    rendered = list(inventory.objects(project))  # one read of the tree (PyYAML's pure-Python loader is slow)
    kustomizations = [o for o in rendered
                      if o.kind == "Kustomization" and o.document["apiVersion"].startswith("kustomize.toolkit")]
    keys = {k.name: ("Kustomization", k.namespace or "flux-system", k.name) for k in kustomizations}
    depends = {k.name: [d["name"] for d in k.document["spec"].get("dependsOn") or [] if d.get("name") in keys]
               for k in kustomizations}
    done: list[str] = []
    pending = [k.name for k in kustomizations]
    while pending:
        ready = next((name for name in pending if all(d in done for d in depends[name])), None)
        if ready is None:  # a cycle: nothing can go first
            done += pending
            break
        done.append(ready)
        pending.remove(ready)
    releases = [o for o in rendered if o.kind == "HelmRelease"]
    order: list[Key] = [("Kustomization", "flux-system", "flux-system")]
    for name in done:
        order.append(keys[name])
        path = str(next(k for k in kustomizations if k.name == name).document["spec"]["path"]).removeprefix("./")
        order += [("HelmRelease", r.namespace or "default", r.name) for r in releases
                  if r.path.startswith(path.rstrip("/") + "/")]
    return order
