"""The cluster's configuration rendered from cluster.yaml: `templates/` -> `talos/`, `kubernetes/`, `.sops.yaml`.

`plugin` is the makejinja plugin that gives the templates the validated model; `tree` says which
files the render owns and which it leaves alone; `render` renders into a staging directory and
compares or replaces the committed files; `inventory` reads the rendered Flux objects and
load-balancer Services back (the twin and the tests use it).
"""
