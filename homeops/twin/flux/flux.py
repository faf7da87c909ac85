"""The twin's `flux`: reconcile, suspend, resume, check and get, printing flux's ► ◎ ✔ ✗ lines on stderr."""

from __future__ import annotations

import sys

from homeops.twin import clock, cluster, table
from homeops.twin.flux import objects
from homeops.twin.kube import k8s
from homeops.twin.args import Flag, UsageError, parse, reject_unexpected
from homeops.twin.failure import ToolFailure, answer
from homeops.twin.setup import flux_bootstrap

GLOBAL_FLAGS = [
    Flag("namespace", "n"),
    Flag("timeout"),
    Flag("kubeconfig"),
    Flag("context"),
    Flag("verbose", None, False),
]
COMMAND_FLAGS = {
    "reconcile": [Flag("with-source", None, False), Flag("force", None, False), Flag("reset", None, False)],
    "suspend": [],
    "resume": [],
    "check": [Flag("pre", None, False)],
    "get": [Flag("all-namespaces", "A", False), Flag("no-header", None, False)],
    "bootstrap": flux_bootstrap.FLAGS,
}
KUSTOMIZATION = {"kustomization", "kustomizations", "ks"}
HELMRELEASE = {"helmrelease", "helmreleases", "hr"}
CONTROLLERS = [
    ("helm-controller", "v1.3.0"),
    ("kustomize-controller", "v1.6.1"),
    ("notification-controller", "v1.6.0"),
    ("source-controller", "v1.6.2"),
]
CRDS = [
    "alerts.notification.toolkit.fluxcd.io/v1beta3",
    "buckets.source.toolkit.fluxcd.io/v1",
    "gitrepositories.source.toolkit.fluxcd.io/v1",
    "helmcharts.source.toolkit.fluxcd.io/v1",
    "helmreleases.helm.toolkit.fluxcd.io/v2",
    "helmrepositories.source.toolkit.fluxcd.io/v1",
    "kustomizations.kustomize.toolkit.fluxcd.io/v1",
    "ocirepositories.source.toolkit.fluxcd.io/v1",
    "providers.notification.toolkit.fluxcd.io/v1beta3",
    "receivers.notification.toolkit.fluxcd.io/v1",
]


def main(argv: list[str], twin_dir: str) -> int:
    return answer(_run, argv, twin_dir, not_a_twin="✗ ")


def _say(text: str, stream=None) -> None:
    stream = stream or sys.stderr
    if text:
        stream.write(text if text.endswith("\n") else text + "\n")
        stream.flush()


def _run(argv: list[str], twin_dir: str) -> int:
    all_flags = {flag.name: flag for flags in COMMAND_FLAGS.values() for flag in flags}
    try:
        parsed = parse(argv, GLOBAL_FLAGS + list(all_flags.values()))
        if not parsed.positionals:
            _say(
                "Command line utility for assembling Kubernetes CD pipelines the GitOps way (homeops twin).", sys.stdout
            )
            return 0
        command = parsed.positionals[0]
        if command not in COMMAND_FLAGS:
            raise ToolFailure(f'✗ unknown command "{command}" for "flux"')
        reject_unexpected(parsed, {f.name for f in GLOBAL_FLAGS + COMMAND_FLAGS[command]})
        timeout_text = parsed.value("timeout", "5m")
        try:
            clock.parse_duration(timeout_text)
        except ValueError as exc:
            raise UsageError(f'invalid argument "{timeout_text}" for "--timeout" flag: {exc}') from None
    except UsageError as exc:
        raise ToolFailure(f"✗ {exc}") from None
    current, now = cluster.observe(twin_dir)
    vip = current["cluster"]["vip"]
    if k8s.api_refused(current, now):
        raise ToolFailure(
            f'✗ Get "https://{vip}:6443/api?timeout=32s": dial tcp {vip}:6443: connect: connection refused'
        )
    if command == "bootstrap":
        return flux_bootstrap.bootstrap(parsed, twin_dir, current)
    commands = {"reconcile": _reconcile, "suspend": _suspend, "resume": _resume, "check": _check, "get": _get}
    return commands[command](parsed, twin_dir, current)


def _objects(command: str, kind_word: str, current: dict) -> tuple[str, list[dict]]:
    if kind_word in KUSTOMIZATION:
        return "Kustomization", objects.kustomizations(current)
    if kind_word in HELMRELEASE:
        return "HelmRelease", objects.helmreleases(current)
    raise ToolFailure(f'✗ unknown command "{kind_word}" for "flux {command}"')


