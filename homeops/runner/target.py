"""What a run runs against, said before anything else: the twin, or the cluster the tools point at.

Read offline, from the environment and the tools' own configuration files, never by asking the
cluster: the twin when its tools come first on PATH (`HOMEOPS_TWIN`, or a `kubectl` in a twin's
`bin/`); otherwise the kubeconfig's current context and its API server (`KUBECONFIG`, else
~/.kube/config, merged as kubectl merges them: the first file to set a value wins) and the
talosconfig's context and endpoints (`TALOSCONFIG`, else ~/.talos/config). Only names and
addresses are read out: never a certificate, key or token (and the line is redacted all the same).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Mapping

TWIN_STATE = "state.json"  # what makes a directory a twin (homeops.twin.state.STATE_FILE)


def twin_in_use(environ: Mapping[str, str] = os.environ) -> Path | None:
    """The twin whose tools this process would run, if any."""
    named = environ.get("HOMEOPS_TWIN")
    if named:
        return Path(named)
    kubectl = shutil.which("kubectl", path=environ.get("PATH"))
    if kubectl and (Path(kubectl).resolve().parent.parent / TWIN_STATE).is_file():
        return Path(kubectl).resolve().parent.parent
    return None


def describe(environ: Mapping[str, str] = os.environ) -> str:
    """One line: `the twin in DIR`, or `the cluster: kubectl context ..., talosctl context ...`."""
    from homeops.redaction import redact

    twin = twin_in_use(environ)
    if twin is not None:
        return f"the twin in {twin} (its kubectl, talosctl and flux first on PATH), not the cluster"
    return redact(f"the cluster: {_kubectl(environ)}; {_talosctl(environ)}")


def _home(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("HOME") or Path.home())


def _read(path: Path) -> dict | None:
    from homeops.safe_yaml import read_file

    source = read_file(path, what="the file")
    return source.data if isinstance(source.data, dict) and not source.problems else None


def _named(items: object, name: str, key: str) -> dict | None:
    """The `key` map of the entry called `name` in a kubeconfig list (`contexts`, `clusters`)."""
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get("name") == name and isinstance(item.get(key), dict):
            return item[key]
    return None


def _kubectl(environ: Mapping[str, str]) -> str:
    listed = [Path(p) for p in (environ.get("KUBECONFIG") or "").split(os.pathsep) if p]
    files = listed or [_home(environ) / ".kube" / "config"]
    found = [(path, _read(path)) for path in files if path.is_file()]
    configs = [data for _path, data in found if data is not None]
    where = ", ".join(str(path) for path, _data in found) or " or ".join(str(p) for p in files)
    if not configs:
        return f"kubectl: no readable kubeconfig ({where})"
    context = next((c["current-context"] for c in configs if isinstance(c.get("current-context"), str)
                    and c["current-context"]), None)
    if context is None:
        return f"kubectl: no current context ({where})"
    entry = next((e for c in configs if (e := _named(c.get("contexts"), context, "context"))), None)
    cluster = entry.get("cluster") if entry else None
    server = next((s.get("server") for c in configs if (s := _named(c.get("clusters"), str(cluster), "cluster"))),
                  None)
    return f"kubectl context {context}, API server {server or 'not set'} ({where})"


def _talosctl(environ: Mapping[str, str]) -> str:
    path = Path(environ.get("TALOSCONFIG") or _home(environ) / ".talos" / "config")
    config = _read(path) if path.is_file() else None
    if config is None:
        return f"talosctl: no readable talosconfig ({path})"
    context = config.get("context")
    contexts = config.get("contexts") if isinstance(config.get("contexts"), dict) else {}
    entry = contexts.get(context) if isinstance(context, str) else None
    if not isinstance(entry, dict):
        return f"talosctl: no current context ({path})"
    endpoints = entry.get("endpoints") if isinstance(entry.get("endpoints"), list) else []
    return f"talosctl context {context}, endpoints {', '.join(map(str, endpoints)) or 'not set'} ({path})"
