"""What a runbook notebook declares about itself: title, purpose, parameters, steps.

Read with `json`, not nbformat: importing nbformat can cost over a second (see the stack
notes), and both the docs build and `homeops runbooks` only need the cell sources.

Conventions a runbook follows:
- the first cell is markdown: `# Title`, then a paragraph that says what it is for;
- one code cell tagged `parameters` holds `name: type = default  # help` lines, the form
  papermill's own inspection (`papermill --help-notebook`) reads: one `=` per line (the help
  says "empty: every node", never "empty = ..."), the type that of the default;
- each later markdown cell that starts with `## ` names a step;
- a runbook that never changes the cluster says so in its notebook metadata:
  `"homeops": {"read_only": true}` (a drill proves it against the twin), and has no `apply`
  parameter (it has no plan or apply mode); every other runbook has one.
"""

from __future__ import annotations

import ast
import io
import json
import tokenize
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Parameter:
    name: str
    default: object
    source: str  # the default as written in the notebook
    help: str

    @property
    def type_name(self) -> str:
        return type(self.default).__name__


@dataclass(frozen=True)
class Runbook:
    name: str
    path: Path
    title: str
    purpose: str
    parameters: tuple[Parameter, ...]
    steps: tuple[str, ...]
    read_only: bool = False

    @property
    def takes_apply(self) -> bool:
        """Whether it has an `apply` parameter: every runbook that may change the cluster, and no other."""
        return any(p.name == "apply" for p in self.parameters)

    def parameter(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(name)


class RunbookMalformed(ValueError):
    """A notebook in runbooks/ does not follow the conventions above."""


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def read_runbook(path: str | Path) -> Runbook:
    path = Path(path)
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunbookMalformed(f"{path}: not a readable notebook: {exc}") from None
    cells = nb.get("cells", [])
    if not cells or cells[0].get("cell_type") != "markdown":
        raise RunbookMalformed(f"{path}: the first cell must be markdown starting with '# Title'")
    intro = _source(cells[0]).strip().splitlines()
    if not intro or not intro[0].startswith("# "):
        raise RunbookMalformed(f"{path}: the first cell must start with '# Title'")
    title = intro[0][2:].strip()
    purpose = " ".join(line.strip() for line in _first_paragraph(intro[1:]))
    params_cells = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(params_cells) != 1:
        raise RunbookMalformed(f"{path}: needs exactly one cell tagged 'parameters', found {len(params_cells)}")
    parameters = _parameters(_source(params_cells[0]), path)
    steps = tuple(
        _source(c).strip().splitlines()[0][3:].strip()
        for c in cells[1:]
        if c.get("cell_type") == "markdown" and _source(c).lstrip().startswith("## ")
    )
    declared = nb.get("metadata", {}).get("homeops", {})
    read_only = isinstance(declared, dict) and declared.get("read_only") is True
    return Runbook(path.stem, path, title, purpose, parameters, steps, read_only)


def _first_paragraph(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if not line.strip():
            if out:
                break
            continue
        out.append(line)
    return out


def _parameters(source: str, path: Path) -> tuple[Parameter, ...]:
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise RunbookMalformed(f"{path}: parameters cell line {exc.lineno}: {exc.msg}") from None
    comments = {
        tok.start[0]: tok.string.lstrip("#").strip()
        for tok in tokenize.generate_tokens(io.StringIO(source).readline)
        if tok.type == tokenize.COMMENT
    }
    params = []
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name, value, annotation = node.target.id, node.value, ast.get_source_segment(source, node.annotation)
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, value, annotation = node.targets[0].id, node.value, None
        else:
            raise RunbookMalformed(
                f"{path}: parameters cell line {node.lineno}: only `name: type = value  # help` lines")
        try:
            default = ast.literal_eval(value)
        except ValueError:
            raise RunbookMalformed(f"{path}: parameter {name}: the default must be a literal") from None
        if annotation is not None and annotation != type(default).__name__:
            raise RunbookMalformed(f"{path}: parameter {name}: declared {annotation} but its default "
                                   f"{ast.get_source_segment(source, value)} is a {type(default).__name__}")
        help_text = comments.get(node.lineno, "")
        if source.splitlines()[node.lineno - 1].count("=") > 1:
            raise RunbookMalformed(f"{path}: parameter {name}: one '=' per line, none in the help "
                                   "(papermill cannot read such a line)")
        params.append(Parameter(name, default, ast.get_source_segment(source, value) or repr(default), help_text))
    return tuple(params)


def list_runbooks(directory: str | Path = "runbooks") -> list[Runbook]:
    return [read_runbook(p) for p in sorted(Path(directory).glob("*.ipynb"))]
