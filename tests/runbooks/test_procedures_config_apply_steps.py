"""apply-config's steps in process (mutation testing sees these calls): what each step asks talosctl and
kubectl, in which order and with which arguments (`--mode try --timeout`, `--mode reboot`), what it says,
and each stop's whole message with what it leaves in place. The tools are a recording fake; the maintenance
path (node_maintenance), etcd's refusal, backup and health, and the gates are recorded calls, pinned in their
own tests. The twin-backed tests of the same steps are in test_procedures_config_apply.py."""

from __future__ import annotations

import io
import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from homeops.backup import scratch
from homeops.errors import RunbookStopped
from homeops.gate import Gate
from homeops.procedures import config_apply, config_diff, etcd, preflight, resume
from homeops.procedures.checks import CheckResult
from homeops.procedures.config_apply import NodePlan
from homeops.procedures.node_maintenance import InPlace
from homeops.procedures.session import Session
from homeops.rendering import render
from homeops.rendering.render import Difference, RenderFailed
from homeops.runner.outcome import rerun_hint
from homeops.tools import kubectl, process, talosctl
from homeops.tools.process import Completed, ToolError, ToolTimeout
from homeops.tools.shapes import NodeStatus

from tests.runbooks.in_process import CoveringGuard, out, stopped

BROKEN = ToolError(["tool"], 1, "Error: it broke\n")
INTERRUPTED = "interrupted (Ctrl-C, Kernel > Interrupt or a signal)"
DIFF = "--- a\n+++ b\n@@ -1,3 +1,3 @@\n-    nameservers: [10.0.0.1]\n+    nameservers: [10.0.0.53]"
WITHOUT = "Applied configuration without a reboot"
WITH = "Applied configuration with a reboot"
ADDRESS = {"cp-1": "10.0.10.11", "cp-2": "10.0.10.12", "worker-1": "10.0.10.21", "worker-2": "10.0.10.22",
           "worker-3": "10.0.10.23"}
NAME = {address: name for name, address in ADDRESS.items()}


def machine(nameserver: str = "10.0.0.1", ca: str = "CA-1", **more) -> dict:
    """A machine configuration, as much of it as these steps read: its CA and its network."""
    return {"machine": {"ca": {"crt": ca}, "network": {"nameservers": [nameserver]}, **more}}


def dry_text(verdict: str, diff: str) -> str:
    """What `apply-config --dry-run` prints (config_diff's docstring)."""
    return f"Dry run summary:\n{verdict} (skipped in dry-run).\nConfig diff:\n\n{diff}\n"


@dataclass
class Fake:
    """The nodes as talosctl and kubectl see them. Every call is recorded in `calls`, in order."""

    running: dict = field(default_factory=lambda: {name: machine() for name in ADDRESS})
    generated: dict = field(default_factory=lambda: {name: machine("10.0.0.53") for name in ADDRESS})
    dry: dict = field(default_factory=dict)  # name -> what its dry run prints on stderr; default: no changes
    boot: dict = field(default_factory=lambda: {name: "boot-1" for name in ADDRESS})
    ready: dict = field(default_factory=lambda: {name: "True" for name in ADDRESS})
    seen: dict = field(default_factory=dict)  # name -> what the next looks at the node see (kubectl.node), in turn
    reads: dict = field(default_factory=dict)  # name -> what the next machineconfig reads give, in turn
    unschedulable: set = field(default_factory=set)
    try_effect: str = "kept"  # what `--mode try` does: kept, cut off, reverted, neither
    answer: object = None  # (fake) -> True or an exception, for `talosctl version`; None: always answers
    failing: dict = field(default_factory=dict)  # call name -> what it raises
    force: bool = False  # what etcd.refuse_two_members answers
    gates: list = field(default_factory=lambda: [CheckResult("nodes Ready", "ok", "5 Ready")])
    left_out: str | None = None  # the node the last apply-config stopped on
    calls: list = field(default_factory=list)
    waits: list = field(default_factory=list)  # (what, timeout, poll interval) of each wait, as it starts
    sessions: list = field(default_factory=list)  # the session each recorded step was handed

    @property
    def waiting(self) -> str:
        return self.waits[-1][0] if self.waits else ""

    def _call(self, name, *args):
        self.calls.append((name, *args))
        if name in self.failing:
            raise self.failing[name]

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]

    # -- homeops.tools.process.run: sops, gen config, apply-config (the gate's and the dry run's) --------

    def run(self, argv, *, timeout, **_):
        argv = [str(a) for a in argv]
        if argv[0] == "sops":
            self._call("sops", argv, timeout)
            Path(argv[argv.index("--output") + 1]).write_text("the bundle in clear")
            return Completed(tuple(argv), 0, "", "")
        if argv[1:3] == ["gen", "config"]:
            output = Path(argv[argv.index("--output") + 1])
            self._call("gen config", output.stem, timeout)
            output.write_text(json.dumps(self.generated[output.stem]))
            return Completed(tuple(argv), 0, "", "")
        assert argv[:2] == ["talosctl", "-n"] and argv[3] == "apply-config", argv
        name = NAME[argv[2]]
        if argv[-1] == "--dry-run":
            self._call("dry run", name, argv, timeout)
            return Completed(tuple(argv), 0, "", self.dry.get(name, dry_text(WITHOUT, "No changes.")))
        mode = argv[argv.index("--mode") + 1]
        self._call("apply", name, " ".join(argv[argv.index("--mode"):]), timeout)
        if mode == "reboot":
            self.running[name] = self.generated[name]
            self.boot[name] = "boot-2"
            self.seen.setdefault(name, [("False", "boot-1"), ("False", "boot-2"), ("True", "boot-2")])
        elif mode == "no-reboot" or self.try_effect == "kept":
            self.running[name] = self.generated[name]
        elif self.try_effect == "neither":
            self.running[name] = machine("10.9.9.9")
        return Completed(tuple(argv), 0, "", "")

    # -- talosctl and kubectl reads ------------------------------------------------------------------

    def machine_config(self, address, **_):
        name = NAME[address]
        self._call("machineconfig", name)
        queued = self.reads.get(name)
        seen = queued.pop(0) if queued else self.running[name]
        if isinstance(seen, BaseException):
            raise seen
        return seen if isinstance(seen, str) else json.dumps({"metadata": {"type": talosctl.MACHINE_CONFIG_TYPE},
                                                              "spec": seen})

    def version(self, address, *, timeout):
        self._call("version", NAME[address], timeout)
        answer = True if self.answer is None else self.answer(self)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def node(self, name, **_):
        self._call("node", name)
        queued = self.seen.get(name)
        ready, boot = (queued.pop(0) if len(queued) > 1 else queued[0]) if queued else (self.ready[name],
                                                                                        self.boot[name])
        return NodeStatus(name, "worker", ready, name in self.unschedulable, ADDRESS[name], "v1.34.1",
                          "Talos (v1.11.1)", "v1.11.1", boot)

    # -- the maintenance path, etcd, the gates, resume: recorded -----------------------------------------

    def take_out_of_service(self, session, node, *, purpose):
        self.sessions.append(session)
        self._call("out of service", node.name, purpose)
        return InPlace(node.name, osds=(3,), crush_hosts=(node.name,), cordoned=True, noout=True)

    def return_to_service(self, session, node, state):
        self.sessions.append(session)
        self._call("back in service", node.name, state.step)

    def keep_protected(self, session, state):
        self.sessions.append(session)
        self._call("keep protected", state.node)

    def current_state(self, node):
        self._call("current state", node.name)
        return InPlace(node.name, osds=(3,), crush_hosts=(node.name,), cordoned=True, noout=True)

    def refuse_two_members(self, session, accept_risk, *, upgrade=True):
        self.sessions.append(session)
        self._call("etcd members", accept_risk)
        self.risk_said_for_upgrade = upgrade
        return self.force

    def take_snapshot(self, session):
        self.sessions.append(session)
        self._call("etcd backup")

    def wait_healthy(self, session, after):
        self.sessions.append(session)
        self._call("etcd healthy", after.name)

    def maintenance_gates(self, cluster):
        assert [n.name for n in cluster.nodes] == list(ADDRESS)
        self._call("gates")
        return self.gates

    def last_stopped_node(self, runbook):
        self._call("last stopped", runbook)
        return self.left_out

    def wait_until(self, predicate, timeout, poll_interval, what, progress=None):
        self.waits.append((what, timeout, poll_interval))
        return REAL_WAIT(predicate, timeout, poll_interval, what, progress=progress)