def _target(command: str, parsed, current: dict) -> tuple[str, str, str, dict]:
    """The one object a reconcile, suspend or resume names: (kind, namespace, name, item)."""
    words = parsed.positionals[1:]
    if not words:
        raise ToolFailure(f"✗ a resource type is required, e.g. flux {command} kustomization NAME")
    kind, items = _objects(command, words[0], current)
    if len(words) != 2:
        raise ToolFailure(f"✗ {kind} name is required")
    name = words[1]
    namespace = parsed.value("namespace", "flux-system")
    found = [i for i in items if i["metadata"]["name"] == name and i["metadata"]["namespace"] == namespace]
    if not found:
        group = objects.KUSTOMIZATION_GROUP if kind == "Kustomization" else objects.HELMRELEASE_GROUP
        raise ToolFailure(f'✗ {group} "{name}" not found')
    return kind, namespace, name, found[0]


def _reconcile(parsed, twin_dir: str, current: dict) -> int:
    kind, namespace, name, item = _target("reconcile", parsed, current)
    if item["spec"].get("suspend"):
        raise ToolFailure("✗ resource is suspended")
    if kind == "Kustomization" and (parsed.switch("reset") or parsed.switch("force")):
        flag = "reset" if parsed.switch("reset") else "force"
        raise ToolFailure(f"✗ unknown flag: --{flag}")
    revision = current["flux"]["revision"]
    if parsed.switch("with-source"):
        source = "GitRepository" if kind == "Kustomization" else "HelmRepository"
        source_name = (
            item["spec"]["sourceRef"]["name"]
            if kind == "Kustomization"
            else item["spec"]["chart"]["spec"]["sourceRef"]["name"]
        )
        _say(f"► annotating {source} {source_name} in flux-system namespace")
        _say(f"✔ {source} annotated")
        _say(f"◎ waiting for {source} reconciliation")
        _say(
            f"✔ fetched revision {revision}"
            if kind == "Kustomization"
            else "✔ fetched revision sha256:" + revision[-40:]
        )
    _say(f"► annotating {kind} {name} in {namespace} namespace")
    with cluster.changing(twin_dir) as (live, now):
        stamp = clock.rfc3339_micro(now)
        if kind == "Kustomization":
            live["flux"]["reconciled"][f"{kind}/{name}"] = stamp
        else:
            requests = [objects.RECONCILE_ANNOTATION]
            requests += [objects.RESET_ANNOTATION] if parsed.switch("reset") else []
            requests += [objects.FORCE_ANNOTATION] if parsed.switch("force") else []
            _handle_release(live, namespace, name, {a: stamp for a in requests})
            item = next(i for i in objects.helmreleases(live)
                        if (i["metadata"]["namespace"], i["metadata"]["name"]) == (namespace, name))
    _say(f"✔ {kind} annotated")
    _say(f"◎ waiting for {kind} reconciliation")
    ready = objects.ready_condition(item)
    if ready["status"] != "True":
        if kind == "HelmRelease":  # flux2 v2.7 cmd/flux/reconcile.go quotes the Ready message
            raise ToolFailure(f"✗ {kind} reconciliation failed: '{ready['message']}'")
        raise ToolFailure(f"✗ {kind} reconciliation failed: {ready['message']}")
    if kind == "Kustomization":
        _say(f"✔ applied revision {revision}")
    else:
        _say(f"✔ applied revision {item['status']['lastAttemptedRevision']}")
    return 0


def _release_entry(live: dict, namespace: str, name: str) -> dict:
    record = objects.release_record(live, namespace, name)
    live["flux"].setdefault("releases", {})[f"{namespace}/{name}"] = record
    return record


def _handle_release(live: dict, namespace: str, name: str, requests: dict[str, str]) -> None:
    """helm-controller's next reconcile of a release that is not suspended, handling `requests` (annotations).

    A reset request, a force request or a generation not yet attempted gives a release out of retries
    a new attempt (helm-controller's action.MustResetFailures, and forceRequested in atomic_release.go).
    """
    record = _release_entry(live, namespace, name)
    record["annotations"].update(requests)
    record["handled"].update({objects.HANDLED[a]: stamp for a, stamp in requests.items()})
    new_generation = record["generation"] != record["attempted"]
    record["observed"] = record["attempted"] = record["generation"]
    key = f"{namespace}/{name}"
    out_of_retries = key in live["faults"].get("helmrelease-stuck", []) + live["faults"].get("helmrelease-failing", [])
    if out_of_retries and (new_generation or objects.RESET_ANNOTATION in requests
                           or objects.FORCE_ANNOTATION in requests):
        record["attempts"] += 1
        record["recovered"] = key not in live["faults"].get("helmrelease-failing", [])


def _suspend(parsed, twin_dir: str, current: dict) -> int:
    kind, namespace, name, _ = _target("suspend", parsed, current)
    _say(f"► suspending {kind.lower()} {name} in {namespace} namespace")
    with cluster.changing(twin_dir) as (live, _now):
        record = (_release_entry(live, namespace, name) if kind == "HelmRelease"
                  else _kustomization_entry(live, name))
        if not record["suspend"]:  # a patch that changes nothing moves no generation
            record["suspend"] = True
            record["generation"] += 1
    _say(f"✔ {kind.lower()} suspended")
    return 0


