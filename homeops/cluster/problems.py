"""Problems found in cluster.yaml, and the error that carries them.

`Problem` is the one problem type of every YAML file the project reads (homeops.safe_yaml);
it is re-exported here because the cluster's modules and their callers name it from here.
"""

from __future__ import annotations

from homeops.safe_yaml.problems import DataPath, Problem, Severity, dotted

__all__ = ["ClusterInvalid", "DataPath", "Problem", "Severity", "dotted"]


class ClusterInvalid(Exception):
    """cluster.yaml cannot be used; `problems` holds every reason at once."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
