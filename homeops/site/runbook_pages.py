"""A site page for each runbook notebook: what to do first, then its steps and parameters.

The facts come from `homeops.catalog`; the explanation under each step heading is read from the
notebook with `json` (nbformat costs a second to import). The page is Markdown that the macros
still render, so a runbook's prose may use `{{ cluster... }}` like any other page; the parameter
table is machine-made and is kept out of Jinja's way. What the reader is told to do depends on
what the runbook declares: a read-only runbook is simply run, a changing one is planned first.
The test files that drill each runbook are listed for developers (`runbook_drills`, on the
contributing page), not on the reader's page.
"""

from __future__ import annotations

import json
import posixpath
from pathlib import Path

from homeops.catalog import Runbook
from homeops.site.markdown import cell, code, table

RUNBOOK_PAGES_DIR = "runbooks"  # inside the site's docs tree


def page_path(name: str) -> str:
    """Where the runbook's page lives in the docs tree (a generated file, not on disk)."""
    return f"{RUNBOOK_PAGES_DIR}/{name}.md"


def drills_path(name: str) -> str:
    """The test file that drills the runbook against the twin (convention shared with the runbooks)."""
    return f"tests/runbooks/test_{name.replace('-', '_')}.py"


def link_from(page_src_path: str, name: str) -> str:
    """A relative Markdown link target from a page (its docs-relative path) to a runbook's page."""
    return posixpath.relpath(page_path(name), posixpath.dirname(page_src_path) or ".")


def repo_file_url(repo_url: str, path: str, branch: str = "main") -> str:
    return f"{repo_url.rstrip('/')}/blob/{branch}/{path}"


def _repo_file(repo_url: str, path: str, branch: str) -> str:
    """A link to the file on the repository's host, or just its path while cluster.yaml names no repository."""
    return f"[{code(path)}]({repo_file_url(repo_url, path, branch)})" if repo_url else code(path)


def _cell_source(cell_json: dict) -> str:
    source = cell_json.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def step_explanations(notebook: Path) -> list[tuple[str, str]]:
    """(step heading, the Markdown under it) for every `## ` markdown cell, in order."""
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    steps = []
    for c in cells[1:]:
        text = _cell_source(c).strip()
        if c.get("cell_type") == "markdown" and text.startswith("## "):
            heading, _, body = text.partition("\n")
            steps.append((heading[3:].strip(), body.strip()))
    return steps


def _shown_parameters(runbook: Runbook) -> list:
    # `apply` chooses between plan and apply; a read-only runbook has nothing to apply.
    return [p for p in runbook.parameters if not (runbook.read_only and p.name == "apply")]


def _parameter_table(runbook: Runbook) -> str:
    rows = [(code(p.name), cell(p.type_name), code(p.source), cell(p.help)) for p in _shown_parameters(runbook)]
    # Defaults and help are data, not templates: a brace in them must not reach Jinja.
    return "{% raw %}\n" + table(("Parameter", "Type", "Default", "Help"), rows) + "\n{% endraw %}"


def _command(command: str, indent: str = "") -> str:
    return "\n".join(f"{indent}{line}" if line else "" for line in ("```sh", command, "```"))


LOG_PAGE = "operations/maintenance-log.md"


def _what_to_do(runbook: Runbook) -> list[str]:
    """The reader's next action, first on the page, in the words that fit what the runbook does."""
    name = runbook.name
    log = posixpath.relpath(LOG_PAGE, posixpath.dirname(page_path(name)))
    if runbook.read_only:
        return [
            "## What to do",
            "Run it: it only reads the cluster and changes nothing, so there is no plan to check first"
            " and no lock to take. Run it at any time, and after any maintenance.",
            _command(f"homeops run {name}"),
            f"Exit code 0 means every check passed; 1 means at least one failed, and the last line names"
            f" each failure. The run is saved in the [maintenance log]({log}).",
            f"To see what it reports when something is broken, run it against the digital twin with a"
            f" fault: `homeops rehearse {name} --scenario runbooks/scenarios/ceph-degraded.yaml`.",
        ]
    return [
        "## What to do",
        "1. **Plan** (changes nothing): reads the cluster, checks every gate and prints each change the"
        " runbook would make.\n\n" + _command(f"homeops run {name}", "    "),
        "2. **Rehearse** if you want to see it fail safely: the same run against the digital twin, with"
        " the faults a scenario file injects.\n\n" + _command(f"homeops rehearse {name} --scenario FILE", "    "),
        "3. **Apply**: makes the changes, holding the maintenance lock so that no other run interferes.\n\n"
        + _command(f"homeops run {name} --apply", "    "),
        f"If it stops, its last line says where and what it left in place. Every run is saved in the"
        f" [maintenance log]({log}).",
    ]


