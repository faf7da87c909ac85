"""What cluster-shutdown changed, written into its record so that cluster-startup undoes exactly that.

The one place this block is written and read. cluster-shutdown prints it after every change
(`cluster-shutdown state: {JSON}` on a line of its own), so even a run that stopped half way leaves
in its record what it had suspended and set; cluster-startup reads the last block of the last
apply record of cluster-shutdown (`last_shutdown`), unless a cluster-startup run completed after
it (the shutdown is then undone, and startup works from what it sees).

The block holds:
- `suspended`: the Flux objects this shutdown suspended ("Kind namespace/name"): startup resumes
  these and only these;
- `already_suspended`: those someone had suspended before: startup leaves them suspended;
- `flags_set`: the Ceph flags this shutdown set; `flags_before`: those already set, left alone;
- `operator_replicas`: the Rook operator's replicas before it was scaled to 0 (None: not read);
- `shut_down`: the nodes a `talosctl shutdown` was sent to, in order;
- `lock`: how the maintenance Lease ended (released before the control planes went down).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from homeops.runner import records
from homeops.tools.shapes import FluxObject

MARKER = "cluster-shutdown state: "
SHUTDOWN, STARTUP = "cluster-shutdown", "cluster-startup"


# A stop names this many Flux objects, then counts the rest: all 24 of a cluster made one paragraph of the stop.
NAMED_IN_A_STOP = 3


def few(names: list[str], where: str) -> str:
    """`names` as a stop says them: every one up to NAMED_IN_A_STOP, else the first ones, how many more and
    `where` each is listed."""
    if len(names) <= NAMED_IN_A_STOP + 1:
        return ", ".join(names)
    return (f"{', '.join(names[:NAMED_IN_A_STOP])} and {len(names) - NAMED_IN_A_STOP} more "
            f"({len(names)} in all, each named in {where})")


def key(obj: FluxObject) -> str:
    """How a Flux object is named in the block: `Kustomization flux-system/apps`."""
    return f"{obj.kind} {obj.namespace}/{obj.name}"


@dataclass
class PowerDown:
    suspended: list[str] = field(default_factory=list)
    already_suspended: list[str] = field(default_factory=list)
    flags_set: list[str] = field(default_factory=list)
    flags_before: list[str] = field(default_factory=list)
    operator_replicas: int | None = None
    shut_down: list[str] = field(default_factory=list)
    lock: str = "held"

    def line(self) -> str:
        return MARKER + json.dumps(asdict(self), sort_keys=True)

    def summary(self) -> str:
        """The block in a few words, for the folded form JupyterLab shows (the line itself unfolds)."""
        return (f"cluster-shutdown state, kept for cluster-startup: {len(self.suspended)} Flux object(s) suspended; "
                f"flags set: {', '.join(self.flags_set) or 'none'}; shut down: {', '.join(self.shut_down) or 'none'}; "
                f"lock: {self.lock}")

    @classmethod
    def parse(cls, data: object) -> "PowerDown | None":
        """The block from its JSON value; None when it is not one (a record edited by hand, another version)."""
        if not isinstance(data, dict):
            return None
        lists = ("suspended", "already_suspended", "flags_set", "flags_before", "shut_down")
        if any(not isinstance(data.get(k, []), list) or not all(isinstance(v, str) for v in data.get(k, []))
               for k in lists):
            return None
        replicas = data.get("operator_replicas")
        if replicas is not None and (not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0):
            return None
        return cls(**{k: list(data.get(k, [])) for k in lists}, operator_replicas=replicas,
                   lock=str(data.get("lock", "held")))


def from_notebook(notebook: dict | None) -> PowerDown | None:
    """The last block a record's outputs hold (the state after its last change), or None."""
    found = None
    for cell in (notebook or {}).get("cells") or []:
        if not isinstance(cell, dict):
            continue
        for output in cell.get("outputs") or []:
            if not isinstance(output, dict):
                continue
            if output.get("output_type") == "stream":
                text = output.get("text", "")
            elif output.get("output_type") == "display_data" and isinstance(output.get("data"), dict):
                # The block as JupyterLab shows it, folded (power_down.flush): its text is the line.
                text = output["data"].get("text/plain", "")
            else:
                continue
            for line in ("".join(text) if isinstance(text, list) else str(text)).splitlines():
                at = line.find(MARKER)
                if at < 0:
                    continue
                try:
                    parsed = PowerDown.parse(json.loads(line[at + len(MARKER):]))
                except ValueError:
                    continue
                found = parsed or found
    return found


@dataclass(frozen=True)
class LastShutdown:
    path: Path
    status: dict
    state: PowerDown

    def describe(self) -> str:
        return (f"{self.path.name} (cluster-shutdown {records.judged_outcome(self.status)}, "
                f"started {self.status.get('started')})")


def records_directory(session) -> Path | None:
    """Where this run's records are: beside its own record, else the project's records/."""
    guard = getattr(session, "guard", None)
    if guard is not None:
        return Path(guard.record_path).parent
    from homeops.runner.guard import RECORDS_ENV

    if os.environ.get(RECORDS_ENV):
        return Path(os.environ[RECORDS_ENV])
    return session.project / "records" if session.project is not None else None


def _apply_runs(directory: Path, runbook: str, twin: bool, besides: Path | None) -> list[tuple[str, Path, dict, dict]]:
    found = []
    for path in sorted(directory.glob(f"*-{runbook}*.ipynb")) if directory.is_dir() else []:
        if besides is not None and path.resolve() == besides.resolve():
            continue
        notebook = records.read_record(path)
        status = records.status_of(notebook)
        if not status or status.get("runbook") != runbook or status.get("mode") != "apply":
            continue
        if bool(status.get("twin")) != twin:
            continue
        found.append((str(status.get("started") or ""), path, status, notebook))
    found.sort(key=lambda item: (item[0], item[1].name))
    return found


def last_shutdown(directory: Path | None, *, twin: bool, besides: Path | None = None) -> LastShutdown | None:
    """The last apply run of cluster-shutdown (against the twin or the cluster, as `twin` says) whose
    changes no completed cluster-startup has undone since; None when there is none."""
    if directory is None:
        return None
    shutdowns = [run for run in _apply_runs(directory, SHUTDOWN, twin, besides) if from_notebook(run[3])]
    if not shutdowns:
        return None
    started, path, status, notebook = shutdowns[-1]
    # The reader's own record, still running, is never a completed startup: no need to leave it out.
    undone = [run for run in _apply_runs(directory, STARTUP, twin, None)
              if run[0] >= started and run[2].get("outcome") == "completed"]
    if undone:
        return None
    return LastShutdown(path, status, from_notebook(notebook))