def _resume(parsed, twin_dir: str, current: dict) -> int:
    kind, namespace, name, _ = _target("resume", parsed, current)
    _say(f"► resuming {kind.lower()} {name} in {namespace} namespace")
    if kind == "Kustomization":
        return _resume_kustomization(twin_dir, name)
    with cluster.changing(twin_dir) as (live, _now):
        record = _release_entry(live, namespace, name)
        if record["suspend"]:
            record["suspend"] = False
            record["generation"] += 1
        _handle_release(live, namespace, name, {})
        item = next(i for i in objects.helmreleases(live)
                    if (i["metadata"]["namespace"], i["metadata"]["name"]) == (namespace, name))
    _say(f"✔ {kind.lower()} resumed")
    _say(f"◎ waiting for {kind} reconciliation")
    stalled = next((c for c in item["status"]["conditions"] if c["type"] == "Stalled" and c["status"] == "True"), None)
    if stalled:  # kstatus Failed: flux2's resume prints the Stalled message (cmd/flux/readiness.go)
        raise ToolFailure(f"✗ {kind} {name} reconciliation failed: {stalled['message']}")
    _say(f"✔ {kind} {name} reconciliation completed")
    _say(f"✔ applied revision {item['status']['lastAttemptedRevision']}")
    return 0


def _kustomization_entry(live: dict, name: str) -> dict:
    record = objects.kustomization_record(live, name)
    live["flux"].setdefault("kustomizations", {})[name] = record
    return record


def _resume_kustomization(twin_dir: str, name: str) -> int:
    """spec.suspend false (a new generation), which kustomize-controller reconciles at once
    (flux2 cmd/flux/testdata/kustomization/resume_kustomization_from_git.golden's lines)."""
    with cluster.changing(twin_dir) as (live, _now):
        record = _kustomization_entry(live, name)
        if record["suspend"]:
            record["suspend"] = False
            record["generation"] += 1
        record["observed"] = record["generation"]
        item = next(i for i in objects.kustomizations(live) if i["metadata"]["name"] == name)
    _say("✔ kustomization resumed")
    _say("◎ waiting for Kustomization reconciliation")
    ready = objects.ready_condition(item)
    if ready["status"] != "True":
        raise ToolFailure(f"✗ Kustomization {name} reconciliation failed: {ready['message']}")
    _say(f"✔ Kustomization {name} reconciliation completed")
    _say(f"✔ applied revision {item['status']['lastAppliedRevision']}")
    return 0


def _check(parsed, twin_dir: str, current: dict) -> int:
    kubernetes = min(n["kubelet_version"] for n in current["nodes"]).lstrip("v")
    _say("► checking prerequisites")
    _say(f"✔ Kubernetes {kubernetes} >=1.32.0-0")
    if parsed.switch("pre"):
        _say("✔ prerequisites checks passed")
        return 0
    _say("► checking version in cluster")
    _say(f"✔ distribution: flux-{current['versions'].get('flux', 'v2.6.4')}")
    _say("✔ bootstrapped: true")
    _say("► checking controllers")
    for controller, version in CONTROLLERS:
        _say(f"✔ {controller}: deployment ready")
        _say(f"► ghcr.io/fluxcd/{controller}:{version}")
    _say("► checking crds")
    for crd in CRDS:
        _say(f"✔ {crd}")
    _say("✔ all checks passed")
    return 0


def _get(parsed, twin_dir: str, current: dict) -> int:
    words = parsed.positionals[1:]
    if not words:
        raise ToolFailure("✗ a resource type is required, e.g. flux get kustomizations")
    kind, items = _objects("get", words[0], current)
    all_namespaces = parsed.switch("all-namespaces")
    namespace = parsed.value("namespace", "flux-system")
    if not all_namespaces:
        items = [i for i in items if i["metadata"]["namespace"] == namespace]
    if len(words) > 1:
        items = [i for i in items if i["metadata"]["name"] == words[1]]
    if not items:
        _say(f"✗ no {kind} objects found in {'any' if all_namespaces else namespace} namespace")
        return 0
    rows = []
    for item in items:
        ready = objects.ready_condition(item)
        revision = item["status"]["lastAttemptedRevision"]
        suspended = "True" if item["spec"].get("suspend") else "False"
        cells = [item["metadata"]["name"], revision, suspended, ready["status"], ready["message"]]
        rows.append(([item["metadata"]["namespace"]] if all_namespaces else []) + cells)
    header = (["NAMESPACE"] if all_namespaces else []) + ["NAME", "REVISION", "SUSPENDED", "READY", "MESSAGE"]
    if not parsed.switch("no-header"):
        rows.insert(0, header)
    sys.stdout.write(table.tab_ended(rows))
    return 0
