"""apply-config: each node's configuration made again from the secrets bundle and the rendered
patches, checked against what the node runs, and applied one node at a time in the safest mode.

Talos decides whether a configuration applies with or without a reboot (its dry run says so); this
module decides how to apply it:
- nothing changes (`No changes.`): nothing is sent;
- without a reboot: `--mode no-reboot` (never `auto`, which would reboot if Talos judged otherwise
  meanwhile), then the node's MachineConfig must equal the generated configuration;
- without a reboot but touching machine.network: `--mode try --timeout`, then the node must still
  answer; only then `--mode no-reboot` keeps it (a node cut off goes back to its previous
  configuration when the timeout passes, by itself: the run waits for that and stops);
- with a reboot: Talos does not drain before such a reboot (siderolabs/talos#9603), so the node
  takes the maintenance path of the upgrades (ok-to-stop, noout, cordon, drain; `--mode reboot`;
  a new boot ID and Ready; uncordon, PGs clean, flag cleared); a control plane also needs a fresh
  encrypted etcd backup and, with two members, the accepted risk of the upgrades.

A configuration whose machine CA is not the one the node runs is never applied: talosctl, whose
client certificate is signed by the running CA, would be locked out of the node.

The configurations hold the cluster's secrets: they are made in a private memory-backed directory
(homeops.backup.scratch) removed when the run ends, and only redacted diffs are shown.
"""

from __future__ import annotations

import atexit
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from homeops.cluster.model import Node
from homeops.errors import RunbookStopped
from homeops.gate import in_doubt
from homeops.procedures import checks, config_diff, etcd, preflight, waits
from homeops.procedures.machine_configs import node_args
from homeops.procedures.node_maintenance import (INTERRUPTED, current_state, interruptible, keep_protected, return_to_service, stop,
                                                 take_out_of_service)
from homeops.procedures.session import Session
from homeops.procedures.waits import WaitTimedOut, wait_until
from homeops.tools import kubectl, talosctl
from homeops.tools.process import ToolError, run
from homeops.tools.workstation import sops_argv

GEN_TIMEOUT = 60.0
APPLY_TIMEOUT = 120.0  # apply-config answers once the configuration is stored (a reboot follows it)
ANSWER_TIMEOUT = 10.0  # a look at a node that was just given a network change


@dataclass(frozen=True)
class NodePlan:
    node: Node
    file: Path  # the generated configuration, in the private scratch directory
    generated: dict
    running: dict
    dry: config_diff.DryRun

    @property
    def network(self) -> bool:
        return config_diff.network_changes(self.running, self.generated)

    @property
    def how(self) -> str:
        if not self.dry.changes:
            return "runs its configuration already: nothing to apply"
        if self.dry.reboot:
            return "applies with a reboot (" + ("etcd backup first, one member at a time" if self.is_control_plane
                                               else "drained first, Ceph's noout while it is away") + ")"
        if self.network:
            return "applies without a reboot; a network change: tried first (it reverts unless kept)"
        return "applies without a reboot"

    @property
    def is_control_plane(self) -> bool:
        return self.node.role == "control-plane"


def select_nodes(session: Session, names: str) -> list[Node]:
    """The nodes named in the comma-separated `names` (every node when empty), in cluster.yaml order."""
    known = {n.name: n for n in session.cluster.nodes}
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise RunbookStopped(f"no node named {', '.join(map(repr, unknown))} in cluster.yaml "
                             f"(nodes: {', '.join(known)}); nothing changed")
    return [n for n in session.cluster.nodes if not wanted or n.name in wanted]


def require_rendered(session: Session, config: str | Path) -> str:
    """Stop unless talos/ is what cluster.yaml renders (`homeops render --check`): a configuration made
    from stale patches would undo the change you meant, or apply one nobody reviewed."""
    from homeops.rendering.render import RenderFailed, differences, render
    from homeops.runner.project import find_config

    path = find_config(config)
    try:
        stale = differences(path.parent, render(path.parent, path, session.cluster))
    except RenderFailed as exc:
        raise RunbookStopped(f"refused: the templates do not render ({exc}); nothing changed") from None
    if stale:
        raise RunbookStopped(
            f"refused: {len(stale)} rendered file(s) are not what cluster.yaml renders ("
            + "; ".join(str(d) for d in stale[:5]) + ("; ..." if len(stale) > 5 else "")
            + "): run `homeops render`, review and commit the result, then run again; nothing changed")
    return "rendered files: what cluster.yaml renders (homeops render --check)"


