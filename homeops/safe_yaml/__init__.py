"""The one reader of every YAML file the project reads (cluster.yaml, twin scenario files).

A file may be hostile or simply wrong: whatever it holds, reading it ends with data or with
every problem at once, each as `FILE:LINE:COL: path: message`, and never with a traceback,
a hang or gigabytes of memory. `files` refuses what is not a regular file before it can
block; `compose` bounds the depth and refuses tags; `source` budgets aliases, reports
duplicate and non-text keys, and finds the position of any value.

    from homeops.safe_yaml import read_file
    source = read_file("cluster.yaml", top_keys=("cluster", "nodes"))
    source.data, source.problems, source.position(("nodes", 0, "name"))
"""

from __future__ import annotations

from homeops.lazy import exports

# Lazy, so that importing `Problem` (the cluster's modules do) never loads PyYAML.
_EXPORTS = {
    "DataPath": "homeops.safe_yaml.problems",
    "Problem": "homeops.safe_yaml.problems",
    "dotted": "homeops.safe_yaml.problems",
    "Source": "homeops.safe_yaml.source",
    "read_file": "homeops.safe_yaml.source",
    "read_source": "homeops.safe_yaml.source",
}

__all__ = list(_EXPORTS)

__getattr__ = exports(__name__, _EXPORTS)
