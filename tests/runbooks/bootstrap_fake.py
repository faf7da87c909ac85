"""An in-memory home lab for the bootstrap's procedures: machines in maintenance mode that become
a cluster as the real tools are called, behind homeops.tools.process.run.

It answers the command lines the bootstrap runs, in the shapes of the real tools (talosctl's -o
json resources, `etcd members` table, kubectl's JSON and `-o name`, `helm list -o json`), writes
the files talosctl, sops and kubectl would write, and records every call.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from homeops.cluster.model import Cluster
from homeops.procedures.flux_bootstrap import apply_order
from homeops.tools.process import Completed, ToolError

ROOT = Path(__file__).resolve().parents[2]
NOT_MAINTENANCE = ('error getting resources: rpc error: code = Unavailable desc = connection error: desc = '
                   '"transport: authentication handshake failed: remote error: tls: certificate required"\n')
API_REFUSED = "The connection to the server 10.0.50.50:6443 was refused - did you specify the right host or port?\n"
AGE_SECRET = "AGE-SECRET-KEY-1QQQFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEQQ"


def make_project(directory: Path, repository: bool = True) -> Path:
    """A project beside a copy of cluster.yaml (with a repository), rendered as `homeops render` would."""
    from homeops import load_cluster
    from homeops.rendering.render import render, write

    text = (ROOT / "cluster.yaml").read_text()
    if repository:
        text += "repository:\n  owner: ana\n  name: home-ops\n"
    config = directory / "cluster.yaml"
    config.write_text(text)
    shutil.copytree(ROOT / "templates", directory / "templates")
    write(directory, render(directory, config, load_cluster(config)))
    return config


def age_key(directory: Path, public: str) -> Path:
    path = directory / "keys.txt"
    path.write_text(f"# created: 2026-12-06T10:00:00Z\n# public key: {public}\n{AGE_SECRET}\n")
    path.chmod(0o600)
    return path


@dataclass
class Machine:
    name: str
    address: str
    role: str
    install_disk: str
    mac: str
    osd_devices: tuple[str, ...]
    state: str = "maintenance"  # maintenance, configured
    talos: str = "v1.11.1"


@dataclass
class FakeLab:
    cluster: Cluster
    project: Path
    machines: dict[str, Machine] = field(default_factory=dict)
    etcd_bootstrapped: bool = False
    bootstraps: int = 0
    cilium: str | None = None
    namespaces: set[str] = field(default_factory=set)
    secrets: set[str] = field(default_factory=set)
    flux: bool = False
    flux_stuck: set[str] = field(default_factory=set)  # names of Flux objects that never turn Ready
    certificate_ready: bool = True
    calls: list[list[str]] = field(default_factory=list)
    environments: list[dict] = field(default_factory=list)
    _order: list | None = None

    @classmethod
    def of(cls, cluster: Cluster, project: Path) -> "FakeLab":
        lab = cls(cluster, project)
        for n in cluster.nodes:
            lab.machines[str(n.address)] = Machine(n.name, str(n.address), n.role, str(n.install_disk),
                                                   str(n.mac_address), tuple(str(d) for d in n.osd_devices))
        return lab

    # -- what a test reads ----------------------------------------------------------------------
    def changes(self) -> list[list[str]]:
        reads = (["talosctl", "-n"], ["kubectl", "get"], ["helm", "list"], ["dig"], ["age-keygen"])
        return [c for c in self.calls if not any(c[:len(r)] == r for r in reads)
                and not (c[0] == "kubectl" and "get" in c)]

    def configured(self) -> bool:
        return all(m.state == "configured" for m in self.machines.values())

    # -- the tools ----------------------------------------------------------------------------
    def run(self, argv, *, timeout, input=None, check=True, on_line=None, quiet=None, on_quiet=None) -> Completed:
        import os

        assert timeout > 0, f"no timeout on {argv}"
        argv = [str(a) for a in argv]
        self.calls.append([a for a in argv if not a.startswith("--request-timeout=")])
        self.environments.append({k: os.environ.get(k) for k in ("TALOSCONFIG", "KUBECONFIG", "GITHUB_TOKEN")})
        code, out, err = self._answer([a for a in argv if not a.startswith("--request-timeout=")])
        from tests.runbooks.conftest import hear_followed

        hear_followed(on_line, out, err)
        if check and code:
            raise ToolError(argv, code, err, out)
        return Completed(tuple(argv), code, out, err)

    def _answer(self, argv: list[str]) -> tuple[int, str, str]:
        tool, args = argv[0], argv[1:]
        if tool == "talosctl":
            return self._talosctl(args)
        if tool == "sops":
            return self._sops(args)
        if tool == "kubectl":
            return self._kubectl(args)
        if tool == "helm":
            return self._helm(args)
        if tool == "flux" and args[:2] == ["bootstrap", "github"]:
            self.flux = True
            self.namespaces.add("flux-system")
            return 0, "", "► connecting to github.com\n✔ all components are healthy\n"
        if tool == "dig":
            return 0, "ns.dns.example.com. hostmaster.example.com. 1 7200 1800 86400 3600\n", ""
        return 97, "", f"unexpected {argv}"

    def _talosctl(self, args: list[str]) -> tuple[int, str, str]:
        if args[:2] == ["gen", "secrets"]:
            Path(args[args.index("--output-file") + 1]).write_text("cluster:\n  id: fake\nsecrets:\n  bootstraptoken: x\n")
            return 0, "", ""
        if args[:2] == ["gen", "config"]:
            assert Path(args[args.index("--with-secrets") + 1]).is_file(), "gen config without the secrets in clear"
            Path(args[args.index("--output") + 1]).write_text(f"# {args[args.index('--output-types') + 1]}\n")
            return 0, "", ""
        if args[:1] == ["--talosconfig"]:
            return 0, "", ""
        if args[:1] == ["apply-config"]:
            machine = self.machines[args[args.index("--nodes") + 1]]
            if machine.state != "maintenance":
                return 1, "", NOT_MAINTENANCE
            machine.state = "configured"
            return 0, "", ""
        if args[:1] == ["bootstrap"]:
            self.bootstraps += 1
            if self.etcd_bootstrapped:
                return 1, "", ("error executing bootstrap: rpc error: code = AlreadyExists desc = "
                               "etcd data directory is not empty\n")
            self.etcd_bootstrapped = True
            return 0, "", ""
        if args[:1] == ["kubeconfig"]:
            Path(args[3]).write_text("apiVersion: v1\nkind: Config\n")
            return 0, "", ""
        machine = self.machines[args[1]]
        rest = args[2:]
        if "--insecure" in rest:
            if machine.state != "maintenance":
                return 1, "", NOT_MAINTENANCE
            return 0, self._resources(machine, rest[1]), ""
        if machine.state != "configured":
            return 1, "", "error: rpc error: code = Unavailable desc = connection refused\n"
        if rest == ["version", "--json"]:
            return 0, json.dumps({"metadata": {"hostname": machine.address}, "version": {"tag": machine.talos}}) + "\n", ""
        if rest == ["etcd", "members"]:
            if not self.etcd_bootstrapped or machine.role != "control-plane":
                return 1, "", "error getting members: rpc error: code = Unknown desc = etcd is not running\n"
            rows = [f"{machine.address}\t{i:016x}\t{m.name}\thttps://{m.address}:2380\thttps://{m.address}:2379\tfalse"
                    for i, m in enumerate(m for m in self.machines.values() if m.role == "control-plane")]
            return 0, "NODE\tID\tHOSTNAME\tPEER URLS\tCLIENT URLS\tLEARNER\n" + "\n".join(rows) + "\n", ""
        if rest == ["etcd", "status"]:
            header = "NODE\tMEMBER\tDB SIZE\tIN USE\tLEADER\tRAFT INDEX\tRAFT TERM\tRAFT APPLIED INDEX\tLEARNER\tERRORS"
            return 0, f"{header}\n{machine.address}\tabc\t1 MB\t1 MB\tabc\t1\t1\t1\tfalse\t\n", ""
        return 97, "", f"unexpected talosctl {args}"

    def _resources(self, machine: Machine, kind: str) -> str:
        if kind == "disks":
            disks = [{"dev_path": machine.install_disk, "size": 512110190592, "model": "SSD", "symlinks": []}]
            disks += [{"dev_path": f"/dev/nvme{i + 1}n1", "size": 1000204886016, "symlinks": [osd]}
                      for i, osd in enumerate(machine.osd_devices)]
            return "".join(json.dumps({"node": machine.address, "metadata": {"id": d["dev_path"].rsplit("/", 1)[1]},
                                       "spec": d}, indent=4) + "\n" for d in disks)
        links = [("lo", "loopback", "00:00:00:00:00:00"), ("enp1s0", "ether", machine.mac)]
        return "".join(json.dumps({"node": machine.address, "metadata": {"id": i},
                                   "spec": {"type": t, "kind": "", "hardwareAddr": mac}}, indent=4) + "\n"
                       for i, t, mac in links)

    def _sops(self, args: list[str]) -> tuple[int, str, str]:
        assert args[:2] == ["--config", str(self.project / ".sops.yaml")], args
        output = Path(args[args.index("--output") + 1])
        if "--encrypt" in args:
            key = str(self.cluster.secrets.age_public_key)
            output.write_text(yaml.safe_dump({"cluster": {"id": "ENC[AES256_GCM,data:abc,type:str]"},
                                              "sops": {"age": [{"recipient": key, "enc": "x"}], "version": "3.10.2"}}))
        else:
            output.write_text("cluster:\n  id: fake\n")
        return 0, "", ""

    def _api_up(self) -> bool:
        return self.etcd_bootstrapped and self.configured()

    def _kubectl(self, args: list[str]) -> tuple[int, str, str]:
        if not self._api_up():
            return 1, "", API_REFUSED
        if args == ["get", "nodes", "-o", "json"]:
            items = [{"metadata": {"name": m.name, "labels": {}}, "spec": {}, "status": {
                "conditions": [{"type": "Ready", "status": "True" if self.cilium else "False"}],
                "addresses": [{"type": "InternalIP", "address": m.address}],
                "nodeInfo": {"kubeletVersion": "v1.34.1", "osImage": f"Talos ({m.talos})", "bootID": "b"}}}
                for m in self.machines.values()]
            return 0, json.dumps({"items": items}), ""
        if args[-3:] == ["-o", "name", "--ignore-not-found"]:
            what = args[:-3]
            if what[:2] == ["get", "namespace"]:
                return 0, f"namespace/{what[2]}\n" if what[2] in self.namespaces else "", ""
            if what[2:4] == ["get", "secret"]:
                return 0, f"secret/{what[4]}\n" if what[4] in self.secrets else "", ""
            if what[2:3] == ["get"] and what[3].startswith("kustomizations"):
                return 0, "kustomization.kustomize.toolkit.fluxcd.io/flux-system\n" if self.flux else "", ""
        if args[:2] == ["create", "namespace"]:
            self.namespaces.add(args[2])
            return 0, f"namespace/{args[2]} created\n", ""
        if args[2:5] == ["create", "secret", "generic"]:
            assert args[6].startswith("--from-file=age.agekey=")
            self.secrets.add(args[5])
            return 0, f"secret/{args[5]} created\n", ""
        if args[:2] == ["apply", "--server-side"]:
            return 0, "customresourcedefinition.apiextensions.k8s.io/gateways.gateway.networking.k8s.io serverside-applied\n", ""
        if args[:1] == ["get"] and args[1].endswith("fluxcd.io"):
            return 0, json.dumps({"items": self._flux_items(args[1])}), ""
        if args[:2] == ["get", "services"]:
            items = [{"metadata": {"namespace": "network", "name": name}, "spec": {"type": "LoadBalancer"},
                      "status": {"loadBalancer": {"ingress": [{"ip": str(lb.address)}]}}}
                     for lb in self.cluster.network.load_balancers
                     for name in [lb.name if lb.name == "k8s-gateway" else f"cilium-gateway-{lb.name}"]]
            return 0, json.dumps({"items": items}), ""
        if args[:2] == ["get", "certificates.cert-manager.io"]:
            status = "True" if self.certificate_ready else "False"
            return 0, json.dumps({"items": [{"metadata": {"namespace": "network", "name": "example-com"},
                                             "status": {"conditions": [{"type": "Ready", "status": status,
                                                                        "reason": "Ready" if status == "True" else "Pending",
                                                                        "message": "waiting for DNS-01"}]}}]}), ""
        return 97, "", f"unexpected kubectl {args}"

    def _flux_items(self, resource: str) -> list[dict]:
        if not self.flux:
            return []
        kind = "Kustomization" if resource.startswith("kustomizations") else "HelmRelease"
        items = []
        if self._order is None:
            self._order = apply_order(self.project)
        for k, namespace, name in self._order:
            if k != kind:
                continue
            ready = name not in self.flux_stuck
            items.append({"kind": kind, "metadata": {"namespace": namespace, "name": name},
                          "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                                     "reason": "Succeeded" if ready else "DependencyNotReady",
                                                     "message": "" if ready else "dependency not ready"}]}})
        return items

    def _helm(self, args: list[str]) -> tuple[int, str, str]:
        if not self._api_up():
            return 1, "", "Error: Kubernetes cluster unreachable\n"
        if args[:1] == ["list"]:
            found = [{"name": "cilium", "namespace": "kube-system", "status": "deployed",
                      "chart": f"cilium-{self.cilium}", "app_version": self.cilium}] if self.cilium else []
            return 0, json.dumps(found), ""
        if args[:2] == ["upgrade", "--install"]:
            assert Path(args[args.index("--values") + 1]).is_file()
            self.cilium = args[args.index("--version") + 1]
            return 0, "Release \"cilium\" has been upgraded. Happy Helming!\n", ""
        return 97, "", f"unexpected helm {args}"