class Configs:
    """The generated configurations, in a private memory-backed directory that goes away with `close()`:
    at the end of the apply step, at the first failure of any step that uses them, or when the kernel exits."""

    def __init__(self, private, directory: Path):
        self._private, self.directory, self.files = private, directory, {}
        atexit.register(self.close)

    def __getitem__(self, name: str) -> Path:
        return self.files[name]

    def close(self) -> None:
        if self._private is not None:
            private, self._private = self._private, None
            private.__exit__(None, None, None)

    @contextmanager
    def closed_on_error(self) -> Iterator[None]:
        try:
            yield
        except BaseException:
            self.close()
            raise


def generated_configs(session: Session, config: str | Path, nodes: Sequence[Node]) -> Configs:
    """Each node's configuration, as the bootstrap made it (machine_configs.node_args), with the secrets
    bundle in clear only while they are made.

    Made in plan mode too: the dry runs need them, and nothing outside that directory is written."""
    from homeops.backup import scratch
    from homeops.procedures.bootstrap_files import workspace_of

    workspace = workspace_of(config)
    if not workspace.secrets_sops.exists():
        raise RunbookStopped(f"refused: no secrets bundle at {workspace.secrets_sops} (the bootstrap makes it; "
                             "every configuration is made from it); nothing changed")
    try:
        private = scratch.private_directory()
        configs = Configs(private, private.__enter__())
    except scratch.ScratchUnavailable as exc:
        raise RunbookStopped(f"refused: {str(exc).replace('the etcd snapshot', 'the machine configurations')}; "
                             "nothing changed") from None
    with configs.closed_on_error():
        plain = configs.directory / "secrets.yaml"
        try:
            run(sops_argv(workspace.sops_config, "--decrypt", "--output", str(plain), str(workspace.secrets_sops)),
                timeout=GEN_TIMEOUT)
            for node in nodes:
                configs.files[node.name] = configs.directory / f"{node.name}.yaml"
                run(["talosctl", "gen", "config", *node_args(session.cluster, workspace, node, plain,
                                                            configs.files[node.name])], timeout=GEN_TIMEOUT)
        except ToolError as exc:
            raise RunbookStopped(f"refused: could not make the configurations: {exc}; nothing changed") from None
        finally:
            plain.unlink(missing_ok=True)
    session.say(f"made {len(configs.files)} configuration(s) from {workspace.secrets_sops.name} and the rendered "
                "patches, in a private memory-backed directory removed at the end of the run")
    return configs


def _read_running(node: Node) -> dict:
    """The configuration `node` runs; ToolError or ValueError (never showing it) when it cannot be read."""
    return config_diff.running_configuration(talosctl.machine_config(str(node.address)), f"{node.name}'s MachineConfig")


def _running(node: Node) -> dict:
    try:
        return _read_running(node)
    except (ToolError, ValueError) as exc:
        raise RunbookStopped(f"{node.name}: cannot read the configuration it runs: {exc}; nothing changed") from None


def _generated(node: Node, file: Path) -> dict:
    try:
        return config_diff.configuration(file.read_text(), f"{node.name}'s generated configuration")
    except (OSError, ValueError) as exc:
        raise RunbookStopped(f"{node.name}: cannot read its generated configuration: {exc}; nothing changed") from None


def check_machine_ca(session: Session, nodes: Sequence[Node], files: Configs) -> dict[str, dict]:
    """Each node's running configuration; stop before anything is applied if a generated configuration
    names another machine CA than the node runs (the wrong secrets bundle: it would lock talosctl out)."""
    with files.closed_on_error():
        return _check_machine_ca(session, nodes, files)


def _check_machine_ca(session: Session, nodes: Sequence[Node], files: Configs) -> dict[str, dict]:
    running, wrong = {}, []
    for node in nodes:
        running[node.name] = _running(node)
        if not config_diff.same_ca(running[node.name], _generated(node, files[node.name])):
            wrong.append(node.name)
    if wrong:
        raise RunbookStopped(
            f"refused: the configuration made for {', '.join(wrong)} names another machine CA than "
            f"{'it runs' if len(wrong) == 1 else 'they run'}: talos/secrets.sops.yaml is not the bundle this cluster "
            "was made from, and applying it would lock talosctl out of the node; nothing changed")
    session.say(f"machine CA: the generated configurations name the CA each of {len(nodes)} node(s) runs")
    return running