REAL_WAIT = config_apply.wait_until


@pytest.fixture
def fake(monkeypatch) -> Fake:
    fake = Fake()
    monkeypatch.setattr(process, "run", fake.run)
    monkeypatch.setattr(config_apply, "run", fake.run)
    monkeypatch.setattr(talosctl, "machine_config", fake.machine_config)
    monkeypatch.setattr(talosctl, "version", fake.version)
    monkeypatch.setattr(kubectl, "node", fake.node)
    for name in ("take_out_of_service", "return_to_service", "keep_protected", "current_state", "wait_until"):
        monkeypatch.setattr(config_apply, name, getattr(fake, name))
    for name in ("refuse_two_members", "take_snapshot", "wait_healthy"):
        monkeypatch.setattr(etcd, name, getattr(fake, name))
    monkeypatch.setattr(preflight, "maintenance_gates", fake.maintenance_gates)
    monkeypatch.setattr(resume, "last_stopped_node", fake.last_stopped_node)
    return fake


@pytest.fixture
def guard() -> CoveringGuard:
    return CoveringGuard()


@pytest.fixture
def session(cluster_model, guard):
    def make(apply: bool = True, wait_timeout: float = 0.5) -> Session:
        return Session(cluster_model, Gate(apply, out=io.StringIO()), wait_timeout=wait_timeout, poll_interval=0.01,
                       guard=guard)

    return make




class Files:
    """config_apply.Configs as the apply step uses it: the files by name, and closed once."""

    def __init__(self, tmp_path: Path):
        self.directory, self.closed = tmp_path, 0

    def __getitem__(self, name):
        return self.directory / f"{name}.yaml"

    def close(self):
        self.closed += 1


def plan_of(fake: Fake, cluster_model, name: str, *, reboot: bool = False, changes: bool = True,
            network: bool = True) -> NodePlan:
    generated = fake.generated[name] if network else machine(env={"TZ": "UTC"})
    if not network:
        fake.generated[name] = generated
    return NodePlan(cluster_model.node(name), Path(f"/scratch/{name}.yaml"), generated, fake.running[name],
                    config_diff.DryRun(reboot, DIFF if changes else ""))


# ---- NodePlan: how each node applies -----------------------------------------------------------------


def test_how_a_node_applies_is_said_for_each_case(fake, cluster_model):
    assert plan_of(fake, cluster_model, "worker-1", changes=False).how == (
        "runs its configuration already: nothing to apply")
    assert plan_of(fake, cluster_model, "worker-1", reboot=True).how == (
        "applies with a reboot (drained first, Ceph's noout while it is away)")
    assert plan_of(fake, cluster_model, "cp-1", reboot=True).how == (
        "applies with a reboot (etcd backup first, one member at a time)")
    assert plan_of(fake, cluster_model, "worker-2").how == (
        "applies without a reboot; a network change: tried first (it reverts unless kept)")
    assert plan_of(fake, cluster_model, "worker-3", network=False).how == "applies without a reboot"
    assert plan_of(fake, cluster_model, "cp-2").is_control_plane
    assert not plan_of(fake, cluster_model, "worker-3").is_control_plane


# ---- select_nodes, require_rendered ------------------------------------------------------------------


def test_nodes_are_chosen_by_name_in_cluster_yaml_order_and_unknown_names_refused(session):
    one = session(False)
    assert [n.name for n in config_apply.select_nodes(one, "")] == list(ADDRESS)
    assert [n.name for n in config_apply.select_nodes(one, " ,worker-2, ,cp-1,")] == ["cp-1", "worker-2"]
    assert stopped(lambda: config_apply.select_nodes(one, "nobody, worker-1,x")) == (
        "no node named 'nobody', 'x' in cluster.yaml (nodes: cp-1, cp-2, worker-1, worker-2, worker-3); "
        "nothing changed")


@pytest.fixture
def rendering(monkeypatch, cluster_file):
    """render and differences recorded: what require_rendered asks them, and what they answer."""
    seen = {"calls": [], "stale": []}

    def rendered(project, config, cluster):
        seen["calls"].append(("render", project, config, cluster))
        if "fails" in seen:
            raise RenderFailed(seen["fails"])
        return {"talos/patches/all.yaml": "rendered"}

    def differences(project, files):
        seen["calls"].append(("differences", project, files))
        return seen["stale"]

    monkeypatch.setattr(render, "render", rendered)
    monkeypatch.setattr(render, "differences", differences)
    return seen


def test_a_tree_that_is_what_cluster_yaml_renders_is_said_so(session, rendering, cluster_file):
    one = session(False)
    assert config_apply.require_rendered(one, str(cluster_file)) == (
        "rendered files: what cluster.yaml renders (homeops render --check)")
    assert rendering["calls"] == [("render", cluster_file.parent, cluster_file, one.cluster),
                                  ("differences", cluster_file.parent, {"talos/patches/all.yaml": "rendered"})]


def test_stale_rendered_files_are_refused_naming_five_of_them(session, rendering, cluster_file):
    stale = [Difference(f"talos/nodes/n{i}.yaml", "differs") for i in range(6)]
    rendering["stale"] = stale[:5]
    named = "; ".join(f"talos/nodes/n{i}.yaml: differs from what cluster.yaml renders" for i in range(5))
    assert stopped(lambda: config_apply.require_rendered(session(), cluster_file)) == (
        f"refused: 5 rendered file(s) are not what cluster.yaml renders ({named}): run `homeops render`, review "
        "and commit the result, then run again; nothing changed")
    rendering["stale"] = stale
    assert stopped(lambda: config_apply.require_rendered(session(), cluster_file)) == (
        f"refused: 6 rendered file(s) are not what cluster.yaml renders ({named}; ...): run `homeops render`, "
        "review and commit the result, then run again; nothing changed")


