"""Runbooks in JupyterLab as an operator runs them: `homeops lab NAME --twin DIR` on 127.0.0.1,
Debian's Chromium through Playwright, Run > Run All Cells, and what the page then shows.

The twin's cluster.yaml renames the nodes (`lab-cp-1`, `lab-worker-1`...), so a name on the page can
only have come from that file and the twin made from it. Waits are on the page's state (the kernel
Idle in the status bar, every code cell numbered), never on time.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from tests.chromium import chromium

from homeops import load_cluster
from homeops.procedures.power_state import MARKER
from tests.runbooks.lab_server import Lab, running_lab
from tests.runbooks.power_drills import power_on, raw, suspended

if TYPE_CHECKING:
    from tests.runbooks.conftest import Drill

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
# How tests/docs/test_browser.py launches Debian's Chromium.
TIMEOUT_MS = 30_000  # one page action (a click, a menu) in a JupyterLab under load
KERNEL_TIMEOUT_MS = 180_000  # the notebook's kernel started and Idle
RUN_TIMEOUT_MS = 300_000  # every cell run: the runbook reads the twin through its fake tools
OLD, NEW = "v1.11.0", "v1.11.1"  # the twin runs OLD Talos, cluster.yaml says NEW: drift, and work to plan
CEPH = "kubectl -n rook-ceph exec deploy/rook-ceph-tools -- ceph"  # the Rook toolbox
TRACEBACK_MARKS = ("Traceback (most recent call last)", "Cell In[", "---->")


def renamed_nodes(text: str) -> str:
    return text.replace("name: cp-", "name: lab-cp-").replace("name: worker-", "name: lab-worker-")


@pytest.fixture
def drill(make_drill):
    return make_drill({"talos_version": OLD, "reboot_seconds": 0.3}, edit=renamed_nodes)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium(TIMEOUT_MS * 4) as launched:
        yield launched


@dataclass
class Notebook:
    """One notebook open in the lab, in a browser page that may reach 127.0.0.1 only."""

    page: object
    lab: Lab
    name: str
    outside_requests: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def lab_default(self, plugin: str, setting: str):
        """A JupyterLab setting's default in this lab, checked not to be set by the (test's empty) user settings."""
        served = self.lab.get(f"lab/api/settings/{plugin}")
        assert setting not in served["settings"], served["settings"]
        return served["schema"]["properties"][setting]["default"]

    def kernel_name(self) -> str:
        return json.loads((self.lab.copy / f"{self.name}.ipynb").read_text())["metadata"]["kernelspec"]["name"]

    def kernel_display_name(self) -> str:
        """The display name of the kernel the notebook asks for, as the lab's server knows it."""
        wanted = self.kernel_name()
        specs = self.lab.get("api/kernelspecs")
        assert wanted in specs["kernelspecs"], f"the server has no kernel {wanted!r}: {sorted(specs['kernelspecs'])}"
        return specs["kernelspecs"][wanted]["spec"]["display_name"]

    def wait_for_kernel(self) -> str:
        """Wait until the notebook's own kernel is up and idle; the status bar's text then."""
        idle = f"{self.kernel_display_name()} | Idle"
        # The execution indicator says "idle" while there is still "No Kernel | Initializing": the
        # status bar's kernel item is the one that names a kernel that has started.
        self.page.locator("#jp-main-statusbar").get_by_text(idle, exact=True).wait_for(timeout=KERNEL_TIMEOUT_MS)
        return idle

    def run_all_cells(self, again: bool = False) -> None:
        """Run > Run All Cells once the kernel is up, and wait until every code cell has run
        (`again`: in a kernel that ran them before, until the last cell's number has moved on)."""
        page = self.page
        idle = self.wait_for_kernel()
        last = page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").last.inner_text().strip() if again else ""
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.locator("li[data-command='runmenu:run-all']").click()
        page.wait_for_function("""([idle, before]) => {
            const cells = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')];
            const prompt = cell => cell.querySelector('.jp-InputPrompt').textContent.trim();
            const numbered = cell => /^\\[\\d+\\]:$/.test(prompt(cell));
            const status = [...document.querySelectorAll('#jp-main-statusbar .jp-StatusBar-TextItem')];
            return cells.length > 0 && cells.every(numbered) && prompt(cells[cells.length - 1]) !== before
                && cells[cells.length - 1].querySelector('.jp-OutputArea-output') !== null
                && status.some(item => item.textContent === idle);
        }""", arg=[idle, last], timeout=RUN_TIMEOUT_MS)
        assert page.locator(".jp-Dialog").count() == 0, page.locator(".jp-Dialog").inner_text()

    def outputs(self) -> list[list[dict]]:
        """Per code cell, its rendered outputs: MIME type and text."""
        return self.page.locator(".jp-Notebook .jp-CodeCell").evaluate_all("""cells => cells.map(cell =>
            [...cell.querySelectorAll('.jp-OutputArea-output')].map(out =>
                ({mime: out.dataset.mimeType, text: out.textContent})))""")

    def status_table(self, nth: int = 0) -> list[dict]:
        """The rows of the nth HTML check table: each cell's text, the row's class, the status cell's colour."""
        table = self.page.locator(".jp-OutputArea-output[data-mime-type='text/html'] table.homeops-checks").nth(nth)
        table.scroll_into_view_if_needed()
        return table.evaluate("""table => {
            const header = [...table.querySelectorAll('thead th')].map(th => th.textContent);
            const at = header.indexOf('status');
            return [...table.querySelectorAll('tbody tr')].map(tr => {
                const cells = [...tr.querySelectorAll('td')];
                return {cells: cells.map(td => td.textContent), status: cells[at].textContent,
                        rowClass: tr.className, colour: getComputedStyle(cells[at]).color};
            });
        }""")

    def assert_no_traceback(self) -> None:
        for number, outputs in enumerate(self.outputs(), start=1):
            for output in outputs:
                assert not any(mark in output["text"] for mark in TRACEBACK_MARKS), \
                    f"a traceback in code cell {number}: {output['text']}"

    def assert_local_only(self) -> None:
        assert self.outside_requests == [], "the lab reached outside 127.0.0.1"
        assert self.page_errors == [], "uncaught errors in the lab's page"

    def screenshot(self) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"lab-{self.name}.png"))