def dry_run(node: Node, file: Path) -> config_diff.DryRun:
    """What Talos says it would do with `file` (read-only: in plan mode too)."""
    argv = ["talosctl", "-n", str(node.address), "apply-config", "--file", str(file), "--dry-run"]
    try:
        done = run(argv, timeout=APPLY_TIMEOUT)
        return config_diff.parse_dry_run(done.stderr + done.stdout, argv)
    except ToolError as exc:  # failed, or printed no verdict: a stop before anything changed either way
        raise RunbookStopped(f"{node.name}: the dry run failed: {config_diff.redacted_diff(str(exc))}; "
                             "nothing changed") from None


def plan_nodes(session: Session, nodes: Sequence[Node], files: Configs, running: dict[str, dict]) -> list[NodePlan]:
    """Every node's dry run: its (redacted) diff and how it applies."""
    with files.closed_on_error():
        return _plan_nodes(nodes, files, running)


def _plan_nodes(nodes: Sequence[Node], files: Configs, running: dict[str, dict]) -> list[NodePlan]:
    plans = []
    for node in nodes:
        plan = NodePlan(node, files[node.name], _generated(node, files[node.name]), running[node.name],
                        dry_run(node, files[node.name]))
        plans.append(plan)
        print(f"{node.name}: {plan.how}", flush=True)
        if plan.dry.changes:
            print(plan.dry.diff, flush=True)
    return plans


def _apply(session: Session, plan: NodePlan, mode: str, *, why: str, extra: Sequence[str] = ()) -> None:
    argv = ["talosctl", "-n", str(plan.node.address), "apply-config", "--file", str(plan.file), "--mode", mode, *extra]
    session.gate.change(argv, timeout=APPLY_TIMEOUT, why=why, about=f"{plan.node.name}'s configuration",
                        unsure="may have been applied")


def _left(todo: Sequence[NodePlan]) -> str:
    return f"not applied yet: {', '.join(p.node.name for p in todo)}" if todo else "no node left to apply"


def confirm_applied(session: Session, plan: NodePlan) -> None:
    """The node reports the configuration it was given: its MachineConfig equals the generated one."""
    if not session.apply:
        session.gate.would_wait(f"{plan.node.name}'s MachineConfig to equal its generated configuration",
                                ANSWER_TIMEOUT)
        return
    problem = _not_applied(plan)
    if problem:
        raise RunbookStopped(f"{plan.node.name}: stopped at step 'confirm': {problem}; left in place: the configuration "
                             f"{plan.node.name} now runs (see `talosctl -n {plan.node.address} get machineconfig`)")
    session.say(f"{plan.node.name}: runs its new configuration")


def _not_applied(plan: NodePlan) -> str | None:
    """Why the node does not report the generated configuration (None: it does)."""
    try:
        running = _read_running(plan.node)
    except (ToolError, ValueError) as exc:
        return f"apply-config answered, but the configuration the node runs cannot be read: {exc}"
    if running != plan.generated:
        return "apply-config answered, but the node does not report the generated configuration"
    return None


def _answers(node: Node) -> bool | str:
    try:
        talosctl.version(str(node.address), timeout=ANSWER_TIMEOUT)
    except ToolError as exc:
        return f"{node.name} does not answer ({str(exc).strip().splitlines()[-1][:120]})"
    return True


def apply_without_reboot(session: Session, plan: NodePlan, try_seconds: int) -> None:
    node = plan.node
    if not plan.network:
        _apply(session, plan, "no-reboot", why="Talos applies it at once, without a reboot")
        confirm_applied(session, plan)
        return
    _apply(session, plan, "try", extra=["--timeout", f"{try_seconds}s"],
           why=f"a network change: Talos goes back to the previous configuration after {try_seconds}s unless kept")
    # Half the timeout at most: what is kept must be kept well before Talos would take it back.
    what = f"{node.name} answering with its tried configuration"
    if not session.apply:
        session.gate.would_wait(what, try_seconds / 2)
    else:
        try:
            wait_until(lambda: _on_tried(plan), try_seconds / 2, session.poll_interval, what,
                       progress=waits.progress(session, what))
        except WaitTimedOut:
            raise _cut_off(session, plan, try_seconds) from None
        except _Reverted:
            raise _reverted(plan, try_seconds) from None
    _apply(session, plan, "no-reboot", why="it still answers: keep the tried configuration")
    confirm_applied(session, plan)