def test_templates_that_do_not_render_are_refused(session, rendering, cluster_file):
    rendering["fails"] = "templates/talos/patches/all.yaml.j2:3: unexpected '}'"
    assert stopped(lambda: config_apply.require_rendered(session(), cluster_file)) == (
        "refused: the templates do not render (templates/talos/patches/all.yaml.j2:3: unexpected '}'); "
        "nothing changed")


# ---- generated_configs: made in a private directory, the bundle in clear only meanwhile ---------------


@pytest.fixture
def bundle(cluster_file, monkeypatch):
    monkeypatch.delenv("HOMEOPS_TWIN", raising=False)
    secrets = cluster_file.parent / "talos" / "secrets.sops.yaml"
    secrets.parent.mkdir()
    secrets.write_text("sops: encrypted\n")
    return secrets


@pytest.fixture
def registered(monkeypatch):
    """What atexit is asked to call when the kernel exits."""
    calls = []
    monkeypatch.setattr(config_apply.atexit, "register", calls.append)
    return calls


def test_each_nodes_configuration_is_made_from_the_bundle_in_a_private_directory(fake, session, bundle, cluster_file,
                                                                                   cluster_model, registered):
    one = session(False)
    nodes = [cluster_model.node("cp-1"), cluster_model.node("worker-2")]
    configs = config_apply.generated_configs(one, cluster_file, nodes)
    try:
        directory = configs.directory
        plain = directory / "secrets.yaml"
        assert fake.calls[0] == ("sops", ["sops", "--config", str(cluster_file.parent / ".sops.yaml"), "--decrypt",
                                          "--output", str(plain), str(bundle)], config_apply.GEN_TIMEOUT)
        assert fake.calls[1:] == [("gen config", "cp-1", 60.0), ("gen config", "worker-2", 60.0)]
        assert configs.files == {"cp-1": directory / "cp-1.yaml", "worker-2": directory / "worker-2.yaml"}
        assert configs["worker-2"] == directory / "worker-2.yaml"
        assert json.loads(configs["cp-1"].read_text()) == fake.generated["cp-1"]
        assert sorted(p.name for p in directory.iterdir()) == ["cp-1.yaml", "worker-2.yaml"]  # the bundle is gone
        assert oct(directory.stat().st_mode & 0o777) == "0o700"
        assert scratch.filesystem_type(directory) in scratch.MEMORY_FILESYSTEMS
        assert registered == [configs.close]
        assert out(one) == ["made 2 configuration(s) from secrets.sops.yaml and the rendered patches, in a private "
                            "memory-backed directory removed at the end of the run"]
    finally:
        configs.close()
    assert not directory.exists()


def test_gen_config_is_given_each_nodes_own_patches_and_output(fake, session, bundle, cluster_file, cluster_model,
                                                               monkeypatch):
    argvs = []
    real = fake.run
    monkeypatch.setattr(config_apply, "run", lambda argv, **kw: (argvs.append(argv), real(argv, **kw))[1])
    configs = config_apply.generated_configs(session(), cluster_file, [cluster_model.node("cp-2")])
    configs.close()
    gen = argvs[1]
    patches = cluster_file.parent / "talos"
    assert gen[:3] == ["talosctl", "gen", "config"]
    assert gen[-4:] == ["--output-types", "controlplane", "--output", str(configs.directory / "cp-2.yaml")]
    assert gen[gen.index("--with-secrets") + 1] == str(configs.directory / "secrets.yaml")
    assert [gen[i + 1] for i, a in enumerate(gen) if a.startswith("--config-patch")] == [
        f"@{patches}/patches/all.yaml", f"@{patches}/patches/controlplane.yaml", f"@{patches}/nodes/cp-2.yaml"]


def test_without_a_secrets_bundle_nothing_is_made(fake, session, cluster_file, monkeypatch, cluster_model):
    monkeypatch.delenv("HOMEOPS_TWIN", raising=False)
    assert stopped(lambda: config_apply.generated_configs(session(), cluster_file, cluster_model.nodes)) == (
        f"refused: no secrets bundle at {cluster_file.parent}/talos/secrets.sops.yaml (the bootstrap makes it; "
        "every configuration is made from it); nothing changed")
    assert fake.calls == []


def test_without_a_memory_backed_directory_nothing_is_made(fake, session, bundle, cluster_file, cluster_model,
                                                           monkeypatch):
    def unavailable():
        raise scratch.ScratchUnavailable("no memory-backed directory to hold the etcd snapshot until it is "
                                         "encrypted (tried /dev/shm (missing))")

    monkeypatch.setattr(scratch, "base_directory", unavailable)
    assert stopped(lambda: config_apply.generated_configs(session(), cluster_file, cluster_model.nodes)) == (
        "refused: no memory-backed directory to hold the machine configurations until it is encrypted (tried "
        "/dev/shm (missing)); nothing changed")
    assert fake.calls == []


@pytest.mark.parametrize("failing", ["sops", "gen config"])
def test_a_configuration_that_cannot_be_made_removes_the_directory(fake, session, bundle, cluster_file, cluster_model,
                                                                   monkeypatch, failing):
    made = []
    real = scratch.private_directory

    @contextmanager
    def private():
        with real() as directory:
            made.append(directory)
            yield directory

    monkeypatch.setattr(scratch, "private_directory", private)
    fake.failing = {failing: BROKEN}
    assert stopped(lambda: config_apply.generated_configs(session(), cluster_file, cluster_model.nodes)) == (
        f"refused: could not make the configurations: {BROKEN}; nothing changed")
    assert len(made) == 1 and not made[0].exists()


def test_the_bundle_in_clear_is_removed_even_when_gen_config_fails(fake, session, bundle, cluster_file, cluster_model,
                                                                    monkeypatch):
    left = []
    real = fake.run

    def run(argv, **kw):
        if argv[1:3] == ["gen", "config"]:
            left.extend(p.name for p in Path(argv[argv.index("--output") + 1]).parent.iterdir())
            raise BROKEN
        return real(argv, **kw)

    monkeypatch.setattr(config_apply, "run", run)
    monkeypatch.setattr(config_apply.Configs, "close", lambda self: None)  # the directory stays, to look into
    with pytest.raises(RunbookStopped):
        config_apply.generated_configs(session(), cluster_file, [cluster_model.node("worker-1")])
    assert left == ["secrets.yaml"]
    directory = Path(fake.calls[0][1][5]).parent
    assert list(directory.iterdir()) == []
    scratch.shutil.rmtree(directory)


# ---- Configs: removed once, on the first failure, at exit --------------------------------------------


class Private:
    def __init__(self):
        self.exits = []

    def __exit__(self, *args):
        self.exits.append(args)


def test_configs_are_removed_once_and_on_any_failure_only(registered, tmp_path):
    private = Private()
    configs = config_apply.Configs(private, tmp_path)
    assert (configs.directory, configs.files) == (tmp_path, {})
    assert registered == [configs.close]
    with configs.closed_on_error():
        pass
    assert private.exits == []
    with pytest.raises(KeyboardInterrupt), configs.closed_on_error():
        raise KeyboardInterrupt
    assert private.exits == [(None, None, None)]
    configs.close()
    assert private.exits == [(None, None, None)]


# ---- check_machine_ca: the running configurations, and the CA each generated one names -----------------


