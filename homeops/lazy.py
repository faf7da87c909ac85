"""Names a package exports without importing their modules until one is asked for.

The twin's fake tools import `homeops.twin` (and so `homeops`) on every call, and the cluster's
modules import `Problem` through `homeops.safe_yaml`: none of them may pay for pydantic or PyYAML
because a package's `__init__` names a class that needs them. Standard library only, for that reason.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping


def exports(package: str, names: Mapping[str, str]) -> Callable[[str], object]:
    """A module `__getattr__` for `package` resolving each of `names` (name -> module) on first use.

        _EXPORTS = {"load_cluster": "homeops.cluster.loader"}
        __all__ = list(_EXPORTS)
        __getattr__ = exports(__name__, _EXPORTS)
    """

    def __getattr__(name: str) -> object:
        if name in names:
            return getattr(importlib.import_module(names[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
