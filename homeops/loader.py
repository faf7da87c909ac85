"""Read cluster.yaml into the model.

Placeholder for the position-aware loader: it reports problems without line numbers.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from homeops.model import Cluster
from homeops.problems import ClusterInvalid, Problem


def load_cluster(path: str | Path = "cluster.yaml") -> Cluster:
    path = Path(path)
    data = yaml.safe_load(path.read_text())
    try:
        return Cluster.model_validate(data)
    except ValidationError as exc:
        raise ClusterInvalid(
            [Problem(0, 0, ".".join(str(p) for p in e["loc"]), e["msg"], file=path.name) for e in exc.errors()]
        ) from None