def made(fake, tmp_path, names):
    files = config_apply.Configs(Private(), tmp_path)
    for name in names:
        files.files[name] = tmp_path / f"{name}.yaml"
        files.files[name].write_text(json.dumps(fake.generated[name]))
    return files


def test_the_running_configurations_are_read_when_every_ca_matches(fake, session, cluster_model, tmp_path, registered):
    nodes = [cluster_model.node("cp-1"), cluster_model.node("worker-1")]
    one = session(False)
    files = made(fake, tmp_path, ["cp-1", "worker-1"])
    assert config_apply.check_machine_ca(one, nodes, files) == {"cp-1": machine(), "worker-1": machine()}
    assert fake.calls == [("machineconfig", "cp-1"), ("machineconfig", "worker-1")]
    assert out(one) == ["machine CA: the generated configurations name the CA each of 2 node(s) runs"]
    assert files._private is not None  # still there for the dry runs


def test_another_ca_is_refused_naming_every_node_that_has_it(fake, session, cluster_model, tmp_path, registered):
    nodes = [cluster_model.node(n) for n in ("cp-1", "worker-1", "worker-2")]
    fake.generated["worker-1"] = machine(ca="CA-2")
    files = made(fake, tmp_path, ["cp-1", "worker-1", "worker-2"])
    private = files._private
    assert stopped(lambda: config_apply.check_machine_ca(session(), nodes, files)) == (
        "refused: the configuration made for worker-1 names another machine CA than it runs: talos/secrets.sops.yaml "
        "is not the bundle this cluster was made from, and applying it would lock talosctl out of the node; "
        "nothing changed")
    assert private.exits == [(None, None, None)]
    fake.generated["cp-1"] = machine(ca="CA-2")
    files = made(fake, tmp_path, ["cp-1", "worker-1", "worker-2"])
    assert stopped(lambda: config_apply.check_machine_ca(session(), nodes, files)).startswith(
        "refused: the configuration made for cp-1, worker-1 names another machine CA than they run: ")


def test_a_configuration_that_cannot_be_read_stops_without_showing_it(fake, session, cluster_model, tmp_path,
                                                                      registered):
    nodes = [cluster_model.node("worker-1")]
    fake.reads["worker-1"] = ["- token: s3cr3t\n"]
    assert stopped(lambda: config_apply.check_machine_ca(session(), nodes, made(fake, tmp_path, ["worker-1"]))) == (
        "worker-1: cannot read the configuration it runs: worker-1's MachineConfig is not a YAML mapping (1 "
        "problem(s); not shown: it holds secrets); nothing changed")
    fake.reads["worker-1"] = [BROKEN]
    assert stopped(lambda: config_apply.check_machine_ca(session(), nodes, made(fake, tmp_path, ["worker-1"]))) == (
        f"worker-1: cannot read the configuration it runs: {BROKEN}; nothing changed")
    files = made(fake, tmp_path, ["worker-1"])
    files["worker-1"].write_text("- token: s3cr3t\n")
    assert stopped(lambda: config_apply.check_machine_ca(session(), nodes, files)) == (
        "worker-1: cannot read its generated configuration: worker-1's generated configuration is not a YAML mapping "
        "(1 problem(s); not shown: it holds secrets); nothing changed")
    files = made(fake, tmp_path, ["worker-1"])
    files["worker-1"].unlink()
    assert stopped(lambda: config_apply.check_machine_ca(session(), nodes, files)) == (
        f"worker-1: cannot read its generated configuration: [Errno 2] No such file or directory: "
        f"'{tmp_path}/worker-1.yaml'; nothing changed")


# ---- the dry runs: each node's diff and how it applies -------------------------------------------------


def test_each_dry_run_is_shown_with_how_the_node_applies(fake, session, cluster_model, tmp_path, registered, capsys):
    nodes = [cluster_model.node(n) for n in ("cp-1", "worker-1")]
    fake.dry["worker-1"] = dry_text(WITHOUT, DIFF + "\n     token: abcdef.0123456789abcdef")
    files = made(fake, tmp_path, ["cp-1", "worker-1"])
    running = {"cp-1": machine(), "worker-1": machine()}
    plans = config_apply.plan_nodes(session(False), nodes, files, running)
    assert fake.calls == [
        ("dry run", "cp-1", ["talosctl", "-n", "10.0.10.11", "apply-config", "--file", str(tmp_path / "cp-1.yaml"),
                             "--dry-run"], config_apply.APPLY_TIMEOUT),
        ("dry run", "worker-1", ["talosctl", "-n", "10.0.10.21", "apply-config", "--file",
                                 str(tmp_path / "worker-1.yaml"), "--dry-run"], 120.0)]
    diff = DIFF + f"\n     token: {config_diff.MASK}"
    assert plans == [
        NodePlan(nodes[0], tmp_path / "cp-1.yaml", fake.generated["cp-1"], machine(), config_diff.DryRun(False, "")),
        NodePlan(nodes[1], tmp_path / "worker-1.yaml", fake.generated["worker-1"], machine(),
                 config_diff.DryRun(False, diff))]
    assert capsys.readouterr().out.splitlines() == [
        "cp-1: runs its configuration already: nothing to apply",
        "worker-1: applies without a reboot; a network change: tried first (it reverts unless kept)",
        *diff.splitlines()]
    assert files._private is not None


def test_what_talosctl_prints_is_read_stderr_first(fake, session, cluster_model, tmp_path, monkeypatch):
    # The summary is on stderr; whatever comes on stdout (the diff, in a client that splits them) follows it.
    summary = f"Dry run summary:\n{WITH} (skipped in dry-run).\nConfig diff:\n\n"
    monkeypatch.setattr(config_apply, "run", lambda argv, **kw: Completed(tuple(argv), 0, DIFF + "\n", summary))
    assert config_apply.dry_run(cluster_model.node("worker-1"), tmp_path / "w.yaml") == config_diff.DryRun(True, DIFF)


def test_a_dry_run_without_a_verdict_stops_naming_the_node_and_what_it_ran(fake, session, cluster_model, tmp_path,
                                                                          registered):
    fake.dry["worker-1"] = "Applied configuration without a reboot\n    token: abcdef.0123456789abcdef\n"
    files = made(fake, tmp_path, ["worker-1"])
    message = stopped(lambda: config_apply.plan_nodes(session(False), [cluster_model.node("worker-1")], files,
                                                      {"worker-1": machine()}))
    assert message == (
        f"worker-1: the dry run failed: `talosctl -n 10.0.10.21 apply-config --file {tmp_path}/worker-1.yaml "
        f"--dry-run` exited 0: printed no 'Dry run summary:' with a verdict and a config diff "
        f"({len(fake.dry['worker-1'])} characters, not shown: they may hold secrets); nothing changed")
    assert files._private is None