@pytest.fixture
def open_notebook(browser, tmp_path: Path) -> Iterator[Callable[[Drill, str], Notebook]]:
    """open_notebook(drill, name): `homeops lab NAME` over the drill's twin, its page open in Chromium.

    Leaving the test, pass or fail, saves the page as the test left it (test-artifacts/screenshots/
    lab-NAME.png), closes it and stops the lab (its whole process group); then the committed
    runbooks/ must be byte for byte what they were before the lab started.
    """
    committed = runbook_digests()
    with ExitStack() as cleanup:
        def open_(drill: Drill, name: str) -> Notebook:
            lab = cleanup.enter_context(running_lab(drill.config, name, drill.twin, drill.records,
                                                    tmp_path / f"jupyter-{name}"))
            assert urlsplit(lab.url).hostname == "127.0.0.1", lab.url
            context = browser.new_context(color_scheme="light", viewport={"width": 1400, "height": 1000})
            cleanup.callback(context.close)
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            notebook = Notebook(page, lab, name)
            cleanup.callback(notebook.screenshot)  # before the page closes: callbacks run last in, first out
            page.on("pageerror", lambda exc: notebook.page_errors.append(str(exc)))

            def only_local(route):
                if urlsplit(route.request.url).hostname == "127.0.0.1":
                    route.continue_()
                else:  # no network in tests, and the lab must not need any
                    notebook.outside_requests.append(route.request.url)
                    route.abort()

            page.route("**/*", only_local)
            page.goto(lab.url)
            return notebook

        yield open_
    assert runbook_digests() == committed, "a JupyterLab session changed the committed runbooks/"


def runbook_digests() -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((ROOT / "runbooks").glob("*.ipynb"))}