def runbook_page(runbook: Runbook, repo_url: str, branch: str = "main") -> str:
    notebook = f"runbooks/{runbook.path.name}"
    parts = [f"# {runbook.title}", runbook.purpose, *_what_to_do(runbook), "## Steps"]
    explanations = step_explanations(runbook.path)
    if not explanations:
        parts.append("_This runbook declares no steps._")
    for heading, body in explanations:
        parts.append(f"### {heading}")
        if body:
            parts.append(body)
    parts += [
        "## Parameters",
        _parameter_table(runbook) if _shown_parameters(runbook) else "_This runbook takes no parameters._",
        "Change one with `-p NAME=VALUE` (repeatable); the value is read as the default's type.",
    ]
    if repo_url:
        parts.append(f"The runbook is the notebook [{code(notebook)}]({repo_file_url(repo_url, notebook, branch)}).")
    return "\n\n".join(parts) + "\n"


def runbook_drills(runbooks: list[Runbook], repo_url: str, branch: str = "main") -> str:
    """For developers: each runbook's notebook and the test file that drills it against the twin."""
    if not runbooks:
        return "_No runbook notebooks in `runbooks/` yet._"
    rows = []
    for rb in runbooks:
        notebook, drills = f"runbooks/{rb.path.name}", drills_path(rb.name)
        if repo_url:
            rows.append((cell(rb.name), f"[{code(notebook)}]({repo_file_url(repo_url, notebook, branch)})",
                         f"[{code(drills)}]({repo_file_url(repo_url, drills, branch)})"))
        else:
            rows.append((cell(rb.name), code(notebook), code(drills)))
    return table(("Runbook", "Notebook", "Drills against the twin"), rows)


def runbook_index(runbooks: list[Runbook], from_page: str) -> str:
    if not runbooks:
        return "_No runbook notebooks in `runbooks/` yet._"
    rows = [
        (f"[{cell(rb.title)}]({link_from(from_page, rb.name)})", code(rb.name),
         "read-only: just run it" if rb.read_only else "changes the cluster: plan first", cell(rb.purpose))
        for rb in runbooks
    ]
    return table(("Runbook", "Name", "Kind", "What it is for"), rows)


def runbook_link(runbook: Runbook | None, name: str, from_page: str, text: str | None = None) -> str:
    """A link to a runbook's page; while the notebook does not exist, a visible note says so instead."""
    if runbook is None:
        return f"_(the {code(name)} runbook is not in `runbooks/` yet)_"
    return f"[{cell(text or runbook.title)}]({link_from(from_page, name)})"


NAV_SECTION = "Operations"
NAV_SUBSECTION = "Runbooks"


def nav_with_runbooks(nav: list, runbooks: list[Runbook]) -> list:
    """The configured nav with a Runbooks entry (one page per notebook) inside its Operations section."""
    if not runbooks:
        return nav
    entry = {NAV_SUBSECTION: [{rb.title: page_path(rb.name)} for rb in runbooks]}
    result = []
    placed = False
    for item in nav:
        if isinstance(item, dict) and NAV_SECTION in item and isinstance(item[NAV_SECTION], list):
            item = {NAV_SECTION: [*item[NAV_SECTION], entry]}
            placed = True
        result.append(item)
    return result if placed else [*result, entry]