def test_each_dry_run_is_flushed_before_the_next_is_asked(fake, session, cluster_model, tmp_path, registered,
                                                          monkeypatch):
    class Stdout(io.StringIO):
        def __init__(self):
            super().__init__()
            self.flushed_at = []

        def flush(self):
            self.flushed_at.append(self.getvalue())

    fake.dry["worker-1"] = dry_text(WITHOUT, DIFF)
    stdout = Stdout()
    monkeypatch.setattr("sys.stdout", stdout)
    config_apply.plan_nodes(session(False), [cluster_model.node("worker-1"), cluster_model.node("cp-1")],
                            made(fake, tmp_path, ["worker-1", "cp-1"]), {"worker-1": machine(), "cp-1": machine()})
    how = "worker-1: applies without a reboot; a network change: tried first (it reverts unless kept)\n"
    assert stdout.flushed_at == [how, how + DIFF + "\n",
                                 how + DIFF + "\ncp-1: runs its configuration already: nothing to apply\n"]


def test_a_failed_dry_run_stops_without_a_secret_and_removes_the_configurations(fake, session, cluster_model, tmp_path,
                                                                               registered):
    fake.failing = {"dry run": ToolError(["talosctl"], 1, "+    token: abcdef.0123456789abcdef\n")}
    files = made(fake, tmp_path, ["worker-1"])
    private = files._private
    message = stopped(lambda: config_apply.plan_nodes(session(False), [cluster_model.node("worker-1")], files,
                                                      {"worker-1": machine()}))
    assert message == ("worker-1: the dry run failed: `talosctl` exited 1: +    token: [REDACTED bootstrap-token]; "
                       "nothing changed")
    assert private.exits == [(None, None, None)]


# ---- apply_nodes: without a reboot -------------------------------------------------------------------


def applying(session, plans, tmp_path=None, *, accept=False, try_seconds=1):
    files = Files(tmp_path or Path("/scratch"))
    done = config_apply.apply_nodes(session, plans, files, accept_two_member_etcd_risk=accept,
                                    try_seconds=try_seconds)
    assert files.closed == 1
    return done


def refused(session, plans, *, accept=False, try_seconds=1) -> str:
    files = Files(Path("/scratch"))
    message = stopped(lambda: config_apply.apply_nodes(session, plans, files, accept_two_member_etcd_risk=accept,
                                                       try_seconds=try_seconds))
    assert files.closed == 1
    return message


def test_a_change_without_a_reboot_is_applied_in_no_reboot_mode_and_confirmed(fake, session, cluster_model):
    one = session()
    plans = [plan_of(fake, cluster_model, "worker-3", network=False)]
    assert applying(one, plans) == ["worker-3"]
    assert fake.calls == [("last stopped", "apply-config"),
                          ("apply", "worker-3", "--mode no-reboot", config_apply.APPLY_TIMEOUT),
                          ("machineconfig", "worker-3")]
    assert out(one) == [
        "worker-3: applies without a reboot",
        "RUN: talosctl -n 10.0.10.23 apply-config --file /scratch/worker-3.yaml --mode no-reboot  # Talos applies "
        "it at once, without a reboot",
        "worker-3: runs its new configuration"]


def test_a_plan_shows_the_apply_and_the_confirmation_it_would_wait_for(fake, session, cluster_model):
    one = session(False)
    assert applying(one, [plan_of(fake, cluster_model, "worker-3", network=False)]) == ["worker-3"]
    assert fake.calls == [("last stopped", "apply-config")]
    assert out(one) == [
        "worker-3: applies without a reboot",
        "PLAN: talosctl -n 10.0.10.23 apply-config --file /scratch/worker-3.yaml --mode no-reboot  # Talos applies "
        "it at once, without a reboot",
        "PLAN: would wait for worker-3's MachineConfig to equal its generated configuration (up to 10s)"]


def test_a_network_change_is_tried_then_kept_once_the_node_answers_on_it(fake, session, cluster_model):
    one = session()
    fake.reads["worker-1"] = ["- not a mapping\n"]  # a look while the node is halfway through
    assert applying(one, [plan_of(fake, cluster_model, "worker-1")], try_seconds=30) == ["worker-1"]
    assert fake.calls == [
        ("last stopped", "apply-config"),
        ("apply", "worker-1", "--mode try --timeout 30s", 120.0),
        ("version", "worker-1", config_apply.ANSWER_TIMEOUT), ("machineconfig", "worker-1"),
        ("version", "worker-1", 10.0), ("machineconfig", "worker-1"),
        ("apply", "worker-1", "--mode no-reboot", 120.0),
        ("machineconfig", "worker-1")]
    assert fake.waits == [("worker-1 answering with its tried configuration", 15.0, 0.01)]
    assert out(one) == [
        "worker-1: applies without a reboot; a network change: tried first (it reverts unless kept)",
        "RUN: talosctl -n 10.0.10.21 apply-config --file /scratch/worker-1.yaml --mode try --timeout 30s  # a network "
        "change: Talos goes back to the previous configuration after 30s unless kept",
        "waiting for worker-1 answering with its tried configuration: worker-1's MachineConfig is not a YAML mapping "
        "(1 problem(s); not shown: it holds secrets) (0s of 0.5s)",
        "RUN: talosctl -n 10.0.10.21 apply-config --file /scratch/worker-1.yaml --mode no-reboot  # it still "
        "answers: keep the tried configuration",
        "worker-1: runs its new configuration"]


def test_a_plan_of_a_network_change_waits_half_the_try(fake, session, cluster_model):
    one = session(False)
    applying(one, [plan_of(fake, cluster_model, "worker-1")], try_seconds=30)
    assert fake.names() == ["last stopped"]
    assert [line.split("  #")[0] for line in out(one)] == [
        "worker-1: applies without a reboot; a network change: tried first (it reverts unless kept)",
        "PLAN: talosctl -n 10.0.10.21 apply-config --file /scratch/worker-1.yaml --mode try --timeout 30s",
        "PLAN: would wait for worker-1 answering with its tried configuration (up to 15s)",
        "PLAN: talosctl -n 10.0.10.21 apply-config --file /scratch/worker-1.yaml --mode no-reboot",
        "PLAN: would wait for worker-1's MachineConfig to equal its generated configuration (up to 10s)"]


def test_a_node_that_comes_back_on_its_previous_configuration_stops_the_run(fake, session, cluster_model):
    fake.try_effect = "reverted"
    plans = [plan_of(fake, cluster_model, "worker-1"), plan_of(fake, cluster_model, "worker-2")]
    assert refused(session(), plans) == (
        "worker-1: stopped at step 'try the network change': the node stopped answering with it, and reverted by "
        "itself after 1s: it answers again on its previous configuration; left in place: nothing (fix the network "
        "change in cluster.yaml); not applied yet: worker-2")
    assert fake.names()[-2:] == ["version", "machineconfig"]
    assert "--mode no-reboot" not in str(fake.calls)


def test_a_node_on_neither_configuration_is_awaited_and_stops_the_wait(fake, session, cluster_model):
    fake.try_effect = "neither"
    one = session()
    message = refused(one, [plan_of(fake, cluster_model, "worker-1")])
    assert ("waiting for worker-1 answering with its tried configuration: worker-1 answers with neither the tried nor "
            "its previous configuration (0s of 0.5s)") in out(one)
    # Not answering on the tried configuration for half the try is a node cut off: Talos's rollback is awaited.
    assert message.startswith("worker-1: stopped at step 'try the network change': the node stopped answering and "
                              "has not come back on its previous configuration (")