class _Reverted(Exception):
    """The node answers again, on the configuration it ran before the try: Talos took the tried one back."""


def _on_tried(plan: NodePlan) -> bool | str:
    """True once the node answers running the tried configuration; _Reverted when it runs its previous one."""
    node = plan.node
    seen = _answers(node)
    if seen is not True:
        return seen
    try:
        running = _read_running(node)
    except ValueError as exc:
        return str(exc)
    if running == plan.generated:
        return True
    if running == plan.running:
        raise _Reverted()
    return f"{node.name} answers with neither the tried nor its previous configuration"


def _reverted(plan: NodePlan, try_seconds: int) -> RunbookStopped:
    return RunbookStopped(f"{plan.node.name}: stopped at step 'try the network change': the node stopped answering "
                          f"with it, and reverted by itself after {try_seconds}s: it answers again on its previous "
                          "configuration; left in place: nothing (fix the network change in cluster.yaml)")


def _cut_off(session: Session, plan: NodePlan, try_seconds: int) -> RunbookStopped:
    """The tried configuration cut the node off: wait for Talos's own rollback, and say what it left."""
    node = plan.node
    what = f"{node.name} back on its previous configuration (Talos reverts a tried one after {try_seconds}s)"
    session.say(f"{node.name} does not answer with the tried configuration: waiting for {what}")

    def reverted() -> bool | str:
        seen = _answers(node)
        if seen is not True:
            return seen
        try:
            back = _read_running(node) == plan.running
        except ValueError as exc:
            return str(exc)
        return back or f"{node.name} answers, still on the tried configuration"

    try:
        wait_until(reverted, try_seconds + session.wait_timeout, session.poll_interval, what,
                   progress=waits.progress(session, what))
    except WaitTimedOut as exc:
        return RunbookStopped(f"{node.name}: stopped at step 'try the network change': the node stopped answering and "
                              f"has not come back on its previous configuration ({exc}); check it on its console; "
                              "left in place: the tried configuration may still be active")
    return _reverted(plan, try_seconds)


def _rebooted(name: str, boot_id: str) -> bool | str:
    now = kubectl.node(name)
    if now.is_ready and now.boot_id != boot_id:
        return True
    return f"{name} Ready={now.ready}, boot ID {'unchanged' if now.boot_id == boot_id else 'new'}"


def apply_with_reboot(session: Session, plan: NodePlan, *, force: bool) -> None:
    """The maintenance path: out of service, `--mode reboot`, a new boot and Ready, back in service."""
    node = plan.node
    try:
        before = kubectl.node(node.name).boot_id
    except ToolError as exc:
        raise RunbookStopped(f"{node.name}: stopped at step 'read the node': {exc}; left in place: nothing") from None
    state = take_out_of_service(session, node, purpose="a configuration that needs a reboot")
    outage = session.covering(2 * session.wait_timeout + APPLY_TIMEOUT,
                              f"{node.name}: the reboot and the wait for the node") if force else nullcontext()
    with outage, interruptible(state):
        state.step = "apply-config --mode reboot"
        try:
            _apply(session, plan, "reboot", why="Talos stores it and reboots the node into it (it does not drain)")
        except ToolError as exc:
            raise stop(state, state.step, exc) from None
        what = f"{node.name} Ready with a new boot ID"
        state.step = "wait for Ready"
        if not session.apply:
            session.gate.would_wait(what, session.wait_timeout)
        else:
            try:
                def back() -> bool | str:
                    keep_protected(session, state)  # Rook lets go of noout after its maintenance timeout
                    return _rebooted(node.name, before)

                wait_until(back, session.wait_timeout, session.poll_interval, what,
                           progress=waits.progress(session, what))
            except (WaitTimedOut, ToolError) as exc:
                state.notes.append(f"{node.name} has its new configuration stored and may still be rebooting: "
                                   f"check `kubectl get node {node.name}` and `talosctl -n {node.address} get "
                                   "machinestatus`")
                raise stop(state, "wait for Ready", exc) from None
        state.step = "confirm"
        if not session.apply:
            confirm_applied(session, plan)
        elif problem := _not_applied(plan):
            raise stop(state, "confirm", problem)
        else:
            session.say(f"{node.name}: runs its new configuration")
    return_to_service(session, node, state)