def test_cluster_health_shows_its_checks_as_a_coloured_table_and_stops_on_drift_without_a_traceback(
        drill, open_notebook):
    cluster = load_cluster(drill.config)
    before = drill.state()
    assert sorted(before.nodes) == sorted(n.name for n in cluster.nodes)  # the twin of the renamed file

    notebook = open_notebook(drill, "cluster-health")
    notebook.run_all_cells()

    rows = notebook.status_table()  # scrolled into view, for the screenshot
    # The last cell stops the run: its message (no traceback), then where the run's record went.
    stop, closing = notebook.outputs()[-1]
    assert stop["mime"] == "application/vnd.jupyter.stderr" and closing["mime"] == "application/vnd.jupyter.stdout"
    stopped = re.fullmatch(r"stopped: (\d+) of (\d+) checks failed: (.*)", stop["text"].strip(), re.S)
    assert stopped, stop["text"]
    failed, total, named = int(stopped[1]), int(stopped[2]), stopped[3]
    record = Path(closing["text"].strip().split(" — record: ", 1)[1])
    assert record.parent == drill.records.resolve() and record.is_file()  # beside the working copy, not in it

    # One row per check, each check once; the failed ones are those the verdict names.
    checks = [row["cells"][0] for row in rows]
    assert len(rows) == total and len(set(checks)) == total, checks
    fails = [row for row in rows if row["status"] == "FAIL"]
    assert len(fails) == failed and all(f"{row['cells'][0]}: {row['cells'][2]}" in named for row in fails)
    # Each status its own class and colour: ok, the 2-member etcd's warning, the drift's failures.
    colours: dict[str, set[str]] = {}
    for row in rows:
        assert row["rowClass"] == f"homeops-status-{row['status']}", row
        colours.setdefault(row["status"], set()).add(row["colour"])
    assert set(colours) == {"ok", "warn", "FAIL"}, colours
    assert all(len(shades) == 1 for shades in colours.values()), colours
    assert len(set.union(*colours.values())) == 3, colours

    # The drift is named node by node, with the names of the renamed cluster.yaml.
    talos = next(row["cells"][2] for row in rows if row["cells"][0] == "Talos versions")
    assert talos == "; ".join(f"{node.name} runs Talos {OLD}, cluster.yaml says {NEW}" for node in cluster.nodes)
    etcd = next(row["cells"][2] for row in rows if row["cells"][0] == "etcd members")
    assert etcd == "2 members: " + ", ".join(n.name for n in cluster.nodes if n.role == "control-plane")

    notebook.assert_no_traceback()
    notebook.assert_local_only()
    assert drill.state() == before  # a health check changes nothing


def test_the_lab_starts_the_notebooks_kernel_by_itself_and_offers_no_news(drill, open_notebook):
    """What keeps a "Select Kernel" dialog and the news prompt off an operator's notebook.

    A Run All pressed before the notebook has asked for its kernel finds "No Kernel"; JupyterLab then
    starts the server's default kernel only with `autoStartDefaultKernel`, and asks otherwise.
    """
    notebook = open_notebook(drill, "flux-reconcile")
    # Defaults as the server hands them to the page (the schema's), the user's own settings empty.
    assert notebook.lab_default("@jupyterlab/notebook-extension:tracker", "autoStartDefaultKernel") is True
    assert notebook.lab.get("api/kernelspecs")["default"] == notebook.kernel_name()  # the one it would start
    assert notebook.lab_default("@jupyterlab/apputils-extension:notification", "fetchNews") == "false"

    notebook.wait_for_kernel()  # started with no click
    assert notebook.page.locator(".jp-Dialog").count() == 0
    assert notebook.page.get_by_text("official Jupyter news").count() == 0
    notebook.assert_local_only()