def cut_off(fake: Fake):
    """The tried configuration cuts the node off; Talos puts the previous one back when the try ends."""
    return BROKEN if "tried configuration" in fake.waiting else True


def test_a_node_cut_off_by_the_try_is_awaited_until_talos_reverts_it(fake, session, cluster_model):
    fake.try_effect, fake.answer = "cut off", cut_off
    one = session()
    plans = [plan_of(fake, cluster_model, "worker-1"), plan_of(fake, cluster_model, "worker-2")]
    assert refused(one, plans) == (
        "worker-1: stopped at step 'try the network change': the node stopped answering with it, and reverted by "
        "itself after 1s: it answers again on its previous configuration; left in place: nothing (fix the network "
        "change in cluster.yaml); not applied yet: worker-2")
    back = "worker-1 back on its previous configuration (Talos reverts a tried one after 1s)"
    assert fake.waits == [("worker-1 answering with its tried configuration", 0.5, 0.01), (back, 1.5, 0.01)]
    lines = out(one)
    assert lines[2] == ("waiting for worker-1 answering with its tried configuration: worker-1 does not answer "
                        "(`tool` exited 1: Error: it broke) (0s of 0.5s)")
    assert f"worker-1 does not answer with the tried configuration: waiting for {back}" in lines
    assert "apply" not in fake.names()[fake.names().index("apply") + 1:]


def test_a_node_that_never_comes_back_stops_naming_what_may_still_be_active(fake, session, cluster_model):
    fake.try_effect = "kept"
    fake.answer = lambda f: True if "back on" in f.waiting else BROKEN
    one = session(wait_timeout=0.2)
    message = refused(one, [plan_of(fake, cluster_model, "worker-1")])
    back = "worker-1 back on its previous configuration (Talos reverts a tried one after 1s)"
    assert message == (
        f"worker-1: stopped at step 'try the network change': the node stopped answering and has not come back on its "
        f"previous configuration ({back} did not happen within 1.2s); check it on its console; left in place: the "
        "tried configuration may still be active; no node left to apply")
    assert f"waiting for {back}: worker-1 answers, still on the tried configuration (0s of 0.2s)" in out(one)


def test_the_wait_for_talos_rollback_says_what_each_look_saw(fake, session, cluster_model):
    fake.try_effect = "cut off"
    back_looks = [BROKEN]  # the first look of the second wait: not answering yet
    fake.answer = lambda f: cut_off(f) if "back on" not in f.waiting else (back_looks.pop(0) if back_looks else True)
    fake.reads["worker-1"] = ["- not a mapping\n"]  # then answering, with a configuration that cannot be read
    one = session()
    assert "reverted by itself after 1s" in refused(one, [plan_of(fake, cluster_model, "worker-1")])
    back = "waiting for worker-1 back on its previous configuration (Talos reverts a tried one after 1s): "
    looks = [line.removeprefix(back) for line in out(one) if line.startswith(back)]
    assert looks[0] == "worker-1 does not answer (`tool` exited 1: Error: it broke) (0s of 0.5s)"
    # The second look's elapsed time is left out: on a loaded machine it may round up to a second.
    assert [look.rsplit(" (", 1)[0] for look in looks[1:]] == [
        "worker-1's MachineConfig is not a YAML mapping (1 problem(s); not shown: it holds secrets)"]


def test_a_node_that_does_not_answer_is_named_with_the_last_line_of_why(fake, cluster_model):
    worker = cluster_model.node("worker-1")
    long = "x" * 130
    fake.answer = lambda f: ToolError(["talosctl"], 1, f"rpc error\n{long}\n")
    assert config_apply._answers(worker) == f"worker-1 does not answer ({('`talosctl` exited 1: ' + long)[:120]})"
    timed_out = ToolTimeout(["talosctl"], 10)
    timed_out.args = ("first line\nsecond line\n",)
    fake.answer = lambda f: timed_out
    assert config_apply._answers(worker) == "worker-1 does not answer (second line)"
    assert fake.calls[-1] == ("version", "worker-1", 10.0)
    fake.answer = None
    assert config_apply._answers(worker) is True


def test_a_node_that_does_not_report_its_new_configuration_stops_the_run(fake, session, cluster_model):
    plans = [plan_of(fake, cluster_model, "worker-3", network=False), plan_of(fake, cluster_model, "worker-2")]
    fake.reads["worker-3"] = [machine()]
    assert refused(session(), plans) == (
        "worker-3: stopped at step 'confirm': apply-config answered, but the node does not report the generated "
        "configuration; left in place: the configuration worker-3 now runs (see `talosctl -n 10.0.10.23 get "
        "machineconfig`); not applied yet: worker-2")
    fake.reads["worker-3"] = [BROKEN]
    assert refused(session(), plans) == (
        f"worker-3: stopped at step 'confirm': apply-config answered, but the configuration the node runs cannot be "
        f"read: {BROKEN}; left in place: the configuration worker-3 now runs (see `talosctl -n 10.0.10.23 get "
        "machineconfig`); not applied yet: worker-2")
    fake.reads["worker-3"] = ["- not a mapping\n"]
    assert "cannot be read: worker-3's MachineConfig is not a YAML mapping" in refused(session(), plans)


def test_a_failed_apply_names_the_node_and_what_was_not_applied(fake, session, cluster_model):
    plans = [plan_of(fake, cluster_model, n, network=False) for n in ("worker-1", "worker-2", "worker-3")]
    fake.failing = {"apply": BROKEN}
    assert refused(session(), plans) == (
        f"worker-1: stopped at step 'apply-config': {BROKEN}; left in place: nothing (worker-1 keeps the "
        "configuration it ran); not applied yet: worker-2, worker-3")


def test_an_apply_without_an_answer_says_the_configuration_may_have_been_applied(fake, session, cluster_model):
    plans = [plan_of(fake, cluster_model, "worker-1", network=False)]
    argv = "talosctl -n 10.0.10.21 apply-config --file /scratch/worker-1.yaml --mode no-reboot"
    fake.failing = {"apply": ToolTimeout(argv.split(), 120)}
    assert refused(session(), plans) == (
        f"worker-1: stopped at step 'apply-config': `{argv}` did not finish within 120s; worker-1's configuration may "
        "have been applied; left in place: its new configuration, if it was (see `talosctl -n 10.0.10.21 get "
        "machineconfig`); no node left to apply")
    fake.failing = {"apply": KeyboardInterrupt()}
    plans.append(plan_of(fake, cluster_model, "worker-2"))
    assert refused(session(), plans) == (
        f"interrupted while `{argv}` ran, before its answer: worker-1's configuration may have been applied")


def test_an_interrupt_between_two_changes_names_the_node_and_what_is_left(fake, session, cluster_model):
    plans = [plan_of(fake, cluster_model, "worker-1", network=False), plan_of(fake, cluster_model, "worker-2")]
    fake.reads["worker-1"] = [KeyboardInterrupt()]
    assert refused(session(), plans) == (
        f"worker-1: {INTERRUPTED}; left in place: nothing beyond the changes said above; not applied yet: worker-2")