def apply_nodes(session: Session, plans: Sequence[NodePlan], files: Configs, *, accept_two_member_etcd_risk: bool,
                try_seconds: int) -> list[str]:
    """Apply every plan that changes something, one node at a time; the names applied (or planned).
    The configurations are removed when it ends, whatever happens."""
    try:
        return _apply_nodes(session, plans, accept_two_member_etcd_risk=accept_two_member_etcd_risk,
                            try_seconds=try_seconds)
    finally:
        files.close()


def _apply_nodes(session: Session, plans: Sequence[NodePlan], *, accept_two_member_etcd_risk: bool,
                 try_seconds: int) -> list[str]:
    left = _left_out(plans)
    todo = [p for p in plans if p.dry.changes or p is left]
    todo.sort(key=lambda p: p is not left)  # two nodes out at once is what one-at-a-time forbids
    if not todo:
        session.say("every node already runs its configuration: nothing to apply")
        return []
    reboots = [p for p in todo if p.dry.reboot]
    control_plane_reboots = any(p.is_control_plane for p in reboots)
    force = control_plane_reboots and etcd.refuse_two_members(session, accept_two_member_etcd_risk, upgrade=False)
    if reboots:
        gates = preflight.maintenance_gates(session.cluster)
        checks.print_table(gates)
        checks.require(gates, before=f"rebooting {', '.join(p.node.name for p in reboots)}")
    if control_plane_reboots:
        etcd.take_snapshot(session)
    done = []
    for index, plan in enumerate(todo):
        rest = todo[index + 1:]
        session.say(f"{plan.node.name}: {plan.how}")
        try:
            if not plan.dry.changes:
                _return_left_out(session, plan)
                continue
            if plan.dry.reboot:
                apply_with_reboot(session, plan, force=force and plan.is_control_plane)
            else:
                apply_without_reboot(session, plan, try_seconds)
        except ToolError as exc:
            # A timeout after apply-config was sent: the gate's message says it may have been applied.
            kept = (f"its new configuration, if it was (see `talosctl -n {plan.node.address} get machineconfig`)"
                    if in_doubt(exc) else f"nothing ({plan.node.name} keeps the configuration it ran)")
            raise RunbookStopped(f"{plan.node.name}: stopped at step 'apply-config': {exc}; left in place: {kept}; "
                                 f"{_left(rest)}") from None
        except RunbookStopped as exc:
            if getattr(exc, "in_doubt", None):
                raise
            raise RunbookStopped(f"{exc}; {_left(rest)}") from None
        except KeyboardInterrupt:
            # Between two changes of a node that is not out of service: nothing is left but what was applied.
            raise RunbookStopped(f"{plan.node.name}: {INTERRUPTED}; left in place: nothing beyond the changes said "
                                 f"above; {_left(rest)}") from None
        if plan.dry.reboot and plan.is_control_plane:
            etcd.wait_healthy(session, plan.node)
        done.append(plan.node.name)
    return done


def _left_out(plans: Sequence[NodePlan]) -> NodePlan | None:
    """The node the last run of apply-config stopped on, when it is still cordoned: finished first."""
    from homeops.procedures import resume

    named = resume.last_stopped_node("apply-config")
    plan = next((p for p in plans if p.node.name == named), None)
    if plan is None:
        return None
    try:
        return plan if kubectl.node(plan.node.name).unschedulable else None
    except ToolError:
        return None


def _return_left_out(session: Session, plan: NodePlan) -> None:
    """A node an earlier run stopped on after its reboot: it runs its configuration, only its return is left."""
    state = current_state(plan.node)
    session.say(f"{plan.node.name}: runs its configuration but an earlier run left it out of service "
                f"({state.describe().removeprefix('left in place: ')}): "
                + ("returning it to service" if session.apply else f"would return {plan.node.name} to service"))
    return_to_service(session, plan.node, state)


def summary(done: list[str], plans: Sequence[NodePlan], *, apply: bool) -> str:
    if not done:
        return "every node already runs its configuration: nothing applied"
    unchanged = [p.node.name for p in plans if not p.dry.changes]
    parts = [f"{'applied' if apply else 'would apply'} the configuration of {', '.join(done)}"]
    if unchanged:
        parts.append(f"already running theirs: {', '.join(unchanged)}")
    return "; ".join(parts)
