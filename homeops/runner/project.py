"""Where a runbook's project is, and so its cluster.yaml, runbooks/ and records/.

A notebook runs wherever its starter put the kernel: Jupyter and nbconvert in the notebook's
own directory (`runbooks/`), papermill and `homeops run` in the caller's, `homeops lab` in a
working copy under `records/`. A relative `config` is therefore looked up, in this order:

1. the working directory and each of its parents (the nearest project above the notebook);
2. `HOMEOPS_PROJECT`, set by `homeops run` and `homeops lab`;
3. the project the `homeops` package itself belongs to (an editable install, as `make setup` makes).

An absolute path is taken as it is.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ENV = "HOMEOPS_PROJECT"
MARKER = "cluster.yaml"


class ConfigNotFound(Exception):
    def __init__(self, config: str, looked_in: list[Path]):
        self.config = config
        self.looked_in = looked_in
        places = ", ".join(str(p) for p in looked_in)
        super().__init__(f"{config} not found (looked in {places})")


def search_bases(cwd: Path | None = None) -> list[Path]:
    """Directories a relative `config` may be relative to, nearest first, without repeats."""
    here = (cwd or Path.cwd()).resolve()
    bases = [here, *here.parents]
    if os.environ.get(PROJECT_ENV):
        bases.append(Path(os.environ[PROJECT_ENV]).expanduser().resolve())
    bases.append(package_project())
    return list(dict.fromkeys(bases))


def package_project() -> Path:
    """The directory holding the `homeops` package (the repository, for an editable install)."""
    return Path(__file__).resolve().parents[2]


def find_config(config: str | os.PathLike, cwd: Path | None = None) -> Path:
    """The absolute path of `config`; ConfigNotFound naming where it was looked for."""
    path = Path(config).expanduser()
    if path.is_absolute():
        if not path.exists():
            raise ConfigNotFound(str(config), [path.parent])
        return path
    bases = search_bases(cwd)
    for base in bases:
        if (base / path).exists():
            return (base / path).resolve()
    # Name the places a person would check, not every parent up to /.
    here = (cwd or Path.cwd()).resolve()
    shown = [here] + [b for b in bases if b not in (here, *here.parents)]
    raise ConfigNotFound(str(config), shown)


def project_of(config: Path) -> Path:
    """The project a cluster.yaml belongs to: its directory."""
    return config.resolve().parent