def test_nodes_are_applied_one_at_a_time_and_nodes_without_changes_are_left_alone(fake, session, cluster_model):
    plans = [plan_of(fake, cluster_model, "cp-1", changes=False), plan_of(fake, cluster_model, "worker-1"),
             plan_of(fake, cluster_model, "worker-2", changes=False), plan_of(fake, cluster_model, "worker-3",
                                                                               network=False)]
    one = session()
    assert applying(one, plans) == ["worker-1", "worker-3"]
    assert [c[1] for c in fake.calls if c[0] == "apply"] == ["worker-1", "worker-1", "worker-3"]
    assert not {"gates", "etcd members", "etcd backup", "etcd healthy"} & set(fake.names())
    assert [line for line in out(one) if line.startswith(("worker", "cp"))] == [
        "worker-1: applies without a reboot; a network change: tried first (it reverts unless kept)",
        "worker-1: runs its new configuration",
        "worker-3: applies without a reboot",
        "worker-3: runs its new configuration"]
    assert config_apply.summary(["worker-1", "worker-3"], plans, apply=True) == (
        "applied the configuration of worker-1, worker-3; already running theirs: cp-1, worker-2")


def test_nothing_to_apply_is_said_and_nothing_is_asked(fake, session, cluster_model):
    one = session()
    plans = [plan_of(fake, cluster_model, n, changes=False) for n in ("cp-1", "worker-1")]
    assert applying(one, plans) == []
    assert fake.names() == ["last stopped"]
    assert out(one) == ["every node already runs its configuration: nothing to apply"]


def test_the_summary_says_what_was_or_would_be_applied(fake, cluster_model):
    plans = [plan_of(fake, cluster_model, "worker-1"), plan_of(fake, cluster_model, "worker-2")]
    assert config_apply.summary([], plans, apply=True) == "every node already runs its configuration: nothing applied"
    assert config_apply.summary(["worker-1", "worker-2"], plans, apply=False) == (
        "would apply the configuration of worker-1, worker-2")


# ---- apply_nodes: with a reboot --------------------------------------------------------------------


def test_a_worker_reboot_takes_the_maintenance_path_after_the_gates(fake, session, cluster_model, guard, capsys):
    one = session()
    plans = [plan_of(fake, cluster_model, "worker-3", reboot=True), plan_of(fake, cluster_model, "worker-1",
                                                                             reboot=True)]
    assert applying(one, plans) == ["worker-3", "worker-1"]
    assert fake.calls[:12] == [
        ("last stopped", "apply-config"),
        ("gates",),
        ("node", "worker-3"),
        ("out of service", "worker-3", "a configuration that needs a reboot"),
        ("apply", "worker-3", "--mode reboot", 120.0),
        ("keep protected", "worker-3"), ("node", "worker-3"),
        ("keep protected", "worker-3"), ("node", "worker-3"),
        ("keep protected", "worker-3"), ("node", "worker-3"),
        ("machineconfig", "worker-3")]
    assert fake.calls[12] == ("back in service", "worker-3", "confirm")
    assert fake.names()[13:] == fake.names()[2:13]
    assert not {"etcd members", "etcd backup", "etcd healthy"} & set(fake.names())
    assert guard.covered == []
    assert fake.sessions == [one] * len(fake.sessions)
    what = "waiting for worker-3 Ready with a new boot ID: "
    lines = out(one)
    lines = lines[:lines.index("worker-1: applies with a reboot (drained first, Ceph's noout while it is away)")]
    assert [line for line in lines if line.startswith(("worker-3", "RUN", what))] == [
        "worker-3: applies with a reboot (drained first, Ceph's noout while it is away)",
        "RUN: talosctl -n 10.0.10.23 apply-config --file /scratch/worker-3.yaml --mode reboot  # Talos stores it and "
        "reboots the node into it (it does not drain)",
        what + "worker-3 Ready=False, boot ID unchanged (0s of 0.5s)",
        what + "worker-3 Ready=False, boot ID new (0s of 0.5s)",
        "worker-3: runs its new configuration"]
    assert fake.waits[0] == ("worker-3 Ready with a new boot ID", 0.5, 0.01)
    assert "nodes Ready" in capsys.readouterr().out  # the gates' table


def test_a_plan_of_a_reboot_says_what_it_would_wait_for(fake, session, cluster_model):
    one = session(False)
    assert applying(one, [plan_of(fake, cluster_model, "worker-3", reboot=True)]) == ["worker-3"]
    assert fake.names() == ["last stopped", "gates", "node", "out of service", "back in service"]
    assert [line.split("  #")[0] for line in out(one)] == [
        "worker-3: applies with a reboot (drained first, Ceph's noout while it is away)",
        "PLAN: talosctl -n 10.0.10.23 apply-config --file /scratch/worker-3.yaml --mode reboot",
        "PLAN: would wait for worker-3 Ready with a new boot ID (up to 0.5s)",
        "PLAN: would wait for worker-3's MachineConfig to equal its generated configuration (up to 10s)"]


def test_failed_gates_refuse_every_reboot_before_anything_changes(fake, session, cluster_model):
    fake.gates = [CheckResult("nodes Ready", "ok", "5 Ready"), CheckResult("Ceph health", "FAIL", "HEALTH_WARN")]
    plans = [plan_of(fake, cluster_model, "worker-1", network=False), plan_of(fake, cluster_model, "worker-3",
                                                                               reboot=True),
             plan_of(fake, cluster_model, "worker-2", reboot=True)]
    assert refused(session(), plans) == (
        "1 check(s) failed before rebooting worker-3, worker-2, nothing changed: Ceph health: HEALTH_WARN")
    assert fake.names() == ["last stopped", "gates"]


def test_a_control_plane_reboot_asks_etcd_backs_it_up_and_waits_for_it(fake, session, cluster_model, guard):
    fake.force = True
    one = session()
    plans = [plan_of(fake, cluster_model, "cp-1", reboot=True), plan_of(fake, cluster_model, "worker-1", reboot=True),
             plan_of(fake, cluster_model, "cp-2", network=False)]
    assert applying(one, plans, accept=True) == ["cp-1", "worker-1", "cp-2"]
    names = fake.names()
    assert names[:5] == ["last stopped", "etcd members", "gates", "etcd backup", "node"]
    assert fake.calls[1] == ("etcd members", True)
    assert fake.risk_said_for_upgrade is False  # the risk of a reboot into a new configuration, not of an upgrade
    assert names.count("etcd healthy") == 1
    assert fake.calls[names.index("etcd healthy")] == ("etcd healthy", "cp-1")
    assert names[names.index("etcd healthy") - 1] == "back in service"
    assert guard.covered == [(121.0, "cp-1: the reboot and the wait for the node")]
    assert fake.sessions == [one] * len(fake.sessions)


def test_a_control_plane_without_a_reboot_leaves_etcd_alone(fake, session, cluster_model):
    applying(session(), [plan_of(fake, cluster_model, "cp-1", network=False)], accept=True)
    assert not {"etcd members", "etcd backup", "etcd healthy", "gates"} & set(fake.names())