def test_worker_upgrade_plan_shows_its_gates_and_every_change_and_changes_nothing(drill, open_notebook):
    cluster = load_cluster(drill.config)
    workers = [n for n in cluster.nodes if n.role == "worker"]
    before = drill.snapshot()

    notebook = open_notebook(drill, "worker-upgrade")
    notebook.run_all_cells()

    gates = notebook.status_table()
    assert gates and {row["status"] for row in gates} == {"ok"}, gates
    assert all(row["rowClass"] == "homeops-status-ok" for row in gates)
    outputs = [o for cell in notebook.outputs() for o in cell]
    printed = "\n".join(o["text"] for o in outputs if o["mime"] == "application/vnd.jupyter.stdout")
    # The plan is HTML (the command as code, the reason beside it), its text the CLI's line.
    assert not [line for line in printed.splitlines() if line.startswith("PLAN: ")], "plan lines printed as text"
    plan = [o["text"].split("PLAN: ", 1)[1].split("  # ", 1)[0]  # the command, without the note on why
            for o in outputs if o["mime"] == "text/html" and o["text"].startswith("PLAN: ")]
    # Every change for every worker of cluster.yaml, one worker after the other in its order.
    changes = [line for line in plan if not line.startswith("would wait for ")]
    image = cluster.installer_image(NEW)
    expected = []
    for worker in workers:
        expected += [f"{CEPH} osd set-group noout {worker.name}", f"kubectl cordon {worker.name}",
                     f"kubectl drain {worker.name} --ignore-daemonsets --delete-emptydir-data",
                     f"talosctl -n {worker.address} upgrade -i {image}", f"kubectl uncordon {worker.name}",
                     f"{CEPH} osd unset-group noout {worker.name}"]
    assert len(changes) == len(expected) and all(c.startswith(e) for c, e in zip(changes, expected)), changes
    names = ", ".join(w.name for w in workers)
    assert f"would upgrade {names} to Talos {NEW}" in printed
    shown = notebook.page.locator(".jp-OutputArea-output[data-mime-type='text/html'] .homeops-plan",
                                  has_text=f"PLAN: kubectl cordon {workers[-1].name}")
    shown.scroll_into_view_if_needed()
    assert shown.is_visible()
    assert shown.locator("code").inner_text() == f"kubectl cordon {workers[-1].name}"

    notebook.assert_no_traceback()
    notebook.assert_local_only()
    assert drill.snapshot() == before  # plan mode: no cordon, no reboot, no version changed
    assert drill.osd_dump().host_flags == {}


def test_plan_then_apply_in_one_kernel_is_two_runs_each_with_its_own_record_and_lock(drill, open_notebook):
    """The JupyterLab flow: Run All (plan), set apply = True in the parameters cell, Run All again."""
    cluster = load_cluster(drill.config)
    workers = [n.name for n in cluster.nodes if n.role == "worker"]
    notebook = open_notebook(drill, "worker-upgrade")
    notebook.run_all_cells()
    plan_closing = notebook.outputs()[-1][-1]["text"].strip().splitlines()[-1]
    assert plan_closing.startswith("completed: worker-upgrade (plan) — record: "), plan_closing

    parameters = notebook.page.locator(".jp-Notebook .jp-CodeCell").first
    parameters.scroll_into_view_if_needed()  # the lab renders only the cells in view
    editor = parameters.locator(".cm-content")
    editor.get_by_text("apply: bool = False").wait_for()
    # Each CodeMirror line is one .cm-line; their text, not the editor's rendered inner text, which a
    # loaded machine catches mid-layout as empty.
    source = "\n".join(editor.locator(".cm-line").all_text_contents())
    assert "apply: bool = False" in source
    editor.click()
    notebook.page.keyboard.press("Control+a")
    notebook.page.keyboard.insert_text(source.replace("apply: bool = False", "apply: bool = True")
                                       .replace("poll_interval: float = 10.0", "poll_interval: float = 0.2"))
    notebook.run_all_cells(again=True)

    outputs = notebook.outputs()
    step_1 = "\n".join(o["text"] for o in outputs[1])
    assert "maintenance lock taken" in step_1 and "completed" not in step_1  # Step 1 opens the run, no more
    closing = outputs[-1][-1]["text"].strip().splitlines()[-1]
    assert closing.startswith("completed: worker-upgrade (apply) — record: "), closing
    notebook.assert_no_traceback()
    notebook.assert_local_only()

    nodes = drill.nodes()
    assert {nodes[w].talos_version for w in workers} == {NEW}
    assert not any(n.unschedulable for n in nodes.values())
    assert drill.osd_dump().host_flags == {} and not drill.osd_dump().maintenance_flags
    assert drill.state().leases == {}
    plan, apply = [json.loads(p.read_text()) for p in sorted(drill.records.glob("*-worker-upgrade.ipynb"))]
    assert Path(closing.split(" — record: ", 1)[1]).name == sorted(drill.records.glob("*-worker-upgrade.ipynb"))[1].name
    for record, mode in ((plan, "plan"), (apply, "apply")):
        status = record["metadata"]["homeops"]
        assert (status["mode"], status["outcome"]) == (mode, "completed"), status
        ran = [c for c in record["cells"] if c["cell_type"] == "code" and c["execution_count"] is not None]
        assert len(ran) == 5, "each record holds its own run's cells, once"
    assert "apply: bool = True" in "".join(apply["cells"][1]["source"])


