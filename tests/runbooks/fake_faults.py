"""The in-memory cluster of conftest.py with faults: commands that fail, hang past their timeout or
are interrupted (Ctrl-C), for the in-process tests of what a procedure says and leaves then.

A command is named as shown without the Rook toolbox (`ceph osd unset-group noout`, `kubectl
uncordon`, `talosctl -n 10.0.10.11 etcd status`) and matches every command line that starts so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from homeops.tools.process import ToolTimeout

from tests.runbooks.conftest import TOOLBOX, FakeCluster, FakeNode


def shown(argv: list[str]) -> str:
    """`argv` as faults name it: the toolbox prefix shortened to `ceph`."""
    return " ".join(["ceph", *argv[len(TOOLBOX):]] if argv[:len(TOOLBOX)] == TOOLBOX else argv)


@dataclass
class FaultyCluster(FakeCluster):
    failing: dict[str, str] = field(default_factory=dict)  # command -> what it prints on stderr, exiting 1
    hung: set[str] = field(default_factory=set)  # commands that run past their timeout
    interrupted: set[str] = field(default_factory=set)  # commands during which the operator hits Ctrl-C

    def run(self, argv, *, timeout, input=None, check=True, **follow):
        argv = [a for a in map(str, argv) if not a.startswith("--request-timeout=")]
        command = shown(argv)
        if any(command.startswith(c) for c in self.interrupted):
            self.calls.append(argv)
            raise KeyboardInterrupt
        if any(command.startswith(c) for c in self.hung):
            self.calls.append(argv)
            raise ToolTimeout(argv, timeout)
        return super().run(argv, timeout=timeout, input=input, check=check, **follow)

    def _answer(self, argv: list[str]) -> tuple[int, str, str]:
        command = shown(argv)
        failure = next((err for name, err in self.failing.items() if command.startswith(name)), None)
        if failure is not None:
            return 1, "", failure
        return super()._answer(argv)

    def changed(self) -> list[str]:
        """The changes asked for, in order, as `shown` names them."""
        return [shown(c) for c in self.changes()]


def make(kind: type[FaultyCluster], cluster_model) -> FaultyCluster:
    """`kind` holding the nodes of cluster.yaml (all on Talos v1.11.0, kubelet v1.34.1), one OSD per worker."""
    return kind(
        nodes={n.name: FakeNode(n.name, n.role, str(n.address), "v1.11.0", "v1.34.1") for n in cluster_model.nodes},
        osds={n.name: [i] for i, n in enumerate(cluster_model.workers)},
    )