def test_the_two_member_refusal_is_etcds_and_stops_before_anything(fake, session, cluster_model, monkeypatch):
    def refuse(session_, accept_risk, *, upgrade):
        assert upgrade is False  # a reboot into a new configuration: not an upgrade Talos refuses without --force
        fake.calls.append(("etcd members", accept_risk))
        raise RunbookStopped("refused: two members; nothing changed")

    monkeypatch.setattr(etcd, "refuse_two_members", refuse)
    plans = [plan_of(fake, cluster_model, "worker-1", reboot=True), plan_of(fake, cluster_model, "cp-2", reboot=True)]
    assert refused(session(), plans) == "refused: two members; nothing changed"
    assert fake.calls == [("last stopped", "apply-config"), ("etcd members", False)]


def test_a_node_that_cannot_be_read_before_its_reboot_stops_with_nothing_left(fake, session, cluster_model):
    fake.failing = {"node": BROKEN}
    plans = [plan_of(fake, cluster_model, "worker-3", reboot=True), plan_of(fake, cluster_model, "worker-1")]
    assert refused(session(), plans) == (
        f"worker-3: stopped at step 'read the node': {BROKEN}; left in place: nothing; not applied yet: worker-1")
    assert "out of service" not in fake.names()


LEFT = "left in place: worker-3 cordoned, noout set for host worker-3"


def test_a_failed_reboot_apply_stops_with_the_node_out_of_service(fake, session, cluster_model):
    fake.failing = {"apply": BROKEN}
    assert refused(session(), [plan_of(fake, cluster_model, "worker-3", reboot=True)]) == (
        f"worker-3: stopped at step 'apply-config --mode reboot': {BROKEN}; {rerun_hint()} to finish worker-3; {LEFT}; "
        "no node left to apply")
    assert "back in service" not in fake.names()


def test_an_interrupted_reboot_apply_names_the_step_and_what_is_left(fake, session, cluster_model):
    fake.failing = {"apply": KeyboardInterrupt()}
    argv = "talosctl -n 10.0.10.23 apply-config --file /scratch/worker-3.yaml --mode reboot"
    assert refused(session(), [plan_of(fake, cluster_model, "worker-3", reboot=True),
                               plan_of(fake, cluster_model, "worker-1")]) == (
        f"worker-3: stopped at step 'apply-config --mode reboot': {INTERRUPTED} before `{argv}` answered; "
        f"{rerun_hint()} to finish worker-3; {LEFT}; not applied yet: worker-1")


def test_a_node_that_does_not_come_back_stops_the_wait_naming_what_to_check(fake, session, cluster_model):
    fake.seen["worker-3"] = [("False", "boot-1")]
    assert refused(session(), [plan_of(fake, cluster_model, "worker-3", reboot=True)]) == (
        "worker-3: stopped at step 'wait for Ready': worker-3 Ready with a new boot ID did not happen within 0.5s; "
        "worker-3 has its new configuration stored and may still be rebooting: check `kubectl get node worker-3` and "
        f"`talosctl -n 10.0.10.23 get machinestatus`; {rerun_hint()} to finish worker-3; {LEFT}; no node left to apply")


def test_a_node_ready_on_its_old_boot_is_not_back(fake, session, cluster_model):
    fake.seen["worker-3"] = [("True", "boot-1")]
    one = session()
    assert "stopped at step 'wait for Ready'" in refused(one, [plan_of(fake, cluster_model, "worker-3", reboot=True)])
    assert ("waiting for worker-3 Ready with a new boot ID: worker-3 Ready=True, boot ID unchanged (0s of 0.5s)"
            in out(one))


def test_an_interrupt_during_the_wait_names_the_step(fake, session, cluster_model, monkeypatch):
    fake.failing = {"keep protected": KeyboardInterrupt()}
    assert refused(session(), [plan_of(fake, cluster_model, "worker-3", reboot=True)]) == (
        f"worker-3: stopped at step 'wait for Ready': {INTERRUPTED}; {rerun_hint()} to finish worker-3; {LEFT}; "
        "no node left to apply")


def test_a_rebooted_node_that_does_not_report_its_configuration_stops_at_confirm(fake, session, cluster_model):
    fake.reads["worker-3"] = [machine()]
    assert refused(session(), [plan_of(fake, cluster_model, "worker-3", reboot=True)]) == (
        "worker-3: stopped at step 'confirm': apply-config answered, but the node does not report the generated "
        f"configuration; {rerun_hint()} to finish worker-3; {LEFT}; no node left to apply")
    assert "back in service" not in fake.names()


# ---- a node an earlier run left out of service -----------------------------------------------------


def test_the_node_an_earlier_run_left_cordoned_is_returned_first(fake, session, cluster_model):
    fake.left_out, fake.unschedulable = "worker-2", {"worker-2"}
    one = session()
    plans = [plan_of(fake, cluster_model, "worker-1", network=False),
             plan_of(fake, cluster_model, "worker-2", changes=False),
             plan_of(fake, cluster_model, "worker-3", network=False)]
    assert applying(one, plans) == ["worker-1", "worker-3"]
    assert fake.calls[:4] == [("last stopped", "apply-config"), ("node", "worker-2"), ("current state", "worker-2"),
                              ("back in service", "worker-2", "take the node out of service")]
    assert [c[1] for c in fake.calls if c[0] == "apply"] == ["worker-1", "worker-3"]
    assert out(one)[:2] == [
        "worker-2: runs its configuration already: nothing to apply",
        "worker-2: runs its configuration but an earlier run left it out of service (worker-2 cordoned, noout set "
        "for host worker-2): returning it to service"]
    assert config_apply.summary(["worker-1", "worker-3"], plans, apply=True) == (
        "applied the configuration of worker-1, worker-3; already running theirs: worker-2")
    assert fake.sessions == [one]  # worker-2 returned to service by this run's session


def test_a_plan_says_it_would_return_the_node_left_out(fake, session, cluster_model):
    fake.left_out, fake.unschedulable = "worker-2", {"worker-2"}
    one = session(False)
    assert applying(one, [plan_of(fake, cluster_model, "worker-2", changes=False)]) == []
    assert out(one)[1] == ("worker-2: runs its configuration but an earlier run left it out of service (worker-2 "
                           "cordoned, noout set for host worker-2): would return worker-2 to service")


def test_the_node_left_out_goes_first_even_with_changes_of_its_own(fake, session, cluster_model):
    fake.left_out, fake.unschedulable = "worker-3", {"worker-3"}
    plans = [plan_of(fake, cluster_model, n, network=False) for n in ("worker-1", "worker-2", "worker-3")]
    assert applying(session(), plans) == ["worker-3", "worker-1", "worker-2"]


@pytest.mark.parametrize("case", ["uncordoned since", "not in this run", "cannot be read", "none"])
def test_a_node_left_out_is_only_returned_while_it_is_still_cordoned(fake, session, cluster_model, case):
    fake.left_out = {"uncordoned since": "worker-2", "not in this run": "worker-3", "cannot be read": "worker-2",
                     "none": None}[case]
    fake.unschedulable = {"worker-2", "worker-3"} if case != "uncordoned since" else set()
    if case == "cannot be read":
        fake.failing = {"node": BROKEN}
    plans = [plan_of(fake, cluster_model, "worker-1", network=False),
             plan_of(fake, cluster_model, "worker-2", changes=False)]
    assert applying(session(), plans) == ["worker-1"]
    assert "current state" not in fake.names()
    assert ("node" in fake.names()) == (case in ("uncordoned since", "cannot be read"))
