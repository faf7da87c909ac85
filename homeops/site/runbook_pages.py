"""A site page for each runbook notebook: title, purpose, parameters, steps, how to run, drills.

The facts come from `homeops.catalog`; the explanation under each step heading is read from the
notebook with `json` (nbformat costs a second to import). The page is Markdown that the macros
still render, so a runbook's prose may use `{{ cluster... }}` like any other page; the parameter
table is machine-made and is kept out of Jinja's way.
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


def _parameter_table(runbook: Runbook) -> str:
    rows = [(code(p.name), cell(p.type_name), code(p.source), cell(p.help)) for p in runbook.parameters]
    # Defaults and help are data, not templates: a brace in them must not reach Jinja.
    return "{% raw %}\n" + table(("Parameter", "Type", "Default", "Help"), rows) + "\n{% endraw %}"


def _how_to_run(name: str) -> str:
    tabs = [
        ("Plan (changes nothing)", f"homeops run {name}",
         "Prints every change the runbook would make, and checks the gates against the cluster."),
        ("Apply", f"homeops run {name} --apply",
         "Makes the changes; the run holds the maintenance lock and saves a record in `records/`."),
        ("Rehearse against the twin", f"homeops rehearse {name} --scenario FILE",
         "Runs against the simulated cluster, with the faults the scenario file injects."),
    ]
    blocks = []
    for title, command, note in tabs:
        blocks.append(f'=== "{title}"\n\n    ```sh\n    {command}\n    ```\n\n    {note}\n')
    blocks.append("Change a parameter with `-p NAME=VALUE` (repeatable); the value is read as the default's type.")
    return "\n".join(blocks)


def runbook_page(runbook: Runbook, repo_url: str, branch: str = "main") -> str:
    drills = drills_path(runbook.name)
    notebook = f"runbooks/{runbook.path.name}"
    parts = [
        f"# {runbook.title}",
        runbook.purpose,
        (f"Notebook: {_repo_file(repo_url, notebook, branch)} · "
         f"Drills against the twin: {_repo_file(repo_url, drills, branch)}"),
        "## Parameters",
        _parameter_table(runbook) if runbook.parameters else "_This runbook takes no parameters._",
        "## Steps",
    ]
    explanations = step_explanations(runbook.path)
    if not explanations:
        parts.append("_This runbook declares no steps._")
    for heading, body in explanations:
        parts.append(f"### {heading}")
        if body:
            parts.append(body)
    parts += ["## How to run", _how_to_run(runbook.name)]
    return "\n\n".join(parts) + "\n"


def runbook_index(runbooks: list[Runbook], from_page: str) -> str:
    if not runbooks:
        return "_No runbook notebooks in `runbooks/` yet._"
    rows = [
        (f"[{cell(rb.title)}]({link_from(from_page, rb.name)})", code(rb.name), cell(rb.purpose))
        for rb in runbooks
    ]
    return table(("Runbook", "Name", "What it is for"), rows)


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