def test_cluster_shutdown_plans_then_shuts_down_with_its_state_folded_and_startup_undoes_it(make_drill, open_notebook):
    """The power-cut drill in JupyterLab: Run All shows the plan (workers first, then each control plane through
    itself); with apply = True every node goes off, and the state block kept for cluster-startup shows as one
    folded line after each step (unfolded it was a wall of JSON between the steps' lines); cluster-startup then
    reads it from the record the lab wrote."""
    drill = make_drill({"reboot_seconds": 0.3}, edit=renamed_nodes)
    cluster = load_cluster(drill.config)
    workers = [n for n in cluster.nodes if n.role == "worker"]
    planes = [n for n in cluster.nodes if n.role == "control-plane"]
    notebook = open_notebook(drill, "cluster-shutdown")
    notebook.run_all_cells()

    outputs = [o for cell in notebook.outputs() for o in cell]
    plan = [o["text"].split("PLAN: ", 1)[1].split("  # ", 1)[0]
            for o in outputs if o["mime"] == "text/html" and o["text"].startswith("PLAN: ")]
    shutdowns = [line for line in plan if " shutdown --force " in line]
    assert shutdowns == [f"talosctl -n {','.join(str(w.address) for w in workers)} shutdown --force --timeout 900s",
                         *(f"talosctl -n {p.address} -e {p.address} shutdown --force --timeout 900s" for p in planes)]
    assert f"would wait for the workers off ({', '.join(w.name for w in workers)}) (up to 900s)" in plan
    assert notebook.outputs()[-1][-1]["text"].strip().splitlines()[-1].startswith(
        "completed: cluster-shutdown (plan) — record: ")
    assert not any(n.get("off") for n in raw(drill)["nodes"])

    parameters = notebook.page.locator(".jp-Notebook .jp-CodeCell").first
    parameters.scroll_into_view_if_needed()
    editor = parameters.locator(".cm-content")
    editor.get_by_text("apply: bool = False").wait_for()
    source = "\n".join(editor.locator(".cm-line").all_text_contents())
    editor.click()
    notebook.page.keyboard.press("Control+a")
    notebook.page.keyboard.insert_text(source.replace("apply: bool = False", "apply: bool = True")
                                       .replace("poll_interval: float = 10.0", "poll_interval: float = 0.2"))
    notebook.run_all_cells(again=True)

    outputs = notebook.outputs()
    closing = outputs[-1][-1]["text"].strip().splitlines()
    assert closing[-2] == "cluster-shutdown: every node is off; power them on, then run cluster-startup"
    assert closing[-1].startswith("completed: cluster-shutdown (apply) — record: ")
    printed = "\n".join(o["text"] for cell in outputs for o in cell if o["mime"] == "application/vnd.jupyter.stdout")
    assert MARKER not in printed  # no JSON wall among the steps' lines
    folded = notebook.page.locator(".jp-OutputArea-output details.homeops-folded")
    assert folded.count() >= 4  # after each step that changed something
    last = folded.last
    last.scroll_into_view_if_needed()
    summary = last.locator("summary").inner_text()
    assert summary.startswith("cluster-shutdown state, kept for cluster-startup: ") and \
        f"shut down: {', '.join(n.name for n in workers + planes)}" in summary
    assert not last.locator("pre").is_visible()  # folded until clicked
    last.locator("summary").click()
    assert last.locator("pre").inner_text().startswith(MARKER)
    notebook.assert_no_traceback()
    notebook.assert_local_only()
    assert all(n.get("off") for n in raw(drill)["nodes"])

    power_on(drill)
    started = drill.run("cluster-startup", apply=True)  # reads the block from the record the lab wrote
    assert started.code == 0, started.stdout + started.stderr
    assert "undoing " in started.stdout and "flags it set: noout, norebalance, nobackfill" in started.stdout
    assert drill.state().ceph_flags.maintenance_flags == frozenset() and suspended(drill) == set()
